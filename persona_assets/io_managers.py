"""The IO managers: the warehouse (Parquet per asset/partition + DuckDB tables/views, see ``core/storage.py``) and
the fitted network's folder. Both take their root from the ``dataset`` resource (``persona_assets/settings.py``):
``dataset.storage``, a local folder or any fsspec URL (``s3://``, ``gs://``, ``file://``, ``memory://``), so the
partition outputs of a distributed run can live in object storage without code changes.

A run may materialise several partitions of an asset at once (a backfill policy groups them into one run): the
asset returns one frame with a ``planning_area`` column, the warehouse writes one file per partition, and loading
several partitions returns them concatenated in partition order."""

import tempfile
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
    """Stores DataFrames as ``<storage>/warehouse/<schema>/<table>[/<partition>].parquet`` and, for a local
    storage root, mirrors them in the DuckDB file ``<data root>/<duckdb_file>`` (schema = the asset's ``schema``
    metadata, else its key prefix)."""

    settings: ResourceDependency[DatasetSettings]
    duckdb_file: str = "sg_personas.duckdb"

    @property
    def base(self) -> storage.StoragePath:
        return self.settings.storage

    @property
    def db_path(self) -> Path | None:
        """The DuckDB catalogue (None when the storage root is not local)."""
        return self.settings.root / self.duckdb_file if storage.is_local(self.base) else None

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
        if self.db_path is not None:
            context.add_output_metadata({"duckdb": f"{self.db_path} :: {schema}.{table}"})
        if not context.has_asset_partitions:
            path = storage.store_table(obj, self.base, self.db_path, schema, table)
            context.add_output_metadata({"path": str(path)})
            return
        settings = context.output_metadata.get(SETTINGS_METADATA)
        file_metadata = {SETTINGS_KEY: encode_settings(settings.value)} if settings is not None else None
        keys = context.asset_partition_keys
        for key in keys:
            part = obj if len(keys) == 1 else obj[obj["planning_area"] == key]
            path = storage.store_partition(part, self.base, self.db_path, schema, table, key, file_metadata)
            if len(keys) == 1:
                context.add_output_metadata({"path": str(path)})
            else:  # each partition's materialisation names its own file
                context.step_context.add_asset_metadata({"path": str(path)}, context.asset_key, key)

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
    removed. Under a storage root that is not local, the version is written to a local temporary folder and
    copied up before ``CURRENT`` moves; loading copies the current version down.
    """

    settings: ResourceDependency[DatasetSettings]

    def _folder(self, context: InputContext | OutputContext) -> storage.StoragePath:
        return self.settings.storage / "models" / context.asset_key.path[-1]

    def handle_output(self, context: OutputContext, obj: PersonaNetwork) -> None:
        folder = self._folder(context)
        versions = folder / "versions"
        versions.mkdir(parents=True, exist_ok=True)
        existing = sorted((int(p.name) for p in versions.iterdir() if p.name.isdigit()), reverse=True)
        target = versions / str((existing[0] + 1) if existing else 1)
        if storage.is_local(target):
            obj.save(target)
        else:
            with tempfile.TemporaryDirectory(prefix="sg_personas_network_") as tmp:
                obj.save(Path(tmp))
                storage.upload_tree(Path(tmp), target)
        storage.write_text_atomic(folder / "CURRENT", target.name)
        for old in existing[1:]:
            storage.remove_tree(versions / str(old))
        context.add_output_metadata({"path": str(target)})

    def load_input(self, context: InputContext) -> PersonaNetwork:
        folder = self._folder(context)
        pointer = folder / "CURRENT"
        if not pointer.exists():
            raise FileNotFoundError(f"persona_network has not been materialised ({pointer} missing)")
        if storage.is_local(folder):
            return PersonaNetwork.load_current(folder)
        version = folder / "versions" / pointer.read_text(encoding="utf-8").strip()
        with tempfile.TemporaryDirectory(prefix="sg_personas_network_") as tmp:
            return PersonaNetwork.load(storage.download_tree(version, Path(tmp)))
