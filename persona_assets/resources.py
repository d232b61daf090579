"""Resources: where the census snapshot is read from (the committed one by default)."""

from pathlib import Path

import pandas as pd
from dagster import ConfigurableResource

from census_sources import SNAPSHOT_DIR, TableSpec, load_table


class CensusSnapshot(ConfigurableResource):
    """The normalised snapshot folder (``census_sources/snapshot`` unless ``path`` is set, e.g. to a snapshot
    rebuilt from newer raw files with ``python -m census_sources.build --out DIR``)."""

    path: str = ""

    @property
    def folder(self) -> Path:
        return Path(self.path).resolve() if self.path else SNAPSHOT_DIR

    def load(self, spec: TableSpec) -> pd.DataFrame:
        return load_table(spec, self.folder)
