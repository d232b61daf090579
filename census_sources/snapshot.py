"""The normalised snapshot: tidy CSV files plus ``manifest.json`` (provenance, checksums, row counts).

``write_table`` is used by the builder; ``load_table`` is what the pipeline uses: it re-validates every row
(so a hand-edited or corrupted file fails with the file, row and column named) and checks the file against
the checksum the manifest recorded when the snapshot was built.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from census_sources.errors import SourceTableError
from census_sources.geography import Reference
from census_sources.locate import line_of
from census_sources.readers import check_width, read_csv_rows
from census_sources.spec import TableSpec
from census_sources.validate import check_columns, total_of, validate_frame

SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshot"
MANIFEST = "manifest.json"
SNAPSHOT_FORMAT = 1
#: The reference tables geography keys are checked against.
URA_PLANNING_AREAS, URA_SUBZONES = "ura_planning_areas", "ura_subzones"
_WHOLE = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_NEGATIVE = re.compile(r"-[0-9]+(\.[0-9]+)?")


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def to_csv_text(df: pd.DataFrame, spec: TableSpec) -> str:
    """Deterministic CSV text for a tidy table (LF endings, no index, integers without decimals)."""
    out = df.loc[:, list(spec.columns)].copy()
    if spec.integer:
        out[spec.value] = out[spec.value].astype("Int64")
    if spec.nullable:
        out["flag"] = out["flag"].fillna("")
    buf = io.StringIO()
    out.to_csv(buf, index=False, lineterminator="\n", float_format="%.10g")
    return buf.getvalue()


def write_table(
    df: pd.DataFrame, spec: TableSpec, out_dir: str | Path, reference: Reference | None = None
) -> dict[str, Any]:
    """Validate and write one table (``reference``: the URA lists its geography is checked against); return its
    manifest entry (without source checksums). Errors name the raw file, line and column each row came from."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / spec.file_name
    df = df.reset_index(drop=True)
    recon = validate_frame(df, spec, f"{path} (built)", reference, loaded=False)
    if spec.drop_zero_rows:
        df = df[df[spec.value] != 0].reset_index(drop=True)
    path.write_text(to_csv_text(df, spec), encoding="utf-8")
    return {
        "file": spec.file_name,
        **spec.provenance(),
        "keys": list(spec.keys),
        "value": spec.value,
        "columns": list(spec.columns),
        "rows": len(df),
        "sha256": sha256_file(path),
        "value_total": total_of(df, spec),
        "reconciled_totals": len(recon),
        "max_reconciliation_diff": float(recon["abs_diff"].max()) if len(recon) else 0.0,
        "grounds": list(spec.grounds),
        "quirks": list(spec.quirks),
    }


def load_manifest(snapshot_dir: str | Path | None = None) -> dict[str, Any]:
    path = Path(snapshot_dir or SNAPSHOT_DIR) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SourceTableError(path, "snapshot manifest not found; run `python -m census_sources.build`") from exc
    except json.JSONDecodeError as exc:
        raise SourceTableError(path, f"manifest is not valid JSON: {exc.msg}", row=exc.lineno) from exc
    if manifest.get("format") != SNAPSHOT_FORMAT:
        raise SourceTableError(path, f"unsupported snapshot format {manifest.get('format')!r}")
    return manifest


def _figure(raw: str, spec: TableSpec, file: str | Path, line: int) -> float | int:
    """A figure of a snapshot file, in the only form the builder writes (``123``, ``59.8``)."""
    if _NEGATIVE.fullmatch(raw):
        raise SourceTableError(file, f"negative figure {raw}", row=line, column=spec.value)
    if (_WHOLE if spec.integer else _DECIMAL).fullmatch(raw):
        return int(raw) if spec.integer else float(raw)
    if raw.strip().lower() in {"inf", "+inf", "-inf", "infinity", "nan"}:
        raise SourceTableError(file, f"not a finite number: {raw!r}", row=line, column=spec.value)
    kind = "a whole number" if spec.integer else "a number"
    raise SourceTableError(file, f"not {kind}: {raw!r}", row=line, column=spec.value)


def parse_rows(rows: list[list[str]], spec: TableSpec, file: str | Path) -> pd.DataFrame:
    """Turn the rows of a snapshot CSV into a typed frame, naming row and column of any bad cell."""
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise SourceTableError(file, "file has no header row", row=1)
    header = [c.strip() for c in rows[0]]
    check_columns(header, spec, file)
    body = rows[1:]
    if not body:
        raise SourceTableError(file, "file has a header but no data rows", row=2)
    pos = {name: i for i, name in enumerate(header)}
    vpos = pos[spec.value]
    fpos = pos.get("flag")
    values: list[float | int | None] = []
    flags: list[str] = []
    for n, row in enumerate(body):
        line = line_of(n)
        check_width(row, header, file=file, line=line)
        raw = row[vpos]  # exactly as the builder writes it: digits, a decimal point, nothing else
        flag = row[fpos].strip() if fpos is not None else ""
        if raw == "":
            if spec.nullable and flag in {"na", "s"}:
                values.append(None)
                flags.append(flag)
                continue
            raise SourceTableError(file, "missing figure", row=line, column=spec.value)
        if flag:
            raise SourceTableError(file, f"flag {flag!r} set on a row that has a figure", row=line, column="flag")
        number = _figure(raw, spec, file, line)
        values.append(number)
        flags.append("")
    data: dict[str, Any] = {k: [r[pos[k]].strip() for r in body] for k in spec.keys}
    data[spec.value] = pd.array(values, dtype="Int64" if spec.integer else "Float64")
    if spec.nullable:
        data["flag"] = flags
    return pd.DataFrame(data, columns=list(spec.columns))


def load_reference(snapshot_dir: str | Path | None = None, *, verify_checksum: bool = True) -> Reference:
    """The URA MP2019 lists of a snapshot folder, which every other table's geography is checked against."""
    pas, szs = (
        load_table(name, snapshot_dir, verify_checksum=verify_checksum, check_references=False)
        for name in (URA_PLANNING_AREAS, URA_SUBZONES)
    )
    return Reference.from_frames(pas, szs)


def load_table(
    spec: TableSpec | str,
    snapshot_dir: str | Path | None = None,
    *,
    verify_checksum: bool = True,
    check_references: bool = True,
) -> pd.DataFrame:
    """Load one snapshot table, strictly validated. Raises :class:`SourceTableError` on any defect.

    Besides its own rows (schema, keys, figures, row set, totals), a table with planning areas or subzones is
    checked against the URA lists of the same snapshot folder (``check_references=False`` skips that, for
    loading the URA lists themselves)."""
    from census_sources.registry import get_spec

    spec = get_spec(spec) if isinstance(spec, str) else spec
    snapshot_dir = Path(snapshot_dir or SNAPSHOT_DIR)
    path = snapshot_dir / spec.file_name
    rows = read_csv_rows(path)
    df = parse_rows(rows, spec, path)
    reference = None
    if check_references and spec.geography:
        reference = load_reference(snapshot_dir, verify_checksum=verify_checksum)
    validate_frame(df, spec, path, reference, loaded=True)
    if verify_checksum:
        entry = load_manifest(snapshot_dir).get("tables", {}).get(spec.name)
        if entry is None:
            raise SourceTableError(path, f"table {spec.name!r} is not in the snapshot manifest; rebuild the snapshot")
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            raise SourceTableError(
                path,
                f"file does not match the manifest (sha256 {actual[:12]}… vs {entry['sha256'][:12]}…): it was "
                "changed after the snapshot was built, so its provenance is unknown; rebuild the snapshot with "
                "`python -m census_sources.build`",
            )
    return df
