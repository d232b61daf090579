"""Iterative proportional fitting: margins met, groups, structural zeros, clear errors."""

import numpy as np
import pytest

from persona_assets.core.ipf import Margin, conditional, fit_ipf


def test_two_way_table_meets_both_margins() -> None:
    r = fit_ipf(np.ones((3, 2)), [Margin((0,), np.array([10.0, 20, 30])), Margin((1,), np.array([25.0, 35]))])
    assert r.converged
    np.testing.assert_allclose(r.fitted.sum(axis=1), [10, 20, 30])
    np.testing.assert_allclose(r.fitted.sum(axis=0), [25, 35])


def test_seed_interactions_are_preserved() -> None:
    seed = np.array([[4.0, 1.0], [1.0, 4.0]])
    r = fit_ipf(seed, [Margin((0,), np.array([50.0, 50])), Margin((1,), np.array([50.0, 50]))])
    odds = (r.fitted[0, 0] * r.fitted[1, 1]) / (r.fitted[0, 1] * r.fitted[1, 0])
    assert odds == pytest.approx(16.0)


def test_grouped_margin_fits_pooled_cells_without_splitting_them() -> None:
    seed = np.array([[1.0, 1.0], [3.0, 1.0], [1.0, 1.0]])
    groups = np.array([0, 1, 1])  # areas 1 and 2 pooled, as Census 'Others'
    target = np.array([[2.0, 8.0], [9.0, 6.0]])
    r = fit_ipf(seed, [Margin((0, 1), target, groups={0: groups})])
    np.testing.assert_allclose(r.fitted[0], [2, 8])
    np.testing.assert_allclose(r.fitted[1] + r.fitted[2], [9, 6])
    # within the pool the seed's relative split of each column is kept
    assert r.fitted[1, 0] / r.fitted[2, 0] == pytest.approx(3.0)


def test_structural_zeros_stay_zero() -> None:
    seed = np.array([[1.0, 0.0], [1.0, 1.0]])
    r = fit_ipf(seed, [Margin((0,), np.array([5.0, 5])), Margin((1,), np.array([6.0, 4]))])
    assert r.fitted[0, 1] == 0
    np.testing.assert_allclose(r.fitted.sum(axis=0), [6, 4])


def test_last_margin_wins_when_margins_disagree() -> None:
    r = fit_ipf(np.ones((2, 2)), [Margin((0,), np.array([10.0, 10])), Margin((1,), np.array([15.0, 15]))], max_iter=20)
    assert not r.converged
    np.testing.assert_allclose(r.fitted.sum(axis=0), [15, 15])
    assert r.max_relative_error["margin0"] > 0.1


def test_impossible_target_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="has mass but the seed has none"):
        fit_ipf(np.array([[1.0, 0.0]]), [Margin((1,), np.array([1.0, 1.0]), name="cols")])


def test_shape_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="target shape"):
        fit_ipf(np.ones((2, 2)), [Margin((0,), np.array([1.0, 1.0, 1.0]))])


def test_negative_targets_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        Margin((0,), np.array([-1.0, 2.0]))


def test_conditional_rows_sum_to_one_and_empty_rows_are_uniform() -> None:
    c = conditional(np.array([[2.0, 6.0], [0.0, 0.0]]))
    np.testing.assert_allclose(c, [[0.25, 0.75], [0.5, 0.5]])


def test_restricted_margin_counts_and_rescales_only_its_cells() -> None:
    # axis 0: employed / not employed; axis 1: qualification. A margin of the employed only.
    seed = np.ones((2, 2))
    restricted = Margin((1,), np.array([3.0, 7.0]), select={0: (0,)}, name="employed_qualification")
    r = fit_ipf(seed, [Margin((0,), np.array([10.0, 10.0])), restricted])
    assert r.converged
    np.testing.assert_allclose(r.fitted[0], [3, 7])
    np.testing.assert_allclose(r.fitted[1], [5, 5])  # untouched by the restricted margin: the seed's even split


def test_restricted_margin_on_its_own_axis_ignores_the_other_target_cells() -> None:
    # ages x qualification; a margin for the young (row 0) only: row 1's target (99) is ignored
    seed = np.ones((2, 2))
    young = Margin((0, 1), np.array([[1.0, 3.0], [99.0, 99.0]]), select={0: (0,)}, name="young")
    r = fit_ipf(seed, [Margin((1,), np.array([6.0, 6.0])), young])
    np.testing.assert_allclose(r.fitted[0], [1, 3])
    np.testing.assert_allclose(r.fitted.sum(axis=0), [6, 6], rtol=1e-6)
    assert r.max_relative_error["young"] < 1e-9


def test_a_selection_must_name_cells_of_an_ungrouped_axis() -> None:
    with pytest.raises(ValueError, match="selection"):
        Margin((0,), np.array([1.0, 1.0]), select={0: ()})
