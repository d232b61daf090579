"""Residents: fidelity of a full 148,000 sample, reproducibility, derived-field rules."""

import numpy as np
import pandas as pd
import pytest

from persona_assets.core.census import area_adult_population
from persona_assets.core.model import vocab as V
from persona_assets.core.model.derived import (
    BIG_FIVE_TRAITS,
    digital_familiarity,
    life_stage,
    status_for,
)
from persona_assets.core.model.fidelity import GROUNDED, area_marginals, compare, tvd
from persona_assets.core.model.residents import sample_residents
from persona_assets.core.model.tables import population_15plus
from persona_assets.core.schema import RESIDENT_COLUMNS


def test_full_sample_shape(full_sample: pd.DataFrame) -> None:
    assert len(full_sample) == 148_000
    assert list(full_sample.columns) == list(RESIDENT_COLUMNS)
    assert full_sample["uuid"].is_unique
    assert full_sample["age"].between(15, 90).all()
    assert full_sample["planning_area"].nunique() == 42  # the 13 areas without residents give no records
    assert (full_sample["country"] == "Singapore").all()


def test_full_sample_meets_the_national_fidelity_target(full_sample, network, census_frames) -> None:
    pop = population_15plus(census_frames["respop_2025"], network.areas)
    expected = {f: sum(area_marginals(network, a, pop[i])[f] for i, a in enumerate(network.areas)) for f in GROUNDED}
    table = compare(full_sample, expected, network)
    assert set(table["field"]) == set(GROUNDED)
    assert (table["tvd"] <= 0.01).all(), table.to_string()


def test_full_sample_meets_the_per_area_fidelity_target(full_sample, network, census_frames) -> None:
    pop = population_15plus(census_frames["respop_2025"], network.areas)
    checked = 0
    for i, area in enumerate(network.areas):
        sub = full_sample[full_sample["planning_area"] == area]
        if len(sub) < 1000:
            continue
        table = compare(sub, area_marginals(network, area, pop[i]), network)
        assert (table["tvd"] <= 0.05).all(), f"{area}\n{table.to_string()}"
        assert table["passed"].all(), f"{area}\n{table.to_string()}"
        checked += 1
    assert checked == 26  # areas with at least 1,000 of the 148,000 records


def test_age_sex_subzone_match_the_official_table_up_to_rounding(full_sample, census_frames) -> None:
    respop, ura = census_frames["respop_2025"], census_frames["ura_planning_areas"]
    area = "Tampines"
    official = area_adult_population(respop, ura, area)
    sub = full_sample[full_sample["planning_area"] == area]
    got = sub.groupby("subzone").size()
    quota = official.groupby("subzone")["count"].sum() / official["count"].sum() * len(sub)
    assert np.all(np.abs(got.reindex(quota.index, fill_value=0) - quota) < 1)


def test_one_area_rerun_alone_is_identical(full_sample, network, census_frames) -> None:
    respop, ura = census_frames["respop_2025"], census_frames["ura_planning_areas"]
    area = "Bedok"
    n = int((full_sample["planning_area"] == area).sum())
    again = sample_residents(network, area, area_adult_population(respop, ura, area), n, 20251125)
    before = full_sample[full_sample["planning_area"] == area].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, before)
    other_seed = sample_residents(network, area, area_adult_population(respop, ura, area), n, 1)
    assert not other_seed["uuid"].equals(before["uuid"])


def test_employed_only_fields(full_sample) -> None:
    employed = full_sample["labour_force_status"] == "Employed"
    assert full_sample.loc[employed, "occupation"].isin(V.OCCUPATIONS).all()
    assert full_sample.loc[employed, ["industry", "monthly_income_band"]].notna().all().all()
    assert full_sample.loc[~employed, ["industry", "monthly_income_band"]].isna().all().all()
    assert not full_sample.loc[~employed, "occupation"].isin(V.OCCUPATIONS).any()


def test_big_five_recipe(full_sample) -> None:
    scores = np.array([[r[t]["t_score"] for t in BIG_FIVE_TRAITS] for r in full_sample["big_five"].head(20_000)])
    assert scores.min() >= 20 and scores.max() <= 80
    assert abs(scores.mean() - 50) < 0.3 and abs(scores.std() - 10) < 0.3
    first = full_sample["big_five"].iloc[0]
    for t in BIG_FIVE_TRAITS:
        s, label = first[t]["t_score"], first[t]["label"]
        bands = {"very low": (20, 34), "low": (35, 44), "average": (45, 54), "high": (55, 64), "very high": (65, 80)}
        assert bands[label][0] <= s <= bands[label][1]


@pytest.mark.parametrize(
    ("age", "sex", "lfs", "expected"),
    [
        (19, "Male", "Outside Labour Force", "National Service"),
        (19, "Female", "Outside Labour Force", "Student"),
        (40, "Female", "Outside Labour Force", "Homemaker"),
        (40, "Male", "Outside Labour Force", "Not Working"),
        (66, "Female", "Outside Labour Force", "Retired"),
        (30, "Male", "Unemployed", "Unemployed"),
        (30, "Male", "Employed", None),
    ],
)
def test_status_rules(age: int, sex: str, lfs: str, expected: str | None) -> None:
    assert status_for(np.array([age]), np.array([sex]), np.array([lfs]))[0] == expected


def test_digital_familiarity_and_life_stage_rules() -> None:
    assert digital_familiarity(
        np.array([25, 80, 60]), np.array(["Degree", "Below Secondary", "Secondary"])
    ).tolist() == ["very high", "very low", "moderate"]
    stages = life_stage(
        np.array([20, 35, 50, 75]),
        np.array(["Single", "Married", "Married", "Widowed"]),
        np.array(["Student", "Professionals", "Professionals", "Retired"]),
        np.array(["Outside Labour Force", "Employed", "Employed", "Outside Labour Force"]),
    )
    assert stages.tolist() == ["student", "young family years", "mid-career", "senior"]


def test_national_shares_close_to_official_tables(full_sample) -> None:
    # independent of the model: Census 2020 religion (15+) and MOM 2024 occupation, computed here from raw shares
    relig = full_sample["religion"].value_counts(normalize=True)
    assert relig["Buddhism"] == pytest.approx(1074159 / 3459093, abs=0.01)
    assert relig["Islam"] == pytest.approx(539251 / 3459093, abs=0.01)
    occ = full_sample.loc[full_sample["labour_force_status"] == "Employed", "occupation"].value_counts(normalize=True)
    assert occ["Professionals"] == pytest.approx(619.9 / 2365.6, abs=0.01)
    assert tvd(np.array([1, 2]), np.array([1, 2])) == 0.0
