"""The code location: one entry point for ``dagster dev``, ``workspace.yaml`` and ``pyproject.toml``."""

from dagster import AssetSelection, Definitions, define_asset_job

from persona_assets.census.assets import area_population, census_assets, planning_areas
from persona_assets.census.checks import census_checks
from persona_assets.io_managers import WarehouseIOManager
from persona_assets.partitions import planning_area_partitions
from persona_assets.resources import CensusSnapshot

census_tables_job = define_asset_job(
    "census_tables_job",
    selection=AssetSelection.groups("census") - AssetSelection.assets(area_population),
    description="Load and gate every official table of the snapshot; summarise the planning areas.",
)

area_population_job = define_asset_job(
    "area_population_job",
    selection=AssetSelection.assets(area_population),
    partitions_def=planning_area_partitions,
    description="Official 15+ population of one planning area (one partition per URA planning area).",
)

defs = Definitions(
    assets=[*census_assets, planning_areas, area_population],
    asset_checks=census_checks,
    jobs=[census_tables_job, area_population_job],
    resources={"io_manager": WarehouseIOManager(), "census_snapshot": CensusSnapshot()},
)
