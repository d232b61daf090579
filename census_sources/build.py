"""Rebuild the normalised snapshot from the raw official files.

    python -m census_sources.build --raw ../shared/data/raw [--out census_sources/snapshot] [--only NAME ...]

Every table is parsed by its publisher-specific parser, validated (schema, keys, figures, reconciliation of
parts with published totals), cross-checked against the URA MP2019 planning-area list, and written as tidy
CSV with a manifest entry (provenance, raw-file and snapshot checksums, row count, value total).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from census_sources.errors import SourceTableError
from census_sources.parsers.common import TOTAL
from census_sources.registry import TABLES
from census_sources.snapshot import MANIFEST, SNAPSHOT_DIR, SNAPSHOT_FORMAT, sha256_file, write_table

DEFAULT_RAW = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "raw"
POOLED = "Others"  # publisher's pooled planning areas in Census 2020 / GHS 2015 planning-area tables


def parse_all(raw: Path, names: list[str] | None = None) -> dict[str, pd.DataFrame]:
    frames = {}
    for name, spec in TABLES.items():
        if names and name not in names:
            continue
        for rel in spec.raw_files:
            if not (raw / rel).exists():
                raise SourceTableError(raw / rel, f"raw file for table {name!r} not found")
        frames[name] = spec.parse(raw).reset_index(drop=True)
    return frames


def check_geography(frames: dict[str, pd.DataFrame]) -> None:
    """Planning-area names in every table must be URA MP2019 names (or the publisher's Total/Others)."""
    if "ura_planning_areas" not in frames:
        return
    known = set(frames["ura_planning_areas"]["planning_area"])
    for name, df in frames.items():
        if "planning_area" not in df.columns or name.startswith("ura_"):
            continue
        bad = sorted(set(df["planning_area"]) - known - {TOTAL, POOLED})
        if bad:
            spec = TABLES[name]
            raise SourceTableError(
                spec.raw_files[0], f"planning area(s) not in URA MP2019: {bad}", column="planning_area"
            )


def build(raw: Path, out: Path, names: list[str] | None = None) -> dict[str, Any]:
    frames = parse_all(raw, names)
    check_geography(frames)
    manifest: dict[str, Any] = {"format": SNAPSHOT_FORMAT, "tables": {}}
    manifest_path = out / MANIFEST
    if names and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for name, df in frames.items():
        spec = TABLES[name]
        entry = write_table(df, spec, out)
        entry["source_files"] = [{"path": rel, "sha256": sha256_file(raw / rel)} for rel in spec.raw_files]
        manifest["tables"][name] = entry
    manifest["tables"] = dict(sorted(manifest["tables"].items()))
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
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
