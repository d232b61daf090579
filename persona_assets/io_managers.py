"""The warehouse IO manager: Parquet per asset/partition + DuckDB tables/views (see ``core/storage.py``)."""

from pathlib import Path

import pandas as pd
from dagster import ConfigurableIOManager, InputContext, OutputContext

from persona_assets.core import storage
from persona_assets.core.paths import data_dir


class WarehouseIOManager(ConfigurableIOManager):
    """Stores DataFrames as ``<data_dir>/warehouse/<schema>/<table>[/<partition>].parquet`` and mirrors them in
    the DuckDB file ``<data_dir>/<duckdb_file>`` (schema = the asset key prefix, e.g. ``census``)."""

    data_dir: str = ""
    duckdb_file: str = "sg_personas.duckdb"

    @property
    def base(self) -> Path:
        return Path(self.data_dir).resolve() if self.data_dir else data_dir()

    @property
    def db_path(self) -> Path:
        return self.base / self.duckdb_file

    @staticmethod
    def _names(context: InputContext | OutputContext) -> tuple[str, str]:
        """(schema, table): the asset's ``schema`` metadata, else its key prefix (``census/…``), else ``main``."""
        path = context.asset_key.path
        out = context if isinstance(context, OutputContext) else context.upstream_output
        meta = (out.definition_metadata or {}) if out is not None else {}
        schema = meta.get("schema") or (path[0] if len(path) > 1 else "main")
        return str(schema), path[-1]

    def handle_output(self, context: OutputContext, obj: pd.DataFrame) -> None:
        if obj is None:
            return
        schema, table = self._names(context)
        if context.has_asset_partitions:
            for key in context.asset_partition_keys:
                part = obj if len(context.asset_partition_keys) == 1 else obj[obj["planning_area"] == key]
                path = storage.store_partition(part, self.base, self.db_path, schema, table, key)
        else:
            path = storage.store_table(obj, self.base, self.db_path, schema, table)
        context.add_output_metadata({"path": str(path), "duckdb": f"{self.db_path} :: {schema}.{table}"})

    def load_input(self, context: InputContext) -> pd.DataFrame:
        schema, table = self._names(context)
        if context.has_asset_partitions:
            frames = [storage.load_partition(self.base, schema, table, k) for k in context.asset_partition_keys]
            return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        return storage.load_table(self.base, schema, table)
