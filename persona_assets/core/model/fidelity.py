"""Census fidelity: exact model marginals per area, total variation distance, and the per-partition test of
the sample against its area's model shares.

**The per-partition test** (``residents_fidelity``, ``compare``): for every grounded field and every category
the model gives a share strictly between 0 and 1, the exact two-sided binomial test of the observed count
(``n`` records of the field's population: all residents, or the employed for occupation, industry and income)
against the model share (``binomial_p_values``: twice the smaller tail, capped at 1). The family of these
``m`` tests (all categories of all fields of the partition) is corrected by Bonferroni: a category fails when
``m × p ≤ FIDELITY_ALPHA``, and the partition fails when any category fails, or when a record falls in a
category the model gives no share at all (an impossible record). Because each test is exact (no normal or
chi-square approximation) and Bonferroni bounds the family, the false-alarm rate of a partition drawn from the
model is at most ``FIDELITY_ALPHA`` at *every* sample size, one record or 30,000; the sampler's balanced
(stratified) draws keep it far lower. The test can fail at every size too: with one record, a record in a
category of model share below ``FIDELITY_ALPHA / (2m)`` (or an impossible one) fails; with ten, three records in
a category of share 1% fail; the more records, the smaller the departure it detects (about 4.5 binomial standard
deviations per category at ``m`` ≈ 100). ``tests/test_fidelity_gate.py`` measures both: the false-alarm rate
over thousands of seeds at sizes 1 to 20,000, and wrong small-area partitions failing.

``tvd_tolerance`` (a loose z-sigma bound on a TVD) remains for the joint cross-tabs of large areas
(``joint.py``), where it is well below 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

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
#: The family-wise false-alarm rate of the per-partition fidelity test: at most the probability that a partition
#: drawn from the model fails, at any sample size. 42 populated areas: at most 4.2% that a correct dataset has one
#: failing partition under independent draws (measured in ``tests/test_fidelity_gate.py``: at most 0.1% of 4,000
#: independent partitions per size from 1 to 20,000 records); the balanced sampler's rate is lower still.
FIDELITY_ALPHA = 0.001


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
    cats = field_categories(net, field)
    if field == "age_group":
        values = records["age"].astype(int).map(V.age_group_of)
    elif field in EMPLOYED_FIELDS:
        values = records.loc[records["labour_force_status"] == "Employed", field]
    else:
        values = records[field]
    return values.value_counts().reindex(list(cats), fill_value=0).to_numpy(dtype=float)


def binomial_p_values(counts: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Exact two-sided binomial p-values of category counts (last axis; any leading axes are independent samples)
    against ``shares``: ``min(1, 2 min(P[X <= k], P[X >= k]))`` with ``X ~ Bin(n, share)`` and ``n`` the sum of
    the counts along the last axis. A count in a category of share 0 gets 0; an empty sample gets 1."""
    from scipy.stats import binom

    counts = np.asarray(counts, dtype=float)
    p = np.asarray(shares, dtype=float)
    p = p / p.sum() if p.sum() > 0 else p
    n = counts.sum(axis=-1, keepdims=True)
    lower = binom.cdf(counts, n, p)
    upper = binom.sf(counts - 1, n, p)
    return np.minimum(1.0, 2.0 * np.minimum(lower, upper))


def _normalised(shares: np.ndarray) -> np.ndarray:
    p = np.asarray(shares, dtype=float)
    return p / p.sum() if p.sum() > 0 else p


def adjusted_p_values(counts: Mapping[str, np.ndarray], expected: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per field, the Bonferroni-adjusted p-value of every category count (module docstring): ``min(1, m × p)``
    with ``m`` the number of categories of share strictly between 0 and 1 over every non-empty field, and 0 for a
    count in a category of share 0. ``counts[field]`` is ``[..., categories]``: leading axes are independent
    partitions (the false-alarm measurement tests thousands at once)."""
    shares = {f: _normalised(expected[f]) for f in counts}
    sizes = {f: np.asarray(counts[f], dtype=float).sum(axis=-1) for f in counts}
    m = sum(((shares[f] > 0) & (shares[f] < 1)).sum() * (sizes[f] > 0) for f in counts)
    m = np.maximum(np.asarray(m, dtype=float), 1.0)[..., None]
    out = {}
    for f, got in counts.items():
        got = np.asarray(got, dtype=float)
        impossible = (shares[f] == 0) & (got > 0)
        out[f] = np.where(impossible, 0.0, np.minimum(1.0, binomial_p_values(got, shares[f]) * m))
    return out


def evaluate_fidelity(
    counts: Mapping[str, np.ndarray],
    expected: Mapping[str, np.ndarray],
    categories: Mapping[str, tuple[str, ...]],
    alpha: float = FIDELITY_ALPHA,
) -> pd.DataFrame:
    """The per-partition fidelity test (module docstring) over the fields of ``counts``: one row per field with
    its size, its TVD to the expected shares (reported, not gated), its least likely category (observed and
    expected counts) with its Bonferroni-adjusted p-value over the whole family, and whether it passed (the
    partition passes when every field does)."""
    adjusted = adjusted_p_values(counts, expected)
    rows = []
    for field, got in counts.items():
        got = np.asarray(got, dtype=float)
        shares = _normalised(expected[field])
        n = int(got.sum())
        worst = int(np.argmin(adjusted[field])) if n else 0
        rows.append(
            {
                "field": field,
                "n": n,
                "tvd": round(tvd(got, shares), 6) if n else 0.0,
                "worst_category": categories[field][worst] if n else "",
                "observed": int(got[worst]) if n else 0,
                "expected": round(float(shares[worst] * n), 3) if n else 0.0,
                "p_adjusted": float(adjusted[field][worst]) if n else 1.0,
                "passed": bool(adjusted[field][worst] > alpha) if n else True,
            }
        )
    return pd.DataFrame(rows)


def field_categories(net: PersonaNetwork, field: str) -> tuple[str, ...]:
    """The categories of a grounded field, in the order of its counts and shares."""
    return V.AGE_GROUPS if field == "age_group" else (V.SEXES if field == "sex" else net.categories(field))


def compare(
    records: pd.DataFrame, expected: dict[str, np.ndarray], net: PersonaNetwork, alpha: float = FIDELITY_ALPHA
) -> pd.DataFrame:
    """The per-partition fidelity test of ``records`` against ``expected`` (the area's model marginals, from
    ``area_marginals``) over every grounded field (``evaluate_fidelity``)."""
    counts = {f: sample_counts(records, f, net) for f in GROUNDED}
    return evaluate_fidelity(counts, expected, {f: field_categories(net, f) for f in GROUNDED}, alpha)


def evaluate_partitions(records: pd.DataFrame, net: PersonaNetwork, pop: np.ndarray) -> pd.DataFrame:
    """The per-partition test (``compare``) of every populated area of ``records`` (``pop``: [area, age group,
    sex] official residents 15+), one row per area with its least likely field and category, sorted from the
    least likely: the dataset-wide view of the ``residents_fidelity`` results."""
    rows = []
    for area, group in records.groupby("planning_area", sort=False):
        table = compare(group, area_marginals(net, str(area), pop[net.areas.index(area)]), net)
        worst = table.sort_values("p_adjusted").iloc[0]
        rows.append(
            {
                "planning_area": area,
                "records": len(group),
                "passed": bool(table["passed"].all()),
                "field": worst["field"],
                "category": worst["worst_category"],
                "observed": int(worst["observed"]),
                "expected": float(worst["expected"]),
                "p_adjusted": float(worst["p_adjusted"]),
            }
        )
    columns = ["planning_area", "records", "passed", "field", "category", "observed", "expected", "p_adjusted"]
    return pd.DataFrame(rows, columns=columns).sort_values(["p_adjusted", "records"], ascending=[True, False])
