"""Storage layout: one Parquet file per asset (per partition for partitioned assets) plus a DuckDB file that
exposes them as tables and views.

Why this layout: DuckDB allows one writer per file, so parallel partition runs that each wrote into DuckDB
would collide on its lock. Here every run writes its own Parquet file (atomically: temp file + rename), and the
short DuckDB update that follows is serialised across processes with an exclusive ``flock`` on a lock file.
Readers load Parquet and never open DuckDB, so they never wait on it.

The storage root is a local folder or any fsspec URL (``universal_pathlib``: ``s3://bucket/prefix``,
``gs://…``, ``file:///mnt/shared``, ``memory://…``), so partition outputs can live in object storage that every
worker of a distributed run shares. A local root (a path or ``file://``) is written through the OS (temp file +
``os.replace``); any other root through fsspec (a temporary object moved into place: on object stores the final
object appears whole or not at all). The DuckDB catalogue is kept only beside a local root (``db_path=None``
skips it); DuckDB reads object storage itself (``read_parquet('s3://…/*.parquet')`` with its httpfs extension).
"""

from __future__ import annotations

import fcntl
import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

#: A storage root or a path under one: a local ``Path`` or a ``UPath`` (any fsspec protocol).
StoragePath = Path | UPath

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


def partition_file_name(partition_key: str) -> str:
    """A file name for a partition key such as ``'Ang Mo Kio'`` (stable, readable, filesystem-safe)."""
    return re.sub(r"[^A-Za-z0-9]+", "_", partition_key).strip("_").lower() + ".parquet"


def as_storage_path(root: str | os.PathLike[str]) -> StoragePath:
    """A storage root from a path or an fsspec URL: a plain ``Path`` (resolved) for a local one (a path or
    ``file://``), else a ``UPath``."""
    if isinstance(root, UPath) and not isinstance(root, Path):
        return Path(root.path).resolve() if root.protocol in ("file", "local") else root
    text = os.fspath(root)
    if "://" not in text:
        return Path(text).resolve()
    return as_storage_path(UPath(text))


def is_local(path: StoragePath) -> bool:
    """Whether ``path`` is on the local filesystem (OS renames, DuckDB catalogue)."""
    return isinstance(path, Path)


def asset_dir(base: StoragePath, schema: str, table: str) -> StoragePath:
    return base / "warehouse" / _ident(schema) / _ident(table)


def _write_table(df: pd.DataFrame, target: StoragePath, file_metadata: dict[str, str] | None) -> None:
    if file_metadata:
        table = pa.Table.from_pandas(df, preserve_index=False)
        extra = {k.encode(): v.encode() for k, v in file_metadata.items()}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
        if is_local(target):
            pq.write_table(table, target)
        else:
            with target.open("wb") as fh:
                pq.write_table(table, fh)
    elif is_local(target):
        df.to_parquet(target, index=False)
    else:
        with target.open("wb") as fh:
            df.to_parquet(fh, index=False)


def write_parquet_atomic(
    df: pd.DataFrame, path: StoragePath, file_metadata: dict[str, str] | None = None
) -> StoragePath:
    """Write ``df`` to ``path`` through a temporary file and a rename (a move for fsspec roots). ``file_metadata``
    goes into the file's key-value metadata (next to pandas' own), so it travels with the data and is replaced
    with it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    _write_table(df, tmp, file_metadata)
    if is_local(path):
        os.replace(tmp, path)
    else:
        path.fs.mv(tmp.path, path.path)
    return path


def read_parquet(path: StoragePath) -> pd.DataFrame:
    if is_local(path):
        return pd.read_parquet(path)
    with path.open("rb") as fh:
        return pd.read_parquet(fh)


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


def store_table(df: pd.DataFrame, base: StoragePath, db_path: Path | None, schema: str, table: str) -> StoragePath:
    """Unpartitioned asset: Parquet file, then (``db_path`` given) a DuckDB table with the same rows."""
    path = write_parquet_atomic(df, asset_dir(base, schema, table).with_suffix(".parquet"))
    if db_path is None or not is_local(path):
        return path
    with duckdb_writer(db_path) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)}")
        con.execute(f"CREATE OR REPLACE TABLE {schema}.{_ident(table)} AS SELECT * FROM read_parquet({_sql_str(path)})")
    return path


def store_partition(
    df: pd.DataFrame,
    base: StoragePath,
    db_path: Path | None,
    schema: str,
    table: str,
    partition_key: str,
    file_metadata: dict[str, str] | None = None,
) -> StoragePath:
    """Partitioned asset: one Parquet file per partition (with ``file_metadata``); (``db_path`` given) a DuckDB
    view over all."""
    folder = asset_dir(base, schema, table)
    path = write_parquet_atomic(df, folder / partition_file_name(partition_key), file_metadata)
    if db_path is None or not is_local(path):
        return path
    with duckdb_writer(db_path) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)}")
        glob = _sql_str(folder / "*.parquet")
        con.execute(
            f"CREATE OR REPLACE VIEW {schema}.{_ident(table)} AS "
            f"SELECT * FROM read_parquet({glob}, union_by_name = true)"
        )
    return path


def load_table(base: StoragePath, schema: str, table: str) -> pd.DataFrame:
    path = asset_dir(base, schema, table).with_suffix(".parquet")
    if not path.exists():
        raise FileNotFoundError(f"{schema}.{table} has not been materialised ({path} missing)")
    return read_parquet(path)


def load_partition(base: StoragePath, schema: str, table: str, partition_key: str) -> pd.DataFrame:
    path = asset_dir(base, schema, table) / partition_file_name(partition_key)
    if not path.exists():
        raise FileNotFoundError(f"{schema}.{table} partition {partition_key!r} has not been materialised ({path})")
    return read_parquet(path)


def read_partition_metadata(base: StoragePath, schema: str, table: str, partition_key: str, key: str) -> str | None:
    """One key-value entry of a partition file's metadata (None if the file has no such entry); reads the
    footer only."""
    path = asset_dir(base, schema, table) / partition_file_name(partition_key)
    if is_local(path):
        schema_ = pq.read_schema(path)
    else:
        with path.open("rb") as fh:
            schema_ = pq.read_schema(fh)
    value = (schema_.metadata or {}).get(key.encode())
    return None if value is None else value.decode()


def upload_tree(local: Path, target: StoragePath) -> None:
    """Copy the files under the local folder ``local`` to ``target`` (a folder under a storage root)."""
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        dest = target.joinpath(*path.relative_to(local).parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(path.read_bytes())


def download_tree(source: StoragePath, local: Path) -> Path:
    """Copy the files under ``source`` (a folder under a storage root) into the local folder ``local``."""
    for path in source.rglob("*"):
        if path.is_file():
            dest = local.joinpath(*path.relative_to(source).parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(path.read_bytes())
    return local


def write_text_atomic(path: StoragePath, text: str) -> None:
    """Replace the small text file ``path`` in one step (a pointer such as ``CURRENT``)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text, encoding="utf-8")
    if is_local(path):
        os.replace(tmp, path)
    else:
        path.fs.mv(tmp.path, path.path)


def remove_tree(path: StoragePath) -> None:
    if is_local(path):
        import shutil

        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.fs.rm(path.path, recursive=True)
