"""The dataset settings, bound once in ``definitions.py`` and used by every IO manager, asset and the publication:
where the data lives, how many records, which base seed, how many residents per partition get narratives.

``definitions.py`` binds ``DatasetSettings.configure_at_launch()``: every run takes the values from its run config
(``resources: {dataset: {config: {...}}}``; the Launchpad shows and validates the fields), else the defaults. The IO
managers receive the same resource, so a run's data root is the one its assets see. The data root defaults to
``$SG_PERSONAS_DATA_DIR``, else ``data/`` in the repository (``core/paths.default_data_root``, the one place that
reads the variable).

The partition outputs and the fitted network live under ``storage``: the data root, unless ``storage_url`` (default
``$SG_PERSONAS_STORAGE_URL``) names another root, a path or an fsspec URL (``s3://bucket/prefix``, ``gs://…``,
``file:///mnt/shared/…``) that every worker of a distributed run shares (``docs/operations.md``).
"""

from pathlib import Path
from typing import Any

from dagster import ConfigurableResource
from pydantic import Field

from persona_assets.core.dataset_settings import (
    DEFAULT_BASE_SEED,
    DEFAULT_RECORDS_PER_PARTITION,
    DEFAULT_TOTAL_RECORDS,
    NARRATIVES_SETTINGS,
    RESIDENTS_SETTINGS,
    NarrativeBudget,
    parse_budget,
)
from persona_assets.core.paths import default_data_root, default_storage_url
from persona_assets.core.storage import StoragePath, as_storage_path


class DatasetSettings(ConfigurableResource):
    """The settings of one dataset. Use the same values for every partition of a release: each partition records
    the values it was made with, and publication refuses a mix."""

    data_dir: str = Field(
        default="",
        description="Root of the generated data (warehouse Parquet files, the DuckDB file, the network, reports, "
        "the LLM call cache, releases). Empty: $SG_PERSONAS_DATA_DIR, else data/ in the repository.",
    )
    storage_url: str = Field(
        default="",
        description="Where the warehouse (Parquet per asset and partition) and the fitted network are stored: a "
        "path or an fsspec URL (s3://bucket/prefix, gs://bucket/prefix, file:///mnt/shared) shared by every worker "
        "of a distributed run. Empty: $SG_PERSONAS_STORAGE_URL, else the data root. The DuckDB catalogue is kept "
        "only for a local one.",
    )
    total_records: int = Field(
        default=DEFAULT_TOTAL_RECORDS,
        ge=1,
        description="Records across all 55 planning areas, allocated in proportion to the official 15+ population.",
    )
    base_seed: int = Field(
        default=DEFAULT_BASE_SEED,
        ge=0,
        description="Base seed; seeds derive from (base seed, planning area, stage), so one area re-run alone "
        "reproduces its records exactly.",
    )
    records_per_partition: str = Field(
        default=DEFAULT_RECORDS_PER_PARTITION,
        description="Residents that get narratives: a count per partition (a seeded random sample of the "
        "partition), 'all', or 'N in all' (N residents over the dataset, spread over the areas in proportion to "
        "their population 15+: the most populous first).",
    )

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve() if self.data_dir else default_data_root()

    @property
    def storage(self) -> StoragePath:
        """The storage root: a local ``Path`` or a ``UPath`` (``core/storage.as_storage_path``)."""
        url = self.storage_url or default_storage_url()
        return as_storage_path(url) if url else self.root

    @property
    def narrative_budget(self) -> NarrativeBudget:
        """``records_per_partition`` parsed (a count per partition, all, or a number in all spread over areas)."""
        return parse_budget(self.records_per_partition)

    def residents_settings(self) -> dict[str, Any]:
        """What a residents partition depends on (and records)."""
        return {k: getattr(self, k) for k in RESIDENTS_SETTINGS}

    def narratives_settings(self) -> dict[str, Any]:
        """What a narratives partition depends on (and records)."""
        return {k: getattr(self, k) for k in NARRATIVES_SETTINGS}
