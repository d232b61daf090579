"""How many records each planning area, subzone and age x sex cell gets.

Areas: largest-remainder allocation (integer counts ∝ weights, summing exactly to the total, each within one of
its quota; ties by position). Cells inside an area: systematic rounding with a seeded random start, because with
~37,000 cells mostly below one record each, largest remainder would always favour the larger cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if total < 0:
        raise ValueError("total must be non-negative")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite and non-negative")
    if total == 0 or w.sum() == 0:
        if total and w.sum() == 0:
            raise ValueError("cannot allocate a positive total over zero weights")
        return np.zeros(len(w), dtype=np.int64)
    quota = w / w.sum() * total
    base = np.floor(quota).astype(np.int64)
    short = total - int(base.sum())
    order = np.lexsort((np.arange(len(w)), -(quota - base)))  # largest remainder first, then position
    base[order[:short]] += 1
    return base


def allocate_areas(population_15plus: pd.Series, total: int) -> pd.Series:
    """Records per planning area ∝ official residents aged 15+ (index: area names, in the given order)."""
    counts = largest_remainder(population_15plus.to_numpy(), total)
    return pd.Series(counts, index=population_15plus.index, name="records")


def systematic_round(weights: np.ndarray, total: int, start: float) -> np.ndarray:
    """Integer counts summing to ``total`` with ``E[count] = quota`` over a uniform ``start`` in [0, 1):
    ``count_i = floor(C_i + start) - floor(C_{i-1} + start)`` on the cumulative quotas C. Every count, and every
    run of consecutive cells, is within one of its quota; unlike largest remainder, small cells are not starved."""
    w = np.asarray(weights, dtype=float)
    if total == 0 or w.sum() == 0:
        if total and w.sum() == 0:
            raise ValueError("cannot allocate a positive total over zero weights")
        return np.zeros(len(w), dtype=np.int64)
    cum = np.cumsum(w / w.sum() * total)
    cum[-1] = total  # no float drift at the end
    edges = np.floor(np.concatenate([[0.0], cum]) + start)
    return np.diff(edges).astype(np.int64)


def allocate_cells(area_population: pd.DataFrame, n: int, rng: np.random.Generator | None = None) -> pd.DataFrame:
    """Controlled rounding of one area's official subzone x age x sex counts to ``n`` records.

    Systematic rounding with a random start over the cells sorted by subzone, age and sex: the total is exact,
    every cell and every subzone (a run of consecutive cells) is within one record of its proportional quota, and
    each cell's expected count equals its quota (no bias towards large cells). ``rng`` draws the start (0.5 when
    absent). Returns the cells with a ``records`` column (cells with zero records dropped).
    """
    if n == 0 or area_population.empty:
        return area_population.assign(records=np.zeros(len(area_population), dtype=np.int64)).iloc[0:0]
    cells = area_population.sort_values(["subzone", "age", "sex"]).reset_index(drop=True)
    start = float(rng.random()) if rng is not None else 0.5
    out = cells.assign(records=systematic_round(cells["count"].to_numpy(), n, start))
    return out[out["records"] > 0].reset_index(drop=True)
