"""Largest-remainder allocation and controlled rounding of official cells."""

import numpy as np
import pandas as pd
import pytest

from persona_assets.core.model.allocation import allocate_areas, allocate_cells, largest_remainder


@pytest.mark.parametrize(
    ("weights", "total", "expected"),
    [([1, 1, 1], 10, [4, 3, 3]), ([0.5, 0.25, 0.25], 4, [2, 1, 1]), ([0, 5, 0], 3, [0, 3, 0]), ([3, 3], 0, [0, 0])],
    ids=["tie-by-position", "exact", "zeros", "zero-total"],
)
def test_largest_remainder(weights: list[float], total: int, expected: list[int]) -> None:
    assert largest_remainder(np.array(weights, dtype=float), total).tolist() == expected


def test_largest_remainder_is_within_one_of_quota() -> None:
    rng = np.random.default_rng(1)
    w = rng.random(200) * 1000
    out = largest_remainder(w, 148_000)
    assert out.sum() == 148_000
    assert np.all(np.abs(out - w / w.sum() * 148_000) < 1)


def test_positive_total_over_zero_weights_is_an_error() -> None:
    with pytest.raises(ValueError):
        largest_remainder(np.zeros(3), 5)


def test_allocate_areas_keeps_index_and_total() -> None:
    pop = pd.Series({"A": 100.0, "B": 300.0, "C": 0.0})
    out = allocate_areas(pop, 10)
    assert out.to_dict() == {"A": 3, "B": 7, "C": 0}  # 2.5 and 7.5: the tie goes to the first


def test_allocate_cells_total_exact_and_subzones_within_one() -> None:
    cells = pd.DataFrame(
        {
            "subzone": ["a"] * 4 + ["b"] * 4,
            "age": [15, 15, 40, 40] * 2,
            "sex": ["Male", "Female"] * 4,
            "count": [10, 20, 30, 40, 50, 60, 70, 80],
        }
    )
    out = allocate_cells(cells, 37)
    assert out["records"].sum() == 37
    sz = out.groupby("subzone")["records"].sum()
    quota = cells.groupby("subzone")["count"].sum() / cells["count"].sum() * 37
    assert np.all(np.abs(sz - quota) < 1)
    merged = cells.merge(out, how="left", on=["subzone", "age", "sex", "count"]).fillna({"records": 0})
    sz_n = merged.groupby("subzone")["records"].transform("sum")
    cell_quota = merged["count"] / merged.groupby("subzone")["count"].transform("sum") * sz_n
    assert np.all(np.abs(merged["records"] - cell_quota) < 1)


def test_allocate_cells_empty() -> None:
    cells = pd.DataFrame({"subzone": [], "age": [], "sex": [], "count": []})
    assert allocate_cells(cells, 0).empty


def test_systematic_rounding_does_not_starve_small_cells() -> None:
    from persona_assets.core.model.allocation import systematic_round

    # cells with quotas 0.3 and 0.6: largest remainder gives every record to the 0.6 cells
    w = np.r_[np.full(500, 1.0), np.full(500, 2.0)]
    total = 450
    assert largest_remainder(w, total)[:500].sum() == 0
    rng = np.random.default_rng(0)
    small = [systematic_round(w, total, rng.random())[:500].sum() for _ in range(200)]
    assert abs(np.mean(small) - 150) < 2
    out = systematic_round(w, total, 0.3)
    assert out.sum() == total and np.all(np.abs(out - w / w.sum() * total) < 1)
