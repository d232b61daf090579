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


@pytest.fixture(scope="session")
def census_frames():
    """Every snapshot table, loaded strictly once per session."""
    return {name: census_sources.load_table(name) for name in census_sources.TABLES}


@pytest.fixture(scope="session")
def model_tables(census_frames):
    from persona_assets.core.model.tables import build_model_tables

    return build_model_tables(census_frames)


@pytest.fixture(scope="session")
def network(model_tables):
    from persona_assets.core.model.network import fit_network

    return fit_network(model_tables)


@pytest.fixture(scope="session")
def full_sample(network, census_frames):
    """The default 148,000-record sample over all 55 areas (pure core, no Dagster)."""
    import pandas as pd

    from persona_assets.core.census import area_adult_population, summarise_planning_areas
    from persona_assets.core.model.allocation import allocate_areas
    from persona_assets.core.model.residents import sample_residents

    respop, ura = census_frames["respop_2025"], census_frames["ura_planning_areas"]
    areas = summarise_planning_areas(respop, ura).set_index("planning_area")
    alloc = allocate_areas(areas["residents_15plus"], 148_000)
    frames = [
        sample_residents(network, a, area_adult_population(respop, ura, a), int(alloc[a]), 20251125)
        for a in network.areas
    ]
    return pd.concat(frames, ignore_index=True)
