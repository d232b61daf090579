"""Derived fields. No official table grounds these; the rules are modelled assumptions, named as such in the
network's metadata and the dataset card.

- ``big_five``: each trait a T-score ~ N(50, 10), rounded and clipped to [20, 80], labelled very low (20-34),
  low (35-44), average (45-54), high (55-64), very high (65-80): the recipe NVIDIA published for its persona
  pipeline. Independent of every other field.
- ``occupation`` for residents who are not employed: a status by rule (see ``status_for``).
- ``digital_familiarity``: a score from age band and qualification (see ``digital_familiarity``).
- ``life_stage``: from age, marital status and occupation/status (see ``life_stage``).
- ``region``: the planning area's URA MP2019 region; ``country``: Singapore.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from persona_assets.core.model import vocab as V

BIG_FIVE_TRAITS = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")
BIG_FIVE_LABELS = ((20, 34, "very low"), (35, 44, "low"), (45, 54, "average"), (55, 64, "high"), (65, 80, "very high"))
DIGITAL_LEVELS = ("very low", "low", "moderate", "high", "very high")
STATUSES = ("Unemployed", "Student", "National Service", "Retired", "Homemaker", "Not Working")
#: Labels of ``life_stage``, in the order its rules are tried (the last one is the default).
LIFE_STAGES = (
    "student",
    "national service",
    "young adult",
    "young family years",
    "established single adult",
    "mid-career",
    "midlife at home",
    "pre-retirement / active senior",
    "senior",
)

DERIVED_ASSUMPTIONS = (
    "big_five: five T-scores ~ N(50, 10), rounded, clipped to [20, 80], labelled in bands of the T-score "
    "(NVIDIA's published recipe); independent of every other field.",
    "occupation of non-employed residents (rule, no table): Unemployed if unemployed; outside the labour force: "
    "National Service for men aged 18-21, Student for ages 15-24, Retired for 60+, Homemaker for women 25-59, "
    "Not Working for men 25-59.",
    "digital_familiarity (rule, no table): age band 15-34 -> 4, 35-49 -> 3, 50-64 -> 2, 65-74 -> 1, 75+ -> 0; "
    "+1 for a degree or diploma, -1 below secondary; clipped to 0-4 and named very low … very high.",
    "life_stage (rule, no table): student / national service; young adult (< 30, single); "
    "young family years (< 45, married or formerly married); mid-career (45-59 working or seeking work); "
    "midlife at home (45-59 otherwise); pre-retirement / active senior (60-69); senior (70+); "
    "established single adult (30-44 single).",
)


def big_five(n: int, rng: np.random.Generator) -> list[dict[str, dict[str, object]]]:
    scores = np.clip(np.rint(rng.normal(50.0, 10.0, size=(n, len(BIG_FIVE_TRAITS)))), 20, 80).astype(int)
    edges = np.array([lo for lo, _, _ in BIG_FIVE_LABELS])
    labels = np.array([lab for _, _, lab in BIG_FIVE_LABELS], dtype=object)
    idx = np.searchsorted(edges, scores, side="right") - 1
    return [
        {t: {"t_score": int(scores[i, j]), "label": str(labels[idx[i, j]])} for j, t in enumerate(BIG_FIVE_TRAITS)}
        for i in range(n)
    ]


def status_for(age: np.ndarray, sex: np.ndarray, lfs: np.ndarray) -> np.ndarray:
    """Occupation-field status for non-employed residents (None for the employed)."""
    out = np.full(len(age), None, dtype=object)
    unemployed = lfs == "Unemployed"
    outside = lfs == "Outside Labour Force"
    out[unemployed] = "Unemployed"
    male = sex == "Male"
    rules = [
        (outside & male & (age >= 18) & (age <= 21), "National Service"),
        (outside & (age <= 24), "Student"),
        (outside & (age >= 60), "Retired"),
        (outside & ~male & (age >= 25) & (age <= 59), "Homemaker"),
        (outside & male & (age >= 25) & (age <= 59), "Not Working"),
    ]
    assigned = np.zeros(len(age), dtype=bool)
    for mask, label in rules:
        m = mask & ~assigned
        out[m] = label
        assigned |= m
    return out


def digital_familiarity(age: np.ndarray, education: np.ndarray) -> np.ndarray:
    base = np.select([age < 35, age < 50, age < 65, age < 75], [4, 3, 2, 1], default=0)
    bonus = np.where(
        np.isin(education, ["Degree", "Diploma & Professional Qualification"]),
        1,
        np.where(education == "Below Secondary", -1, 0),
    )
    score = np.clip(base + bonus, 0, 4)
    return np.asarray(DIGITAL_LEVELS, dtype=object)[score]


def life_stage(age: np.ndarray, marital: np.ndarray, occupation: np.ndarray, lfs: np.ndarray) -> np.ndarray:
    working = np.isin(lfs, ["Employed", "Unemployed"])
    conds = [
        occupation == "Student",
        occupation == "National Service",
        (age < 30) & (marital == "Single"),
        (age < 45) & (marital != "Single"),
        (age < 45),
        (age < 60) & working,
        (age < 60),
        (age < 70),
    ]
    return np.select(conds, list(LIFE_STAGES[:-1]), default=LIFE_STAGES[-1]).astype(object)


def add_derived_fields(records: pd.DataFrame, region: str, rng: np.random.Generator) -> pd.DataFrame:
    """Fill region, occupation status, digital_familiarity, life_stage, big_five and country."""
    age = records["age"].to_numpy()
    out = records.copy()
    out["region"] = region
    status = status_for(age, out["sex"].to_numpy(), out["labour_force_status"].to_numpy())
    out["occupation"] = np.where(out["occupation"].isna(), status, out["occupation"])
    out["digital_familiarity"] = digital_familiarity(age, out["education_level"].to_numpy())
    out["life_stage"] = life_stage(
        age, out["marital_status"].to_numpy(), out["occupation"].to_numpy(), out["labour_force_status"].to_numpy()
    )
    out["big_five"] = big_five(len(out), rng)
    out["country"] = "Singapore"
    return out


__all__ = ["V"]
