"""The vectorised sampler: correct distributions, balanced (stratified) draws, exact per-area allocation."""

import numpy as np
import pytest

from persona_assets.core.model.fidelity import tvd
from persona_assets.core.model.sampler import draw, forward_sample, stratified_uniforms


def test_draw_matches_probabilities() -> None:
    rng = np.random.default_rng(0)
    p = np.array([0.1, 0.2, 0.7])
    codes = draw(np.broadcast_to(p, (200_000, 3)), rng)
    assert tvd(np.bincount(codes, minlength=3), p) < 0.005


def test_draw_never_returns_zero_probability_categories() -> None:
    rng = np.random.default_rng(1)
    codes = draw(np.broadcast_to(np.array([0.0, 1.0, 0.0]), (1000, 3)), rng)
    assert set(codes) == {1}


def test_stratified_uniforms_cover_each_stratum_once_per_group() -> None:
    rng = np.random.default_rng(2)
    groups = np.repeat([0, 1, 2], [10, 7, 1])
    u = stratified_uniforms(groups, rng)
    for g, m in ((0, 10), (1, 7)):
        strata = np.sort(np.floor(u[groups == g] * m).astype(int))
        assert strata.tolist() == list(range(m))


def test_stratified_draws_are_within_one_of_expectation_per_group() -> None:
    rng = np.random.default_rng(3)
    p = np.array([0.15, 0.35, 0.5])
    groups = np.repeat(np.arange(40), 37)
    codes = draw(np.broadcast_to(p, (len(groups), 3)), rng, groups)
    for g in range(40):
        counts = np.bincount(codes[groups == g], minlength=3)
        assert np.all(np.abs(counts - 37 * p) < 2)  # each category interval cuts at most two strata


def test_forward_sample_reproduces_the_network_marginals(network) -> None:
    codes = forward_sample(network, 200_000, np.random.default_rng(4))
    pa = np.bincount(codes["planning_area"], minlength=len(network.areas))
    assert tvd(pa, network.nodes["planning_area"].cpt) < 0.01
    # ethnicity marginal implied by the tables vs sampled
    cpt_ag = network.nodes["age_group"].cpt
    cpt_sex = network.nodes["sex"].cpt
    cpt_eth = network.nodes["ethnicity"].cpt
    w = network.nodes["planning_area"].cpt[:, None, None] * cpt_ag[:, :, None] * cpt_sex
    expected = np.einsum("pas,pase->e", w, cpt_eth)
    assert tvd(np.bincount(codes["ethnicity"], minlength=4), expected) < 0.01


@pytest.mark.parametrize("stratified", [False, True], ids=["independent", "stratified"])
def test_same_seed_same_draws(network, stratified: bool) -> None:
    a = forward_sample(network, 5000, np.random.default_rng(9), stratified=stratified)
    b = forward_sample(network, 5000, np.random.default_rng(9), stratified=stratified)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
