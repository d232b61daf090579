"""Strict checks on a tidy table: schema, keys, figures, the rows it must hold, the URA names, and reconciliation of
parts with published totals.

Every failure raises :class:`SourceTableError` naming the file, the row and the column. For a table just parsed
from the raw files (rows carrying their :data:`~census_sources.errors.WHERE` location) that is the raw file, its
line and its column; for a snapshot file being loaded, the snapshot file (header = line 1). A missing row has no
line: the error names the file and the rows that are missing. ``reconcile`` also returns the full reconciliation
frame, which the Great Expectations gate reads.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd

from census_sources.errors import WHERE, SourceTableError
from census_sources.geography import Reference, check_geography
from census_sources.locate import FIRST_DATA_LINE, error_at, file_of, line_of, visible
from census_sources.spec import TableSpec

#: How many missing rows an error lists.
SHOWN = 3


def check_columns(columns: list[str], spec: TableSpec, file: str | Path) -> None:
    missing = [c for c in spec.columns if c not in columns]
    if missing:
        raise SourceTableError(
            file,
            f"missing column {missing[0]!r} (expected columns: {', '.join(spec.columns)})",
            row=1,
            column=missing[0],
        )
    extra = [c for c in columns if c not in spec.columns]
    if extra:
        raise SourceTableError(
            file,
            f"unexpected column {extra[0]!r} (expected columns: {', '.join(spec.columns)})",
            row=1,
            column=extra[0],
        )
    dupes = [c for c in columns if columns.count(c) > 1]
    if dupes:
        raise SourceTableError(file, f"column {dupes[0]!r} appears twice", row=1, column=dupes[0])


def check_keys(df: pd.DataFrame, spec: TableSpec, file: str | Path) -> None:
    for key in spec.keys:
        blank = df[key].isna() | (df[key].astype(str).str.strip() == "")
        if blank.any():
            raise error_at(df, int(blank.idxmax()), file, "empty key", key)
        allowed = spec.key_values.get(key)
        if allowed:
            bad = ~df[key].isin(allowed)
            if bad.any():
                i = int(bad.idxmax())
                raise error_at(
                    df, i, file, f"unknown value {df.at[i, key]!r} (expected one of: {', '.join(allowed)})", key
                )
    dup = df.duplicated(list(spec.keys), keep=False)
    if dup.any():
        rows = df.index[dup]
        first = int(rows[0])
        key_values = tuple(df.loc[first, list(spec.keys)])
        second = int(df.index[df.duplicated(list(spec.keys), keep="first")][0])
        seen = error_at(df, first, file, "", spec.keys[0]).row
        err = error_at(
            df,
            second,
            file,
            f"duplicated key {dict(zip(spec.keys, key_values, strict=True))} (first seen on row {seen})",
            spec.keys[0],
        )
        if WHERE not in df.columns:  # the snapshot file: every key column is the place
            err = SourceTableError(err.file, err.reason, row=err.row, column=", ".join(spec.keys))
        raise err


def total_of(df: pd.DataFrame, spec: TableSpec) -> float | int:
    """Sum of the value over rows that are not published totals (the figures tests recompute from raw)."""
    mask = pd.Series(True, index=df.index)
    for key, label in spec.totals.items():
        mask &= df[key] != label
    total = df.loc[mask, spec.value].sum(min_count=1)
    if pd.isna(total):
        return 0
    return int(total) if spec.integer else round(float(total), 6)


def missing_rows(df: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """The combinations of ``spec.complete`` that are absent for a combination of the other keys present."""
    others = [k for k in spec.keys if k not in spec.complete]
    product = pd.DataFrame(
        list(itertools.product(*(spec.key_values[k] for k in spec.complete))), columns=list(spec.complete)
    )
    expected = df[others].drop_duplicates().merge(product, how="cross") if others else product
    present = df[list(spec.keys)].drop_duplicates().assign(_present=True)
    joined = expected[list(spec.keys)].merge(present, how="left", on=list(spec.keys))
    return joined.loc[joined["_present"].isna(), list(spec.keys)].reset_index(drop=True)


def check_row_set(df: pd.DataFrame, spec: TableSpec, file: str | Path, *, loaded: bool) -> None:
    """The rows the table must hold (``TableSpec``: ``complete``, ``expected_rows``, ``expected_total``)."""
    recorded = f" ({spec.recorded_in})" if spec.recorded_in else ""
    if spec.expected_rows is not None and len(df) != spec.expected_rows:
        raise SourceTableError(
            file_of(df, file), f"{len(df)} rows, but the official file has {spec.expected_rows}{recorded}"
        )
    if spec.complete and not (loaded and spec.drop_zero_rows):
        missing = missing_rows(df, spec)
        if len(missing):
            others = [k for k in spec.keys if k not in spec.complete]
            first = missing.iloc[0].to_dict()
            shown = "; ".join(
                ", ".join(f"{k}={v!r}" for k, v in r.items()) for r in missing.head(SHOWN).to_dict("records")
            )
            n = len(missing)
            raise SourceTableError(
                file_of(df, file, first),
                f"{n} expected row{'s' if n > 1 else ''} missing (every {' × '.join(spec.complete)}"
                f"{' for each ' + ', '.join(others) if others else ''}); first: {shown}",
            )
    if spec.expected_total is not None:
        total = total_of(df, spec)
        if abs(total - spec.expected_total) > 1e-6:
            raise SourceTableError(
                file_of(df, file),
                f"the figures sum to {total:,}, not the {spec.expected_total:,} recorded for the official file"
                f"{recorded}",
                column=df[WHERE].iloc[0].column if WHERE in df.columns and len(df) else spec.value,
            )


def reconcile(df: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """For each key with a total label and each published total row, compare the total with its parts.

    Returns one row per published total that has parts: ``key, row`` (line in the snapshot file), ``where``
    (the other keys), ``published_total, sum_of_parts, n_parts, abs_diff, tolerance, excess``
    (``excess = abs_diff - tolerance``; the table reconciles when every ``excess <= 0``).
    A total whose parts include a missing (``na``/``s``) figure is checked as an upper bound (the known parts may not
    exceed it); a total with no parts while totals of the same shape have parts (rows lost) fails.
    """
    records: list[dict[str, object]] = []
    values = df[spec.value]
    for key, label in spec.totals.items():
        others = [k for k in spec.keys if k != key]
        is_total = df[key] == label
        totals = df[is_total]
        parts = df[~is_total]
        if totals.empty or parts.empty:
            continue
        if others:
            part_groups = parts.groupby(others, sort=False, dropna=False)[spec.value]
            sums = part_groups.sum(min_count=1)
            counts = part_groups.size()
            zeros = (parts[spec.value] == 0).groupby([parts[k] for k in others], sort=False, dropna=False).sum()
            has_na = part_groups.apply(lambda s: s.isna().any())
            with_parts: set[tuple[bool, ...]] = set()
            orphans: list[tuple[int, pd.Series, tuple[bool, ...]]] = []
            for idx, row in totals.iterrows():
                gkey = tuple(row[others]) if len(others) > 1 else row[others[0]]
                # which of the other keys are themselves totals: totals of one "shape" should all have parts
                shape = tuple(row[o] == spec.totals.get(o) for o in others)
                if gkey not in counts.index:
                    orphans.append((idx, row, shape))
                    continue
                with_parts.add(shape)
                total = values.at[idx]
                if pd.isna(total):
                    continue
                n = int(counts.loc[gkey])
                s = float(sums.loc[gkey]) if not pd.isna(sums.loc[gkey]) else 0.0
                z = int(zeros.loc[gkey])
                where = dict(zip(others, row[others], strict=True))
                # with an 'na'/'s' part, only an upper bound holds: the known parts cannot exceed the total
                records.append(_record(spec, key, idx, where, total, s, n, z, upper_bound=bool(has_na.loc[gkey])))
            for idx, row, shape in orphans:
                total = values.at[idx]
                if shape in with_parts and not pd.isna(total):  # its siblings have parts, it has none: rows lost
                    records.append(
                        _record(spec, key, idx, dict(zip(others, row[others], strict=True)), total, 0.0, 0, 0)
                    )
        else:
            for idx in totals.index:
                total = values.at[idx]
                if pd.isna(total):
                    continue
                records.append(
                    _record(
                        spec,
                        key,
                        idx,
                        {},
                        total,
                        float(parts[spec.value].sum()),
                        len(parts),
                        int((parts[spec.value] == 0).sum()),
                        upper_bound=bool(parts[spec.value].isna().any()),
                    )
                )
    columns = ["key", "row", "where", "published_total", "sum_of_parts", "n_parts", "abs_diff", "tolerance", "excess"]
    return pd.DataFrame.from_records(records, columns=columns)


def _record(
    spec: TableSpec,
    key: str,
    idx: int,
    where: dict[str, object],
    total: float,
    s: float,
    n: int,
    n_zero: int,
    upper_bound: bool = False,
) -> dict[str, object]:
    diff = max(0.0, s - float(total)) if upper_bound else abs(float(total) - s)
    tol = spec.tolerance(n, n_zero)
    return {
        "key": key,
        "row": line_of(int(idx)),
        "where": ", ".join(f"{k}={v}" for k, v in where.items()),
        "published_total": float(total),
        "sum_of_parts": s,
        "n_parts": n,
        "abs_diff": round(diff, 6),
        "tolerance": tol,
        "excess": round(diff - tol, 6),
    }


def check_reconciliation(df: pd.DataFrame, spec: TableSpec, file: str | Path) -> pd.DataFrame:
    frame = reconcile(df, spec)
    bad = frame[frame["excess"] > 0]
    if not bad.empty:
        r = bad.iloc[0]
        raise error_at(
            df,
            int(r["row"]) - FIRST_DATA_LINE,
            file,
            f"totals do not reconcile: the published total {r['published_total']:.10g} ({r['key']}="
            f"{spec.totals[r['key']]}{', ' + r['where'] if r['where'] else ''}) differs from the sum of its "
            f"{r['n_parts']} parts, {r['sum_of_parts']:.10g}, by {r['abs_diff']:.10g} (rounding tolerance "
            f"{r['tolerance']:g}); {len(bad)} total(s) fail",
            spec.value,
        )
    return frame


def validate_frame(
    df: pd.DataFrame,
    spec: TableSpec,
    file: str | Path,
    reference: Reference | None = None,
    *,
    loaded: bool = True,
) -> pd.DataFrame:
    """Run every check on an already typed frame (as the parsers produce, or as loaded); return reconciliation.
    ``reference``: the URA lists the geography keys are checked against (None: not checked, for the URA tables
    themselves and for callers that check a table on its own). ``loaded``: a snapshot file (``drop_zero_rows``
    tables then lack their zero rows)."""
    check_columns(visible(list(df.columns)), spec, file)
    df = df.reset_index(drop=True)
    check_keys(df, spec, file)
    vals = df[spec.value]
    if not spec.nullable and vals.isna().any():
        raise error_at(df, int(vals.isna().idxmax()), file, "missing figure", spec.value)
    neg = vals < 0
    if neg.any():
        i = int(neg.idxmax())
        raise error_at(df, i, file, f"negative figure {vals.at[i]!r}", spec.value)
    if reference is not None and spec.geography:
        check_geography(df, spec, file, reference, loaded=loaded)
    check_row_set(df, spec, file, loaded=loaded)
    return check_reconciliation(df, spec, file)
