"""Persistence of the fitted network: ``<data_dir>/models/persona_network/{cpts.npz, network.json}``."""

from pathlib import Path

from dagster import ConfigurableIOManager, InputContext, OutputContext

from persona_assets.core.model.network import PersonaNetwork
from persona_assets.core.paths import data_dir


class NetworkIOManager(ConfigurableIOManager):
    data_dir: str = ""

    def _folder(self, context: InputContext | OutputContext) -> Path:
        base = Path(self.data_dir).resolve() if self.data_dir else data_dir()
        return base / "models" / context.asset_key.path[-1]

    def handle_output(self, context: OutputContext, obj: PersonaNetwork) -> None:
        folder = self._folder(context)
        tmp = folder.with_name(folder.name + ".tmp")
        obj.save(tmp)
        if folder.exists():
            for f in folder.iterdir():
                f.unlink()
            folder.rmdir()
        tmp.rename(folder)
        context.add_output_metadata({"path": str(folder)})

    def load_input(self, context: InputContext) -> PersonaNetwork:
        folder = self._folder(context)
        if not (folder / "network.json").exists():
            raise FileNotFoundError(f"persona_network has not been materialised ({folder} missing)")
        return PersonaNetwork.load(folder)
