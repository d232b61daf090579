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
