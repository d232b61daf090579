"""Persistence of the fitted network under ``<data_dir>/models/persona_network/``.

Each materialisation writes a new version folder (``versions/<n>/{cpts.npz, network.json}``) and then points
``CURRENT`` at it with an atomic rename, so a sample run loading the network while the model job rewrites it sees
either the old or the new network, never half of one. The previous version is kept; older ones are removed.
"""

import os
import shutil
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
