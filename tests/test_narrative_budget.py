"""The narrative budget (``records_per_partition``): a count per partition, ``all``, or ``N in all`` spread over
the planning areas by population (the most populous first), and what make run's default narrates."""

from __future__ import annotations

import pandas as pd
import pytest

from persona_assets.core.dataset_settings import (
    DEFAULT_RECORDS_PER_PARTITION,
    NarrativeBudget,
    parse_budget,
)
from persona_assets.core.narratives.plan import count_budget

POPULATION = {"Bedok": 240_000, "Tampines": 230_000, "Jurong West": 220_000, "Bishan": 80_000, "Seletar": 0}


def test_the_three_forms_parse() -> None:
    assert parse_budget("3") == NarrativeBudget(per_partition=3)
    assert parse_budget(0) == NarrativeBudget(per_partition=0) and parse_budget("0").is_zero
    assert parse_budget(" ALL ") == NarrativeBudget()
    assert parse_budget("12 in all") == parse_budget("12  IN  ALL") == NarrativeBudget(in_all=12)
    assert parse_budget("0 in all").is_zero and not parse_budget("all").is_zero


@pytest.mark.parametrize("bad", ["-1", "1.5", "twelve", "12 in", "in all", "12 per area", ""])
def test_anything_else_is_refused_with_the_forms_named(bad: str) -> None:
    with pytest.raises(ValueError, match=r"whole number, 'all' or 'N in all'"):
        parse_budget(bad)


def test_n_in_all_goes_to_the_most_populous_areas_first_and_sums_to_n() -> None:
    assert parse_budget("2 in all").allocate(POPULATION) == {
        "Bedok": 1,
        "Tampines": 1,
        "Jurong West": 0,
        "Bishan": 0,
        "Seletar": 0,
    }
    five = parse_budget("5 in all").allocate(POPULATION)
    assert sum(five.values()) == 5 and five["Seletar"] == 0 and five["Bedok"] >= five["Bishan"]
    assert parse_budget("4").allocate(POPULATION) == dict.fromkeys(POPULATION, 4)
    assert parse_budget("all").allocate(POPULATION) == dict.fromkeys(POPULATION)


def test_the_plan_counts_the_budget_within_each_areas_allocation() -> None:
    areas = pd.DataFrame({"planning_area": list(POPULATION), "residents_15plus": list(POPULATION.values())})
    assert count_budget(areas, 1_000, parse_budget("3 in all")) == 3
    assert count_budget(areas, 1_000, parse_budget("2")) == 8  # 2 in each of the 4 populated areas
    assert count_budget(areas, 1_000, parse_budget("all")) == 1_000
    assert count_budget(areas, 2, parse_budget("5 in all")) == 2  # never more than the residents there are


def test_make_runs_default_is_a_spread_budget() -> None:
    """Sized from benchmarks/results/bench_local_narration.json (the README says how): a number in all, not one
    per partition (42 populated areas are far more than 20 minutes of the embedded model on 2 cores)."""
    budget = parse_budget(DEFAULT_RECORDS_PER_PARTITION)
    assert budget.in_all is not None and 1 <= budget.in_all <= 42
