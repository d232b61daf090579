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


def warehouse_resources(data: Path) -> dict[str, object]:
    """The Dagster resources of an in-process run against a temporary warehouse folder."""
    from persona_assets.io_managers import WarehouseIOManager
    from persona_assets.model.io import NetworkIOManager
    from persona_assets.names.assets import NameSources
    from persona_assets.resources import CensusSnapshot

    return {
        "io_manager": WarehouseIOManager(data_dir=str(data)),
        "network_io_manager": NetworkIOManager(data_dir=str(data)),
        "census_snapshot": CensusSnapshot(),
        "name_sources": NameSources(),
    }
