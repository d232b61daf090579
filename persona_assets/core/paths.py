"""Where the project keeps its files: relative to the repository, except the data root, which
``$SG_PERSONAS_DATA_DIR`` may move."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
DATA_DIR_ENV = "SG_PERSONAS_DATA_DIR"


def default_data_root() -> Path:
    """The default root for generated data: ``$SG_PERSONAS_DATA_DIR`` or ``data/`` in the repository. The one
    place that reads the variable: the pipeline gets its root from the ``dataset`` resource
    (``persona_assets/settings.py``), whose default this is."""
    return Path(os.environ.get(DATA_DIR_ENV) or REPO_ROOT / "data").resolve()
