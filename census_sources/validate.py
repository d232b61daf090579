"""Strict checks on a tidy table: schema, keys, figures, and reconciliation of parts with published totals.

Every failure raises :class:`SourceTableError` naming the file, the row (1-based line, header = 1) and the
column. ``reconcile`` also returns the full reconciliation frame, which the Great Expectations gate reads.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from census_sources.errors import SourceTableError
from census_sources.spec import TableSpec

#: Line number of the first data row in a snapshot CSV (line 1 is the header).
FIRST_DATA_LINE = 2


def line_of(index: int) -> int:
    return index + FIRST_DATA_LINE


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
            raise SourceTableError(file, "empty key", row=line_of(int(blank.idxmax())), column=key)
        allowed = spec.key_values.get(key)
        if allowed:
            bad = ~df[key].isin(allowed)
            if bad.any():
                i = int(bad.idxmax())
                raise SourceTableError(
                    file,
                    f"unknown value {df.at[i, key]!r} (expected one of: {', '.join(allowed)})",
                    row=line_of(i),
                    column=key,
                )
    dup = df.duplicated(list(spec.keys), keep=False)
    if dup.any():
        rows = df.index[dup]
        first = int(rows[0])
        key_values = tuple(df.loc[first, list(spec.keys)])
        second = int(df.index[df.duplicated(list(spec.keys), keep="first")][0])
        raise SourceTableError(
            file,
            f"duplicated key {dict(zip(spec.keys, key_values, strict=True))} (first seen on row {line_of(first)})",
            row=line_of(second),
            column=", ".join(spec.keys),
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
        raise SourceTableError(
            file,
            f"totals do not reconcile: the published total {r['published_total']:.10g} ({r['key']}="
            f"{spec.totals[r['key']]}{', ' + r['where'] if r['where'] else ''}) differs from the sum of its "
            f"{r['n_parts']} parts, {r['sum_of_parts']:.10g}, by {r['abs_diff']:.10g} (rounding tolerance "
            f"{r['tolerance']:g}); {len(bad)} total(s) fail",
            row=int(r["row"]),
            column=spec.value,
        )
    return frame


def validate_frame(df: pd.DataFrame, spec: TableSpec, file: str | Path) -> pd.DataFrame:
    """Run every structural check on an already typed frame (as the parsers produce); return reconciliation."""
    check_columns(list(df.columns), spec, file)
    df = df.reset_index(drop=True)
    check_keys(df, spec, file)
    vals = df[spec.value]
    if not spec.nullable and vals.isna().any():
        raise SourceTableError(file, "missing figure", row=line_of(int(vals.isna().idxmax())), column=spec.value)
    neg = vals < 0
    if neg.any():
        i = int(neg.idxmax())
        raise SourceTableError(file, f"negative figure {vals.at[i]!r}", row=line_of(i), column=spec.value)
    return check_reconciliation(df, spec, file)
