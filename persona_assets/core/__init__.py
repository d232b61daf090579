"""The pure core: functions over DataFrames and specs. Nothing under this package imports Dagster
(``tests/test_layering.py`` enforces it)."""
