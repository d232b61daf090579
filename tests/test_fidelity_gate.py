"""The per-partition fidelity test (``residents_fidelity``): exact binomial bounds per category, Bonferroni over
the partition. It rarely fails a partition drawn from the model, at every size from one record to 20,000, and it
fails wrong partitions, small ones included."""

import numpy as np
import pandas as pd
import pytest

from persona_assets.core.census import area_adult_population
from persona_assets.core.model.fidelity import (
    EMPLOYED_FIELDS,
    FIDELITY_ALPHA,
    GROUNDED,
    adjusted_p_values,
    area_marginals,
    binomial_p_values,
    compare,
    field_categories,
    tvd_tolerance,
)
from persona_assets.core.model.residents import sample_residents
from persona_assets.core.model.tables import population_15plus

#: A small area (about 40 records of the default 148,000) and a large one with another profile.
SMALL, LARGE = "Tanglin", "Woodlands"


@pytest.fixture(scope="module")
def pop(network, census_frames):
    return population_15plus(census_frames["respop_2025"], network.areas)


def _expected(network, pop, area: str) -> dict[str, np.ndarray]:
    return area_marginals(network, area, pop[network.areas.index(area)])


def _sample(network, census_frames, area: str, n: int, seed: int = 7) -> pd.DataFrame:
    respop, ura = census_frames["respop_2025"], census_frames["ura_planning_areas"]
    return sample_residents(network, area, area_adult_population(respop, ura, area), n, seed)


def test_binomial_p_values_are_exact_two_sided_tails() -> None:
    # Bin(10, 0.5): P[X <= 1] = 11/1024; two-sided doubles it
    assert binomial_p_values(np.array([1.0, 9.0]), np.array([0.5, 0.5]))[0] == pytest.approx(22 / 1024)
    assert binomial_p_values(np.array([5.0, 5.0]), np.array([0.5, 0.5])).tolist() == [1.0, 1.0]
    # one record in a category of share 1e-6: p = 2e-6
    assert binomial_p_values(np.array([1.0, 0.0]), np.array([1e-6, 1 - 1e-6]))[0] == pytest.approx(2e-6)


def test_false_alarm_rate_is_below_alpha_at_every_sample_size(network, pop) -> None:
    """Partitions drawn independently from the area's model shares (the balanced sampler is tighter still): the
    share failing stays within alpha at 1 to 20,000 records (4,000 partitions per size)."""
    rng = np.random.default_rng(0)
    shares = _expected(network, pop, SMALL)
    employed_share = 0.6  # the employed get the employed fields; the rest of the fields cover every record
    rates = {}
    for n in (1, 3, 10, 40, 300, 3000, 20_000):
        draws = 4000
        n_emp = rng.binomial(n, employed_share, size=draws)
        counts = {}
        for f in GROUNDED:
            p = shares[f] / shares[f].sum()
            sizes = n_emp if f in EMPLOYED_FIELDS else np.full(draws, n)
            counts[f] = np.stack([rng.multinomial(k, p) for k in sizes])
        adjusted = adjusted_p_values(counts, shares)
        failed = np.any([(a <= FIDELITY_ALPHA).any(axis=-1) for a in adjusted.values()], axis=0)
        rates[n] = failed.mean()
    assert max(rates.values()) <= 2 * FIDELITY_ALPHA, rates  # 8 of 4,000 at most: exact tests, Bonferroni


def test_sampled_partitions_pass(network, census_frames, pop) -> None:
    for area, n in ((SMALL, 40), (SMALL, 1), (LARGE, 6000)):
        table = compare(_sample(network, census_frames, area, n), _expected(network, pop, area), network)
        assert table["passed"].all(), (area, n, table.to_string())


def test_a_small_partition_with_another_areas_records_fails(network, census_frames, pop) -> None:
    """40 records of Woodlands (HDB estates) under the label of Tanglin (mostly private housing) fail Tanglin's
    test, on dwelling among others, while 40 records sampled for Tanglin pass it."""
    wrong = _sample(network, census_frames, LARGE, 40).assign(planning_area=SMALL)
    table = compare(wrong, _expected(network, pop, SMALL), network)
    assert not table["passed"].all()
    assert "dwelling_type" in set(table.loc[~table["passed"], "field"])
    right = compare(_sample(network, census_frames, SMALL, 40), _expected(network, pop, SMALL), network)
    assert right["passed"].all()


def test_a_small_partition_with_one_field_skewed_fails(network, census_frames, pop) -> None:
    """8 of 40 records moved to Tanglin's rarest religion: the binomial bound fails it; the TVD tolerance it
    replaces (about 0.77 for religion at 40 records, above 1 for age group, industry and income) passed it."""
    records = _sample(network, census_frames, SMALL, 40)
    expected = _expected(network, pop, SMALL)
    cats = field_categories(network, "religion")
    rare = cats[int(np.argmin(np.where(expected["religion"] > 0, expected["religion"], np.inf)))]
    skewed = records.copy()
    skewed.loc[skewed.index[:8], "religion"] = rare
    table = compare(skewed, expected, network).set_index("field")
    assert not table.loc["religion", "passed"] and table.loc["religion", "worst_category"] == rare
    assert table.loc["religion", "tvd"] <= tvd_tolerance(expected["religion"], 40)


def test_one_record_in_a_category_the_model_rules_out_fails(network, census_frames, pop) -> None:
    records = _sample(network, census_frames, SMALL, 1)
    expected = {f: v.copy() for f, v in _expected(network, pop, SMALL).items()}
    cats = field_categories(network, "ethnicity")
    expected["ethnicity"][cats.index(records["ethnicity"].iloc[0])] = 0.0
    table = compare(records, expected, network).set_index("field")
    assert not table.loc["ethnicity", "passed"] and table.loc["ethnicity", "p_adjusted"] == 0.0


def test_the_check_result_names_its_partition_and_failing_fields(network, census_frames, pop) -> None:
    from persona_assets.sample.assets import build_fidelity_result

    wrong = _sample(network, census_frames, LARGE, 40).assign(planning_area=SMALL)
    result = build_fidelity_result(SMALL, compare(wrong, _expected(network, pop, SMALL), network))
    assert not result.passed
    assert result.description.startswith(f"{SMALL}: failed in ") and "dwelling_type" in result.description
    assert result.metadata["partition"].value == SMALL and result.metadata["min_p_adjusted"].value <= FIDELITY_ALPHA
