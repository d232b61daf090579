"""Shared test setup: make the repository importable and locate the raw official files (../shared/data/raw)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the project is not necessarily pip-installed into the virtualenv
    sys.path.insert(0, str(ROOT))

import census_sources  # noqa: E402

#: ``../shared/data/raw`` next to the repository root (the layout ``census_sources.build`` reads).
RAW_ROOT = Path(census_sources.__file__).resolve().parents[2] / "shared" / "data" / "raw"


@pytest.fixture(scope="session")
def raw_root() -> Path:
    """The raw official files; tests that need them are skipped where the folder is absent."""
    if not RAW_ROOT.is_dir():
        pytest.skip(f"raw official files not found at {RAW_ROOT} (expected ../shared/data/raw next to the repo)")
    return RAW_ROOT
