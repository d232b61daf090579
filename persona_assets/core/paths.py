"""Where the project keeps its files. Everything is relative to the repository unless overridden by env vars."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
EXPECTATIONS_DIR = REPO_ROOT / "expectations"


def data_dir() -> Path:
    """Root for generated data (warehouse Parquet files, the DuckDB file, reports): ``$SG_PERSONAS_DATA_DIR``
    or ``data/`` in the repository."""
    return Path(os.environ.get("SG_PERSONAS_DATA_DIR", REPO_ROOT / "data")).resolve()
