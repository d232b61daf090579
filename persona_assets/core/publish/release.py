"""The release writer: one folder per publication in the Hugging Face layout
(``<release>/<config>/train-00000-of-0000N.parquet`` + ``<release>/README.md``), published atomically: written into
a temporary folder, fsynced, renamed into ``releases/<version>/``, then the symlink ``published`` is swapped to it
with ``os.replace``. The newest ``keep`` releases are kept."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from persona_assets.core.publish.arrow import convert_to_arrow
from persona_assets.core.reports import render_markdown_page

RELEASES = "releases"
PUBLISHED = "published"
LOCK_FILE = ".publish.lock"
_RELEASE_RE = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-z]+$")
_CONFIG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
ROW_GROUP_ROWS = 10_000
COMPRESSION = "zstd"


@dataclass(frozen=True)
class ShardInfo:
    config: str
    path: str  # relative to the release folder, e.g. "personas/train-00000-of-00001.parquet"
    rows: int
    sha256: str
    bytes: int


@dataclass(frozen=True)
class ReleaseInfo:
    version: str
    path: Path  # root/releases/<version>
    published: Path  # root/published (symlink to releases/<version>)
    content_hash: str  # sha256 over the release's files (paths + their sha256)
    files: tuple[ShardInfo, ...]
    card_sha256: str
    pruned: tuple[str, ...] = ()

    @property
    def rows(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.files:
            out[f.config] = out.get(f.config, 0) + f.rows
        return out

    def to_metadata(self) -> dict[str, Any]:
        """A JSON-able summary (for asset metadata and ``release.json``)."""
        return {
            "version": self.version,
            "path": str(self.path),
            "published": str(self.published),
            "content_hash": self.content_hash,
            "rows": self.rows,
            "files": [f.__dict__ for f in self.files],
            "card_sha256": self.card_sha256,
            "pruned": list(self.pruned),
        }


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _stamp(t: datetime) -> str:
    return f"{t:%Y%m%dT%H%M%S}.{t.microsecond:06d}Z"


def _next_stamp(root: Path) -> str:
    """Now, or just after the newest existing release if the clock is behind it (names must sort by age)."""
    now = _utcnow()
    existing = list_releases(root)
    if existing:
        last = datetime.strptime(existing[-1][:23], "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
        if now <= last:
            now = last + timedelta(microseconds=1)
    return _stamp(now)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Write one shard and fsync it (module-level so tests can inject a failure)."""
    with open(path, "wb") as fh:
        pq.write_table(table, fh, compression=COMPRESSION, row_group_size=ROW_GROUP_ROWS)
        fh.flush()
        os.fsync(fh.fileno())


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


@contextlib.contextmanager
def _publish_lock(root: Path) -> Iterator[None]:
    """One publisher at a time per root (an exclusive ``flock``; released when the process dies)."""
    with open(root / LOCK_FILE, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def find_live_release(root: Path) -> str | None:
    """Name of the release ``root/published`` points to (None if there is no symlink)."""
    link = Path(root) / PUBLISHED
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


def list_releases(root: Path) -> list[str]:
    """Release folder names under ``root/releases``, oldest first (names start with a sortable UTC stamp)."""
    rel = Path(root) / RELEASES
    if not rel.is_dir():
        return []
    return sorted(p.name for p in rel.iterdir() if p.is_dir() and not p.is_symlink() and _RELEASE_RE.match(p.name))


def _write_config(table: pa.Table, folder: Path, config: str, rows_per_shard: int) -> list[ShardInfo]:
    folder.mkdir()
    n = max(1, math.ceil(table.num_rows / rows_per_shard))
    shards = []
    for i in range(n):
        part = table.slice(i * rows_per_shard, rows_per_shard)
        name = f"train-{i:05d}-of-{n:05d}.parquet"
        path = folder / name
        _write_parquet(part, path)
        shards.append(ShardInfo(config, f"{config}/{name}", part.num_rows, _sha256(path), path.stat().st_size))
    _fsync_dir(folder)
    return shards


def _prune(root: Path, keep: int, live: str) -> tuple[str, ...]:
    releases = list_releases(root)
    newest = set(releases[-keep:])
    doomed = [r for r in releases if r not in newest and r != live]
    for name in doomed:
        shutil.rmtree(root / RELEASES / name, ignore_errors=True)
    if doomed:
        _fsync_dir(root / RELEASES)
    return tuple(doomed)


def _clean_stale_temps(root: Path) -> None:
    """Temporary folders and links left by a publisher that died (we hold the lock, so none is in use)."""
    for p in (root / RELEASES).iterdir():
        if ".tmp-" in p.name and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
    for p in root.glob(f".{PUBLISHED}.tmp-*"):
        if p.is_symlink() or p.is_file():
            p.unlink(missing_ok=True)


def _check_arguments(configs: Mapping[str, pd.DataFrame], root: Path, rows_per_shard: int, keep: int) -> None:
    if not configs:
        raise ValueError("write_release needs at least one config")
    for name in configs:
        if not _CONFIG_RE.match(name):
            raise ValueError(f"config name {name!r} is not a safe folder name")
    if rows_per_shard < 1:
        raise ValueError(f"rows_per_shard must be >= 1, got {rows_per_shard}")
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    link = root / PUBLISHED
    if os.path.lexists(link) and not link.is_symlink():
        raise ValueError(f"{link} exists and is not a symlink to a release; refusing to replace it")


def write_release(
    configs: Mapping[str, pd.DataFrame],
    card_markdown: str,
    root: Path,
    rows_per_shard: int = 50_000,
    keep: int = 3,
) -> ReleaseInfo:
    """Publish ``configs`` (config name -> frame) and the card as a new release under ``root``, atomically.

    Layout: ``root/releases/<version>/<config>/train-0000i-of-0000N.parquet``, ``<version>/README.md`` (the card;
    ``README.html``, the same rendered for the report server, is derived from it and not in the content hash)
    and ``<version>/release.json`` (files, rows, sha256); ``root/published`` is a relative symlink to
    ``releases/<version>``. ``<version>`` is ``<UTC stamp>-<first 8 hex of the content hash>``.

    Steps: write and fsync everything in ``releases/<stamp>.tmp-<pid>/`` (the content hash, hence the version,
    is known only once the files are written), rename it to ``releases/<version>/``, create a symlink at a
    temporary name and ``os.replace`` it onto ``published`` (atomic: a reader sees the old release or the new
    one, never a mix). Any failure before the swap removes what this call wrote and leaves the live release
    untouched. After the swap, releases beyond the newest ``keep`` are deleted (never the live one).
    Publishers on the same root are serialised by a lock file (``root/.publish.lock``).
    """
    root = Path(root)
    _check_arguments(configs, root, rows_per_shard, keep)
    link = root / PUBLISHED
    tables = {name: convert_to_arrow(df) for name, df in configs.items()}  # type errors surface before any write

    root.mkdir(parents=True, exist_ok=True)
    (root / RELEASES).mkdir(exist_ok=True)
    with _publish_lock(root):
        _clean_stale_temps(root)
        stamp = _next_stamp(root)
        tmp = root / RELEASES / f"{stamp}.tmp-{os.getpid()}"
        tmp_link = root / f".{PUBLISHED}.tmp-{os.getpid()}"
        final: Path | None = None
        swapped = False
        try:
            tmp.mkdir()
            shards: list[ShardInfo] = []
            for name, table in tables.items():
                shards += _write_config(table, tmp / name, name, rows_per_shard)
            _write_text(tmp / "README.md", card_markdown)
            _write_text(tmp / "README.html", render_markdown_page(card_markdown, "sg-personas dataset card"))
            card_sha = _sha256(tmp / "README.md")
            listing = sorted([(s.path, s.sha256) for s in shards] + [("README.md", card_sha)])
            content_hash = hashlib.sha256("".join(f"{p}\0{h}\n" for p, h in listing).encode()).hexdigest()
            version = f"{stamp}-{content_hash[:8]}"
            _write_text(
                tmp / "release.json",
                json.dumps(
                    {
                        "version": version,
                        "content_hash": content_hash,
                        "files": [s.__dict__ for s in shards],
                        "card_sha256": card_sha,
                    },
                    indent=1,
                ),
            )
            _fsync_dir(tmp)
            final = root / RELEASES / version
            if final.exists():
                raise FileExistsError(f"release {final} already exists")
            os.rename(tmp, final)
            _fsync_dir(root / RELEASES)
            tmp_link.unlink(missing_ok=True)
            os.symlink(f"{RELEASES}/{version}", tmp_link)
            os.replace(tmp_link, link)
            swapped = True
            _fsync_dir(root)
        except BaseException:
            if not swapped:
                shutil.rmtree(tmp, ignore_errors=True)
                if final is not None and final.exists() and find_live_release(root) != final.name:
                    shutil.rmtree(final, ignore_errors=True)
                with contextlib.suppress(OSError):
                    tmp_link.unlink(missing_ok=True)
            raise
        try:
            pruned = _prune(root, keep, live=version)
        except OSError:  # the release is live; an old one that could not be deleted is retried next time
            pruned = ()
    return ReleaseInfo(
        version=version,
        path=final,
        published=link,
        content_hash=content_hash,
        files=tuple(shards),
        card_sha256=card_sha,
        pruned=pruned,
    )
