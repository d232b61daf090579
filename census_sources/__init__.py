"""Official source tables for sg-personas: parsers for the publishers' raw files, a normalised snapshot
(``census_sources/snapshot/``) with a provenance manifest, and the strict loader the pipeline reads it with.

Pure Python over pandas: nothing here imports Dagster.
"""

from census_sources.errors import SourceTableError
from census_sources.registry import TABLES, TableSpec, get_spec
from census_sources.snapshot import SNAPSHOT_DIR, load_manifest, load_table

__all__ = [
    "SNAPSHOT_DIR",
    "TABLES",
    "SourceTableError",
    "TableSpec",
    "get_spec",
    "load_manifest",
    "load_table",
]
