"""How many records each planning area, subzone and age x sex cell gets.

Largest-remainder allocation: integer counts proportional to weights that sum exactly to the total, each within
one of its exact quota; ties are broken by position, so the result is deterministic.
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


def allocate_cells(area_population: pd.DataFrame, n: int) -> pd.DataFrame:
    """Controlled rounding of one area's official subzone x age x sex counts to ``n`` records.

    Two levels of largest-remainder rounding: subzone totals first, then the age x sex cells inside each subzone.
    The total is exact; every subzone and every cell is within one record of its proportional quota.
    Returns the cells with a ``records`` column (cells with zero records dropped), sorted deterministically.
    """
    if n == 0 or area_population.empty:
        return area_population.assign(records=np.zeros(len(area_population), dtype=np.int64)).iloc[0:0]
    cells = area_population.sort_values(["subzone", "age", "sex"]).reset_index(drop=True)
    sz_tot = cells.groupby("subzone", sort=True)["count"].sum()
    sz_n = pd.Series(largest_remainder(sz_tot.to_numpy(), n), index=sz_tot.index)
    records = np.zeros(len(cells), dtype=np.int64)
    for sz, idx in cells.groupby("subzone", sort=True).indices.items():
        records[idx] = largest_remainder(cells.loc[idx, "count"].to_numpy(), int(sz_n[sz]))
    out = cells.assign(records=records)
    return out[out["records"] > 0].reset_index(drop=True)
