"""Storage layout: one Parquet file per asset (per partition for partitioned assets) plus a DuckDB file that
exposes them as tables and views.

Why this layout: DuckDB allows one writer per file, so parallel partition runs that each wrote into DuckDB
would collide on its lock. Here every run writes its own Parquet file (atomically: temp file + rename), and the
short DuckDB update that follows is serialised across processes with an exclusive ``flock`` on a lock file.
Readers load Parquet and never open DuckDB, so they never wait on it.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


def partition_file_name(partition_key: str) -> str:
    """A file name for a partition key such as ``'Ang Mo Kio'`` (stable, readable, filesystem-safe)."""
    return re.sub(r"[^A-Za-z0-9]+", "_", partition_key).strip("_").lower() + ".parquet"


def asset_dir(base: Path, schema: str, table: str) -> Path:
    return base / "warehouse" / _ident(schema) / _ident(table)


def write_parquet_atomic(df: pd.DataFrame, path: Path, file_metadata: dict[str, str] | None = None) -> Path:
    """Write ``df`` to ``path`` through a temporary file and a rename. ``file_metadata`` goes into the file's
    key-value metadata (next to pandas' own), so it travels with the data and is replaced with it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if file_metadata:
        table = pa.Table.from_pandas(df, preserve_index=False)
        extra = {k.encode(): v.encode() for k, v in file_metadata.items()}
        pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}), **extra}), tmp)
    else:
        df.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return path


@contextmanager
def duckdb_writer(db_path: Path, timeout_s: float = 300.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """An exclusive DuckDB connection, serialised across processes by ``flock`` on ``<db>.lock``."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = db_path.with_name(db_path.name + ".lock")
    deadline = time.monotonic() + timeout_s
    with open(lock_path, "a+") as lock:
        while True:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"waited {timeout_s:.0f} s for the DuckDB write lock {lock_path}") from None
                time.sleep(0.05)
        try:
            while True:  # a reader outside the project (a notebook, the DuckDB CLI) may hold the file open
                try:
                    con = duckdb.connect(str(db_path))
                    break
                except duckdb.IOException:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            try:
                yield con
            finally:
                con.close()
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _sql_str(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def store_table(df: pd.DataFrame, base: Path, db_path: Path, schema: str, table: str) -> Path:
    """Unpartitioned asset: Parquet file, then a DuckDB table with the same rows."""
    path = write_parquet_atomic(df, asset_dir(base, schema, table).with_suffix(".parquet"))
    with duckdb_writer(db_path) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)}")
        con.execute(f"CREATE OR REPLACE TABLE {schema}.{_ident(table)} AS SELECT * FROM read_parquet({_sql_str(path)})")
    return path


def store_partition(
    df: pd.DataFrame,
    base: Path,
    db_path: Path,
    schema: str,
    table: str,
    partition_key: str,
    file_metadata: dict[str, str] | None = None,
) -> Path:
    """Partitioned asset: one Parquet file per partition (with ``file_metadata``); a DuckDB view over all."""
    folder = asset_dir(base, schema, table)
    path = write_parquet_atomic(df, folder / partition_file_name(partition_key), file_metadata)
    with duckdb_writer(db_path) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)}")
        glob = _sql_str(folder / "*.parquet")
        con.execute(
            f"CREATE OR REPLACE VIEW {schema}.{_ident(table)} AS "
            f"SELECT * FROM read_parquet({glob}, union_by_name = true)"
        )
    return path


def load_table(base: Path, schema: str, table: str) -> pd.DataFrame:
    path = asset_dir(base, schema, table).with_suffix(".parquet")
    if not path.exists():
        raise FileNotFoundError(f"{schema}.{table} has not been materialised ({path} missing)")
    return pd.read_parquet(path)


def load_partition(base: Path, schema: str, table: str, partition_key: str) -> pd.DataFrame:
    path = asset_dir(base, schema, table) / partition_file_name(partition_key)
    if not path.exists():
        raise FileNotFoundError(f"{schema}.{table} partition {partition_key!r} has not been materialised ({path})")
    return pd.read_parquet(path)


def read_partition_metadata(base: Path, schema: str, table: str, partition_key: str, key: str) -> str | None:
    """One key-value entry of a partition file's metadata (None if the file has no such entry); reads the
    footer only."""
    path = asset_dir(base, schema, table) / partition_file_name(partition_key)
    value = (pq.read_schema(path).metadata or {}).get(key.encode())
    return None if value is None else value.decode()
