"""Build a folder beside its destination and swap it in whole, so that a failure writes nothing: the snapshot
builder uses it, and so does the Data Docs site (``persona_assets/core/data_docs.py``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def staged_folder(out_dir: Path) -> Iterator[Path]:
    """Yield an empty folder next to ``out_dir``; when the block ends, it replaces ``out_dir`` (with the
    permissions a plain ``mkdir`` gives). On any error it is removed and ``out_dir`` is left as it was."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    try:
        yield staging
        chmod_like_mkdir(staging)
        swap_in(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def chmod_like_mkdir(folder: Path) -> None:
    """``mkdtemp`` makes a 0700 folder; give it the permissions a plain ``mkdir`` would."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)


def swap_in(staging: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``staging``: two renames in the same folder (the gap between them is microseconds;
    a reader sees the old folder or the new one, never a mix of the two)."""
    old: Path | None = None
    if out_dir.exists() or out_dir.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        old.rmdir()
        os.replace(out_dir, old)
    try:
        os.replace(staging, out_dir)
    except BaseException:
        if old is not None:
            os.replace(old, out_dir)
        raise
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
