"""Census fidelity: exact model marginals per area, total variation distance, sample-size tolerances."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from persona_assets.core.model import vocab as V
from persona_assets.core.model.inference import model_joint
from persona_assets.core.model.network import PersonaNetwork

#: Fields compared with the census, and the population each describes.
GROUNDED = (
    "sex",
    "age_group",
    "ethnicity",
    "religion",
    "language_at_home",
    "marital_status",
    "labour_force_status",
    "education_level",
    "occupation",
    "industry",
    "monthly_income_band",
    "dwelling_type",
)
EMPLOYED_FIELDS = ("occupation", "industry", "monthly_income_band")


def tvd(p: np.ndarray, q: np.ndarray) -> float:
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    if p.sum() == 0 or q.sum() == 0:
        return 0.0 if p.sum() == q.sum() else 1.0
    return 0.5 * float(np.abs(p / p.sum() - q / q.sum()).sum())


def tvd_tolerance(expected: np.ndarray, n: int, z: float = 4.0) -> float:
    """A tolerance for the TVD of an n-record sample from ``expected``: the sum of z-sigma binomial deviations
    per category, halved (a deliberately loose bound: fails only for real departures, not sampling noise)."""
    if n <= 0:
        return 1.0
    p = np.asarray(expected, dtype=float) / max(float(np.sum(expected)), 1e-300)
    return 0.5 * float(sum(z * math.sqrt(pi * (1 - pi) / n) for pi in p)) + 1.0 / n


def area_marginals(net: PersonaNetwork, area: str, age_sex: np.ndarray) -> dict[str, np.ndarray]:
    """Exact marginal distribution of every grounded field in ``area`` given its age x sex weights
    (``age_sex[age_group, sex]``), by variable elimination over the network's tables (employed-only fields among
    the employed)."""
    w = np.asarray(age_sex, dtype=float)
    out: dict[str, np.ndarray] = {"sex": w.sum(axis=0), "age_group": w.sum(axis=1)}
    employed = {"labour_force_status": (V.LABOUR_FORCE.index("Employed"),)}
    for field in GROUNDED[2:]:
        out[field] = model_joint(net, area, w, (field,), employed if field in EMPLOYED_FIELDS else None)
    return out


def sample_counts(records: pd.DataFrame, field: str, net: PersonaNetwork) -> np.ndarray:
    cats = V.AGE_GROUPS if field == "age_group" else (V.SEXES if field == "sex" else net.categories(field))
    if field == "age_group":
        values = records["age"].astype(int).map(V.age_group_of)
    elif field in EMPLOYED_FIELDS:
        values = records.loc[records["labour_force_status"] == "Employed", field]
    else:
        values = records[field]
    return values.value_counts().reindex(list(cats), fill_value=0).to_numpy(dtype=float)


def compare(records: pd.DataFrame, expected: dict[str, np.ndarray], net: PersonaNetwork) -> pd.DataFrame:
    """Per grounded field: sample size, TVD between sample and expected shares, and its tolerance."""
    rows = []
    for field in GROUNDED:
        got = sample_counts(records, field, net)
        exp = expected[field]
        n = int(got.sum())
        rows.append(
            {
                "field": field,
                "n": n,
                "tvd": round(tvd(got, exp), 6) if n else 0.0,
                "tolerance": round(tvd_tolerance(exp, n), 6),
                "passed": (not n) or tvd(got, exp) <= tvd_tolerance(exp, n),
            }
        )
    return pd.DataFrame(rows)
