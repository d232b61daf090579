"""Assertions shared by the test modules."""

from __future__ import annotations

from pathlib import Path

from census_sources.errors import SourceTableError


def assert_located(
    err: SourceTableError, file: Path | str, row: int | None, column: str | None, sheet: str | None = None
) -> None:
    """The error names exactly this file, row, column (and sheet), in its attributes and in its message."""
    assert isinstance(err, SourceTableError)
    msg = str(err)
    assert err.file == str(file)
    assert msg.startswith(str(file))
    assert err.row == row, msg
    assert err.column == column, msg
    if row is not None:
        assert f"row {row}" in msg
    if column is not None:
        assert f"column {column!r}" in msg
    if sheet is not None:
        assert err.sheet == sheet
        assert f"sheet {sheet!r}" in msg


def warehouse_resources(data: Path, **settings: object) -> dict[str, object]:
    """The Dagster resources of an in-process run against a temporary warehouse folder; ``settings`` are the other
    fields of the ``dataset`` resource (total_records, base_seed, records_per_partition)."""
    from persona_assets.io_managers import NetworkIOManager, WarehouseIOManager
    from persona_assets.names.assets import NameSources
    from persona_assets.resources import CensusSnapshot
    from persona_assets.settings import DatasetSettings

    dataset = DatasetSettings(data_dir=str(data), **settings)
    return {
        "dataset": dataset,
        "io_manager": WarehouseIOManager(settings=dataset),
        "network_io_manager": NetworkIOManager(settings=dataset),
        "census_snapshot": CensusSnapshot(),
        "name_sources": NameSources(),
    }


def _plain(v: object) -> object:
    import numpy as np
    import pandas as pd

    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple | np.ndarray):
        return [_plain(x) for x in v]
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating | float):
        return None if np.isnan(v) else float(v)
    if v is None or v is pd.NA:
        return None
    return v


def canonical_digest(df) -> str:
    """sha256 of a frame's columns, dtypes and values as canonical JSON (independent of Parquet writer versions;
    the same function computed ``tests/golden/residents_partitions.json`` on the commit before issue 14)."""
    import hashlib
    import json

    payload = {
        "columns": [str(c) for c in df.columns],
        "dtypes": [str(t) for t in df.dtypes],
        "rows": [[_plain(v) for v in row] for row in df.itertuples(index=False, name=None)],
    }
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def wait_for(condition, timeout_s: float, what: str, every_s: float = 0.5):
    """Poll ``condition`` until it returns something truthy (returned); ``TimeoutError`` naming ``what``."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every_s)
    raise TimeoutError(f"not within {timeout_s:.0f} s: {what}")


def materialize_upstream(data: Path) -> Path:
    """The census tables, the planning areas, the network and the name tokens into the warehouse at ``data`` (an
    ephemeral instance): what the planning-area assets read."""
    from dagster import DagsterInstance, materialize

    from persona_assets.census.assets import census_assets, planning_areas
    from persona_assets.model.assets import persona_network
    from persona_assets.names.assets import name_tokens

    upstream = [*census_assets, planning_areas, persona_network, name_tokens]
    assert materialize(upstream, resources=warehouse_resources(data), instance=DagsterInstance.ephemeral()).success
    return data


def copy_warehouse(source: Path, dest: Path) -> Path:
    """A new data root at ``dest`` with the warehouse and the models of ``source``."""
    import shutil

    shutil.copytree(source / "warehouse", dest / "warehouse")
    shutil.copytree(source / "models", dest / "models")
    return dest


def open_in_chromium(urls: list[str], allowed: str, profile: Path) -> list[tuple[str, int | None, list[str], str]]:
    """Open each of ``urls`` in headless Chromium (Debian's ``/usr/bin/chromium`` through Playwright; the test is
    skipped where either is missing): per URL, the HTTP status of the document, every request the page made whose
    address does not start with ``allowed`` (nor ``data:``), and the page's title."""
    import os

    import pytest

    chromium = Path(os.environ.get("SG_PERSONAS_CHROMIUM", "/usr/bin/chromium"))
    if not chromium.exists():
        pytest.skip(f"{chromium} is not installed: no browser check of the reports")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
    args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-proxy-server", "--no-first-run"]
    out = []
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(chromium), headless=True, args=args
        )
        try:
            for url in urls:
                page = ctx.new_page()
                outside: list[str] = []
                page.on("request", lambda r, seen=outside: seen.append(r.url))
                response = page.goto(url, wait_until="load", timeout=60_000)
                page.wait_for_timeout(500)
                others = [u for u in outside if not u.startswith((allowed, "data:"))]
                out.append((url, response.status if response else None, others, page.title()))
                page.close()
        finally:
            ctx.close()
    return out
