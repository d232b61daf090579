"""Rebuild the normalised snapshot from the raw official files.

    python -m census_sources.build --raw ../shared/data/raw [--out census_sources/snapshot] [--only NAME ...]

Every table is parsed by its publisher-specific parser, validated (schema, exact key values, figures, the rows it
must hold, reconciliation of parts with published totals), its planning areas and subzones checked against the
URA MP2019 lists (parsed on every build, ``--only`` too) and written in URA's spelling, as tidy CSV with a
manifest entry (provenance, raw-file and snapshot checksums, row count, value total). Errors name the raw file,
its line and its column. A build that fails writes nothing (see ``build``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from census_sources.errors import WHERE, SourceLocation, SourceTableError
from census_sources.geography import Reference, canonical_names
from census_sources.registry import TABLES
from census_sources.snapshot import (
    MANIFEST,
    SNAPSHOT_DIR,
    SNAPSHOT_FORMAT,
    URA_PLANNING_AREAS,
    URA_SUBZONES,
    sha256_file,
    write_table,
)
from census_sources.spec import TableSpec
from census_sources.staging import staged_folder

DEFAULT_RAW = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "raw"
#: Parsed whatever ``--only`` asks for: every other table's planning areas and subzones are checked against them.
REFERENCE_TABLES = (URA_PLANNING_AREAS, URA_SUBZONES)


def parse_all(raw: Path, names: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Parse the tables ``names`` (all when None) and, always, the URA reference lists."""
    unknown = sorted(set(names or ()) - set(TABLES))
    if unknown:
        raise SourceTableError(raw, f"unknown table(s) {', '.join(unknown)} (known: {', '.join(TABLES)})")
    frames = {}
    for name, spec in TABLES.items():
        if names and name not in names and name not in REFERENCE_TABLES:
            continue
        for rel in spec.raw_files:
            if not (raw / rel).exists():
                raise SourceTableError(raw / rel, f"raw file for table {name!r} not found")
        frames[name] = check_located(spec.parse(raw).reset_index(drop=True), spec)
    return frames


def check_located(df: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """A parser must say where each row came from (``TableSpec.located``): a programming error otherwise."""
    if spec.located and (WHERE not in df.columns or not df[WHERE].map(lambda w: isinstance(w, SourceLocation)).all()):
        raise TypeError(
            f"the parser of {spec.name!r} returns rows without their raw location (column {WHERE!r}, see "
            "census_sources.errors.located and docs/reliability.md), or declare located=False in its TableSpec"
        )
    return df


def reference_of(frames: dict[str, pd.DataFrame]) -> Reference:
    return Reference.from_frames(frames[URA_PLANNING_AREAS], frames[URA_SUBZONES])


def build(raw: Path, out: Path, names: list[str] | None = None) -> dict[str, Any]:
    """Rebuild ``names`` (all tables when None) into ``out``. All or nothing: the tables and the manifest are
    written to a temporary folder beside ``out`` (a copy of it when only some tables are rebuilt), which then
    replaces ``out``; any failure leaves ``out`` as it was. Geography names are written in URA's spelling."""
    frames = parse_all(raw, names)
    reference = reference_of(frames)
    out = Path(out)
    with staged_folder(out) as work:
        manifest: dict[str, Any] = {"format": SNAPSHOT_FORMAT, "tables": {}}
        if names and out.exists():
            shutil.copytree(out, work, dirs_exist_ok=True)
            if (work / MANIFEST).exists():
                manifest = json.loads((work / MANIFEST).read_text(encoding="utf-8"))
        for name, df in frames.items():
            if names and name not in names:
                continue  # a reference list parsed only to check the others
            spec = TABLES[name]
            entry = write_table(canonical_names(df, spec, reference), spec, work, reference)
            entry["source_files"] = [{"path": rel, "sha256": sha256_file(raw / rel)} for rel in spec.raw_files]
            manifest["tables"][name] = entry
        manifest["tables"] = dict(sorted(manifest["tables"].items()))
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", type=Path, default=DEFAULT_RAW, help="raw data root (../shared/data/raw layout)")
    ap.add_argument("--out", type=Path, default=SNAPSHOT_DIR, help="snapshot folder to write")
    ap.add_argument("--only", nargs="*", help="rebuild only these tables")
    args = ap.parse_args(argv)
    try:
        manifest = build(args.raw, args.out, args.only)
    except SourceTableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, entry in manifest["tables"].items():
        print(
            f"{name:40s} {entry['rows']:7d} rows  total {entry['value_total']:>14}  "
            f"reconciled {entry['reconciled_totals']:5d}  sha256 {entry['sha256'][:12]}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
