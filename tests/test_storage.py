"""The warehouse layout: Parquet per partition plus DuckDB views, safe under concurrent writers."""

import multiprocessing as mp
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from persona_assets.core import storage


def _write_partition(args: tuple[str, str, int]) -> int:
    base, key, n = args
    df = pd.DataFrame({"planning_area": [key] * n, "i": range(n)})
    storage.store_partition(df, Path(base), Path(base) / "w.duckdb", "sample", "things", key)
    return n


def test_partition_file_names_are_stable_and_safe() -> None:
    assert storage.partition_file_name("Ang Mo Kio") == "ang_mo_kio.parquet"
    assert storage.partition_file_name("North-Eastern Islands") == "north_eastern_islands.parquet"


def test_unsafe_identifiers_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="identifier"):
        storage.store_table(pd.DataFrame({"a": [1]}), tmp_path, tmp_path / "x.duckdb", "census", "x; DROP TABLE y")


def test_store_table_round_trip(tmp_path: Path) -> None:
    df = pd.DataFrame({"k": ["a", "b"], "count": [1, 2]})
    storage.store_table(df, tmp_path, tmp_path / "w.duckdb", "census", "t")
    pd.testing.assert_frame_equal(storage.load_table(tmp_path, "census", "t"), df)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("select sum(count) from census.t").fetchone() == (3,)


def test_missing_partition_names_the_partition(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="Bedok"):
        storage.load_partition(tmp_path, "sample", "things", "Bedok")


def test_concurrent_partition_writers_do_not_collide(tmp_path: Path) -> None:
    keys = [f"Area {i}" for i in range(8)]
    ctx = mp.get_context("spawn")
    pool = ctx.Pool(4)
    try:
        written = pool.map(_write_partition, [(str(tmp_path), k, 100 + i) for i, k in enumerate(keys)])
    finally:  # close + join lets the workers exit on their own (Pool.terminate can hang on a worker's queue lock)
        pool.close()
        pool.join()
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        rows = dict(con.execute("select planning_area, count(*) from sample.things group by 1").fetchall())
    assert rows == {k: 100 + i for i, k in enumerate(keys)}
    assert sum(written) == sum(rows.values())
    # rewriting one partition replaces it (no duplicates)
    _write_partition((str(tmp_path), "Area 3", 5))
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from sample.things where planning_area = 'Area 3'").fetchone() == (5,)


def _roots(tmp_path: Path, kind: str):
    from upath import UPath

    return {
        "path": tmp_path / "root",
        "file-url": f"file://{tmp_path / 'root'}",
        "memory": f"memory://sg-personas-test/{tmp_path.name}",
    }[kind], UPath


@pytest.mark.parametrize("kind", ["path", "file-url", "memory"])
def test_storage_roots_are_paths_or_fsspec_urls(tmp_path: Path, kind: str) -> None:
    """The same layout under a local folder, a file:// URL (local: OS renames, DuckDB catalogue) and memory://
    (fsspec: what s3:// and gs:// roots go through)."""
    raw, UPath = _roots(tmp_path, kind)
    root = storage.as_storage_path(raw)
    assert storage.is_local(root) == (kind != "memory")
    db = tmp_path / "w.duckdb" if storage.is_local(root) else None
    df = pd.DataFrame({"planning_area": ["Bedok"] * 3, "i": [1, 2, 3]})
    path = storage.store_partition(df, root, db, "sample", "things", "Bedok", {"k": "v"})
    assert str(path).endswith("warehouse/sample/things/bedok.parquet")
    if kind == "memory":
        assert UPath(f"{raw}/warehouse/sample/things/bedok.parquet").exists()
        assert not list(UPath(f"{raw}/warehouse/sample/things").glob(".*.tmp"))  # the temporary object was moved
    else:
        assert (tmp_path / "root" / "warehouse" / "sample" / "things" / "bedok.parquet").exists()
    pd.testing.assert_frame_equal(storage.load_partition(root, "sample", "things", "Bedok"), df)
    assert storage.read_partition_metadata(root, "sample", "things", "Bedok", "k") == "v"
    storage.store_table(df, root, db, "census", "t")
    pd.testing.assert_frame_equal(storage.load_table(root, "census", "t"), df)
    assert (tmp_path / "w.duckdb").exists() == (kind != "memory")  # the catalogue only beside a local root


def test_a_file_url_names_the_same_folder_as_its_path(tmp_path: Path) -> None:
    assert storage.as_storage_path(f"file://{tmp_path}") == storage.as_storage_path(tmp_path) == tmp_path.resolve()
    assert not storage.is_local(storage.as_storage_path("s3://bucket/prefix"))  # s3fs need not be installed


@pytest.mark.slow
def test_io_managers_write_and_read_a_memory_root(tmp_path: Path) -> None:
    """The warehouse and network IO managers with the dataset's storage_url at memory://: census tables, the
    planning areas and the fitted network are written there (no local files, no DuckDB catalogue) and read back."""
    from _helpers import warehouse_resources
    from dagster import DagsterInstance, build_input_context, materialize
    from upath import UPath

    from persona_assets.census.assets import census_assets, planning_areas
    from persona_assets.io_managers import NetworkIOManager
    from persona_assets.model.assets import persona_network

    url = f"memory://sg-personas-test/{tmp_path.name}-io"
    resources = warehouse_resources(tmp_path / "data", storage_url=url)
    dataset = resources["dataset"]
    result = materialize(
        [*census_assets, planning_areas, persona_network], resources=resources, instance=DagsterInstance.ephemeral()
    )
    assert result.success
    assert UPath(f"{url}/warehouse/census/planning_areas.parquet").exists()
    version = UPath(f"{url}/models/persona_network/CURRENT").read_text().strip()
    assert UPath(f"{url}/models/persona_network/versions/{version}/cpts.npz").exists()
    assert not (tmp_path / "data").exists()  # nothing local: no Parquet, no DuckDB file
    areas = storage.load_table(storage.as_storage_path(url), "census", "planning_areas")
    assert len(areas) == 55
    loaded = NetworkIOManager(settings=dataset).load_input(build_input_context(asset_key=persona_network.key))
    assert set(loaded.areas) == set(areas["planning_area"])
