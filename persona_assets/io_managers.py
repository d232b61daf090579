"""The IO managers: the warehouse (Parquet per asset/partition + DuckDB tables/views, see ``core/storage.py``) and
the fitted network's folder. Both take their root from the ``dataset`` resource (``persona_assets/settings.py``)."""

import os
import shutil
from pathlib import Path

import pandas as pd
from dagster import ConfigurableIOManager, InputContext, OutputContext, ResourceDependency

from persona_assets.core import storage
from persona_assets.core.dataset_settings import SETTINGS_KEY, decode_settings, encode_settings
from persona_assets.core.model.network import PersonaNetwork
from persona_assets.settings import DatasetSettings

#: Output metadata key under which a partitioned asset reports the settings it was made with; the warehouse stores
#: them in the partition file, and loads them back into ``DataFrame.attrs[SETTINGS_ATTR]`` (partition -> settings).
SETTINGS_METADATA = "dataset_settings"
SETTINGS_ATTR = "dataset_settings"


class WarehouseIOManager(ConfigurableIOManager):
    """Stores DataFrames as ``<root>/warehouse/<schema>/<table>[/<partition>].parquet`` and mirrors them in the
    DuckDB file ``<root>/<duckdb_file>`` (schema = the asset's ``schema`` metadata, else its key prefix)."""

    settings: ResourceDependency[DatasetSettings]
    duckdb_file: str = "sg_personas.duckdb"

    @property
    def base(self) -> Path:
        return self.settings.root

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
            settings = context.output_metadata.get(SETTINGS_METADATA)
            file_metadata = {SETTINGS_KEY: encode_settings(settings.value)} if settings is not None else None
            for key in context.asset_partition_keys:
                part = obj if len(context.asset_partition_keys) == 1 else obj[obj["planning_area"] == key]
                path = storage.store_partition(part, self.base, self.db_path, schema, table, key, file_metadata)
        else:
            path = storage.store_table(obj, self.base, self.db_path, schema, table)
        context.add_output_metadata({"path": str(path), "duckdb": f"{self.db_path} :: {schema}.{table}"})

    def load_input(self, context: InputContext) -> pd.DataFrame:
        schema, table = self._names(context)
        if not context.has_asset_partitions:
            return storage.load_table(self.base, schema, table)
        keys = context.asset_partition_keys
        frames = [storage.load_partition(self.base, schema, table, k) for k in keys]
        out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        out.attrs[SETTINGS_ATTR] = {
            k: decode_settings(storage.read_partition_metadata(self.base, schema, table, k, SETTINGS_KEY)) for k in keys
        }
        return out


class NetworkIOManager(ConfigurableIOManager):
    """The fitted network under ``<root>/models/persona_network/``.

    Each materialisation writes a new version folder (``versions/<n>/{cpts.npz, network.json}``) and then points
    ``CURRENT`` at it with an atomic rename, so a sample run loading the network while the model job rewrites it
    sees either the old or the new network, never half of one. The previous version is kept; older ones are
    removed.
    """

    settings: ResourceDependency[DatasetSettings]

    def _folder(self, context: InputContext | OutputContext) -> Path:
        return self.settings.root / "models" / context.asset_key.path[-1]

    def handle_output(self, context: OutputContext, obj: PersonaNetwork) -> None:
        folder = self._folder(context)
        versions = folder / "versions"
        versions.mkdir(parents=True, exist_ok=True)
        existing = sorted((int(p.name) for p in versions.iterdir() if p.name.isdigit()), reverse=True)
        target = versions / str((existing[0] + 1) if existing else 1)
        obj.save(target)
        pointer = folder / f".CURRENT.{os.getpid()}.tmp"
        pointer.write_text(target.name, encoding="utf-8")
        os.replace(pointer, folder / "CURRENT")
        for old in existing[1:]:
            shutil.rmtree(versions / str(old), ignore_errors=True)
        context.add_output_metadata({"path": str(target)})

    def load_input(self, context: InputContext) -> PersonaNetwork:
        folder = self._folder(context)
        pointer = folder / "CURRENT"
        if not pointer.exists():
            raise FileNotFoundError(f"persona_network has not been materialised ({pointer} missing)")
        return PersonaNetwork.load_current(folder)
