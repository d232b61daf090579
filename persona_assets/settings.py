"""The dataset settings, bound once in ``definitions.py`` and used by every IO manager, asset and the publication:
where the data lives, how many records, which base seed, how many residents per partition get narratives.

``definitions.py`` binds ``DatasetSettings.configure_at_launch()``: every run takes the values from its run config
(``resources: {dataset: {config: {...}}}``; the Launchpad shows and validates the fields), else the defaults. The IO
managers receive the same resource, so a run's data root is the one its assets see. The data root defaults to
``$SG_PERSONAS_DATA_DIR``, else ``data/`` in the repository (``core/paths.default_data_root``, the one place that
reads the variable).
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
    parse_budget,
)
from persona_assets.core.paths import default_data_root


class DatasetSettings(ConfigurableResource):
    """The settings of one dataset. Use the same values for every partition of a release: each partition records
    the values it was made with, and publication refuses a mix."""

    data_dir: str = Field(
        default="",
        description="Root of the generated data (warehouse Parquet files, the DuckDB file, the network, reports, "
        "the LLM call cache, releases). Empty: $SG_PERSONAS_DATA_DIR, else data/ in the repository.",
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
        description="Residents per partition that get narratives: a count (a seeded random sample of the "
        "partition) or 'all'.",
    )

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve() if self.data_dir else default_data_root()

    @property
    def narrative_budget(self) -> int | None:
        """``records_per_partition`` as a count (None: all)."""
        return parse_budget(self.records_per_partition)

    def residents_settings(self) -> dict[str, Any]:
        """What a residents partition depends on (and records)."""
        return {k: getattr(self, k) for k in RESIDENTS_SETTINGS}

    def narratives_settings(self) -> dict[str, Any]:
        """What a narratives partition depends on (and records)."""
        return {k: getattr(self, k) for k in NARRATIVES_SETTINGS}
