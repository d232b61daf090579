"""Each validator rule's false-positive rate on hand-labelled texts from real generations
(``tests/fixtures/narratives/labelled_texts.json``, README beside it): at most 2% per rule, on the texts the rules
were developed on and, separately, on texts labelled after the rules were frozen (``held_out``)."""

import json
from collections import Counter
from pathlib import Path

import pytest

from persona_assets.core.narratives.validate import RULES, check_text
from persona_assets.core.schema import PLANNING_AREAS

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "narratives" / "labelled_texts.json").read_text())
MAX_FALSE_POSITIVE_RATE = 0.02


def measure(split: str | None = None) -> dict[str, dict[str, int]]:
    """Per labelled rule: texts without the violation (negatives), flagged among them (false positives), texts
    with it (positives) and flagged among them (true positives)."""
    counts: dict[str, Counter] = {r: Counter() for r in FIXTURE["labelled_rules"]}
    for t in FIXTURE["texts"]:
        if split and t["split"] != split:
            continue
        flagged = {
            r.split(":")[0] for r in check_text(t["field"], t["text"], FIXTURE["records"][t["uuid"]], PLANNING_AREAS)
        }
        for rule, c in counts.items():
            truth = rule in t["violations"]
            c["positives" if truth else "negatives"] += 1
            if rule in flagged:
                c["true_positives" if truth else "false_positives"] += 1
    return {r: dict(c) for r, c in counts.items()}


def test_the_fixture_is_large_enough_and_names_real_rules() -> None:
    assert len(FIXTURE["texts"]) >= 150
    assert set(FIXTURE["labelled_rules"]) <= set(RULES)
    assert all(set(t["violations"]) <= set(FIXTURE["labelled_rules"]) for t in FIXTURE["texts"])
    assert all(t["uuid"] in FIXTURE["records"] for t in FIXTURE["texts"])


@pytest.mark.parametrize("split", sorted({t["split"] for t in FIXTURE["texts"]}))
def test_false_positive_rate_per_rule_is_at_most_two_percent(split: str) -> None:
    figures = measure(split)
    for rule, c in figures.items():
        rate = c.get("false_positives", 0) / max(1, c.get("negatives", 0))
        print(
            f"{split} {rule}: {c.get('false_positives', 0)}/{c.get('negatives', 0)} false positives ({rate:.1%}), "
            f"{c.get('true_positives', 0)}/{c.get('positives', 0)} violations caught"
        )
        assert rate <= MAX_FALSE_POSITIVE_RATE, (rule, c)
