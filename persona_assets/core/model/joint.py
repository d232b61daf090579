"""Joint fidelity: for every pair or triple of fields an official cross-tab covers, the synthetic conditional
distribution against the official one and against the model's, nationally and per large planning area.

Each cross-tab is a ``JointSpec``: the child field, the fields it is conditioned on, the official table in the
network's categories (grouped where the table groups them), the universe on each side (persons or household heads,
the year), and whether the network is fitted to it. Per spec and scope the report gives

- ``tvd_synthetic_official``: the mean over the conditioning cells (weighted by the official cell sizes) of the total
  variation distance between the synthetic and the official conditional distributions;
- ``tvd_model_official``: the same for the model (what the network implies, computed exactly);
- ``tvd_synthetic_model`` and its ``tolerance``: the sampler's departure from the model, against the sampling noise
  that the records in each cell allow (four binomial standard deviations per category, as the per-partition gate);
  a joint that departs beyond it fails the dataset-level gate;
- Cramér's V of the official, model and synthetic tables side by side (the strength of the association).

Household-head tables are compared in the heads' universe: each resident aged 25+ is weighted by the headship rate
of their dwelling type (households per resident 15+, GHS 2015); ``tvd_person_level_official`` repeats the comparison
without the weights, which measures the effect of the households-vs-persons mapping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from census_sources.registry import HOUSEHOLD_INCOME_BANDS
from persona_assets.core.model import vocab as V
from persona_assets.core.model.fidelity import tvd, tvd_tolerance
from persona_assets.core.model.inference import area_joints
from persona_assets.core.model.network import PersonaNetwork
from persona_assets.core.model.tables import (
    HQA_GHS_TO_MOM,
    MARITAL_GHS,
    TOTAL,
    _mom_age_sex_table,
    employment_probabilities,
    headship_by_dwelling,
    national_marital_2024,
    non_working_heads_by_dwelling,
    official_dwelling_crosstab,
    outside_labour_force_education_2015,
    unemployed_education_2024,
)

NATIONAL = "Singapore"
ADULT_AGES = tuple(g for g in V.AGE_GROUPS if g not in V.YOUNG_AGE_GROUPS)
ADULT_ACTIVITIES = V.ACTIVITIES[: len(V.OCCUPATIONS) + 1]  # occupations and Not Employed (25+)
PRIVATE = ("Condominiums and Other Apartments", "Landed Properties")
Frames = Mapping[str, pd.DataFrame]


@dataclass(frozen=True)
class JointSpec:
    name: str
    source: str
    child: str
    given: tuple[str, ...]
    official: Callable[[Frames], np.ndarray]  # [given..., child] counts (or shares if official_is_conditional)
    official_universe: str
    synthetic_universe: str
    fitted: str  # how the network uses the table
    where: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # restrictions, by category label
    exclude: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # residents meeting all of these are left out
    head_weighted: bool = False
    official_is_conditional: bool = False
    maps: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # variable -> {network label: reported}
    quantiles: int = 0  # > 0: the (single, ordered) conditioning variable is cut into this many quantile groups

    def labels(self, var: str, net: PersonaNetwork) -> tuple[str, ...]:
        cats = ADULT_ACTIVITIES if var == "activity" else net.categories(var)
        if var in self.maps:
            return tuple(dict.fromkeys(self.maps[var].get(c, c) for c in cats if self.maps[var].get(c, c)))
        return tuple(cats)


# ------------------------------------------------------------------------------------------ official tables


def _counts(df: pd.DataFrame, axes: list[tuple[str, tuple[str, ...]]], value: str = "count", **eq: str) -> np.ndarray:
    """Counts of a tidy table on the given (column, categories) axes, other keys fixed by ``eq``."""
    d = df
    for k, v in eq.items():
        d = d[d[k] == v]
    out = np.zeros([len(c) for _, c in axes])
    for _, r in d.iterrows():
        try:
            idx = tuple(cats.index(r[col]) for col, cats in axes)
        except ValueError:
            continue
        v = r[value]
        out[idx] += 0.0 if pd.isna(v) else float(v)
    return out


def _dwelling_by_education(t: Frames) -> np.ndarray:
    return official_dwelling_crosstab(
        t["ghs2015_dwelling_education_households"], "education", V.EDUCATION, HQA_GHS_TO_MOM
    )


def _dwelling_by_occupation(t: Frames) -> np.ndarray:
    working = official_dwelling_crosstab(t["ghs2015_dwelling_occupation_households"], "occupation", V.OCCUPATIONS)
    return np.vstack([working, non_working_heads_by_dwelling(t)[None, :]])


def _dwelling_by_marital(t: Frames) -> np.ndarray:
    df = t["ghs2015_dwelling_marital_tenancy_households"]
    return official_dwelling_crosstab(df[df["tenancy"] == TOTAL], "marital_status", V.MARITAL, MARITAL_GHS)


def _dwelling_by_religion_sex(t: Frames) -> np.ndarray:
    df = t["ghs2015_dwelling_religion_sex"]
    return np.stack(
        [official_dwelling_crosstab(df, "religion", V.RELIGIONS, sex=s) for s in V.SEXES], axis=1
    )  # [religion, sex, dwelling]


def _dwelling_by_household_income(t: Frames) -> np.ndarray:
    bands = tuple(b for b in HOUSEHOLD_INCOME_BANDS if b not in (TOTAL, "No Employed Person"))
    return _counts(t["census2020_income_dwelling_households"], [("income_band", bands), ("dwelling_type", V.DWELLINGS)])


def _education_by_age_sex_employed(t: Frames) -> np.ndarray:
    return _mom_age_sex_table(t["mom_employed_education_age_sex"], "education", V.EDUCATION)


def _education_by_sex_labour_force(t: Frames) -> np.ndarray:
    return _counts(
        t["mom_labour_force_education_sex"], [("sex", V.SEXES), ("education", V.EDUCATION)]
    )  # [sex, qualification]


def _education_outside_labour_force(t: Frames) -> np.ndarray:
    return outside_labour_force_education_2015(t)


def _education_non_students(t: Frames) -> np.ndarray:
    d = t["ghs2015_education_pa"]
    d = d[(d["planning_area"] == TOTAL) & (d["education"] != TOTAL)]
    return d.groupby(d["education"].map(HQA_GHS_TO_MOM))["count"].sum().reindex(list(V.EDUCATION)).to_numpy(float)


def _unemployed_education(t: Frames) -> np.ndarray:
    return unemployed_education_2024(t)


OCC_AGES = (*V.AGE_GROUPS[:10], "65+")


def _occupation_by_age_sex(t: Frames) -> np.ndarray:
    return _counts(
        t["mom_employed_occupation_age_sex"],
        [("age_group", OCC_AGES), ("sex", V.SEXES), ("occupation", V.OCCUPATIONS)],
    )


def _industry_by_occupation(t: Frames) -> np.ndarray:
    return _counts(t["mom_employed_industry_occupation"], [("occupation", V.OCCUPATIONS), ("industry", V.INDUSTRIES)])


RELIGIONS_GHS = ("Buddhism", "Taoism", "Islam", "Hinduism", "Sikhism", "Christianity", "Other Religions", "No Religion")


def _religion_by_ethnicity(t: Frames) -> np.ndarray:
    return _counts(t["ghs2015_religion_ethnicity"], [("ethnicity", V.ETHNICITIES), ("religion", RELIGIONS_GHS)])


def _ethnicity_by_age_sex(t: Frames) -> np.ndarray:
    df = t["ghs2015_age_ethnicity_sex"].copy()
    df["age_group"] = df["age_group"].map(
        lambda a: "70+" if a != TOTAL and int(a.split("-")[0].rstrip("+")) >= 70 else a
    )
    return _counts(df, [("age_group", V.AGE_GROUPS), ("sex", V.SEXES), ("ethnicity", V.ETHNICITIES)])


def _marital_by_age_sex(t: Frames) -> np.ndarray:
    return national_marital_2024(t)  # [age, sex, Single / Married / Widowed-Divorced]


def _status_by_age_sex(t: Frames) -> np.ndarray:
    return _counts(
        t["mom_labour_force_status_age_sex"],
        [
            ("age_group", V.AGE_GROUPS),
            ("sex", V.SEXES),
            ("labour_force_status", ("employed", "unemployed", "outside_labour_force")),
        ],
    )


def _employment_by_age_sex_marital(t: Frames) -> np.ndarray:
    p = employment_probabilities(t)[..., 0]  # [age, sex, marital]
    return np.stack([p, 1 - p], axis=-1)


POOL_MARITAL = {"Widowed": "Widowed/Divorced", "Divorced/Separated": "Widowed/Divorced"}
POOL_CHRISTIAN = {"Catholic": "Christianity", "Other Christians": "Christianity"}
POOL_65 = {"65-69": "65+", "70+": "65+"}
EMPLOYED_OR_NOT = {"Unemployed": "Not employed", "Outside Labour Force": "Not employed"}
HEADS = "household heads, 2015 (GHS 2015)"
ADULTS_AS_HEADS = "residents 25+, 2025, each weighted by the headship rate of their dwelling type"

JOINTS: tuple[JointSpec, ...] = (
    JointSpec(
        "dwelling_type | education_level",
        "ghs2015_dwelling_education_households",
        "dwelling_type",
        ("education_level",),
        _dwelling_by_education,
        f"resident households by qualification of the head; {HEADS}",
        ADULTS_AS_HEADS,
        "fitted (heads' conditional, mapped to residents 25+)",
        where={"age_group": ADULT_AGES},
        head_weighted=True,
    ),
    JointSpec(
        "dwelling_type | occupation (or not working)",
        "ghs2015_dwelling_occupation_households",
        "dwelling_type",
        ("activity",),
        _dwelling_by_occupation,
        f"resident households by occupation of a working head; not working = all households less those with a "
        f"working head; {HEADS}",
        ADULTS_AS_HEADS,
        "fitted (heads' conditional, mapped to residents 25+)",
        where={"age_group": ADULT_AGES},
        head_weighted=True,
    ),
    JointSpec(
        "dwelling_type | marital_status",
        "ghs2015_dwelling_marital_tenancy_households",
        "dwelling_type",
        ("marital_status",),
        _dwelling_by_marital,
        f"resident households by marital status of the head (tenancy summed); {HEADS}",
        ADULTS_AS_HEADS,
        "not fitted (dwelling does not depend on marital status in the network)",
        where={"age_group": ADULT_AGES},
        head_weighted=True,
    ),
    JointSpec(
        "dwelling_type | religion, sex",
        "ghs2015_dwelling_religion_sex",
        "dwelling_type",
        ("religion", "sex"),
        _dwelling_by_religion_sex,
        "residents 15+ (persons), 2015 (GHS 2015)",
        "residents 15+, 2025",
        "fitted for religion (odds ratios, raked to the 2025 dwelling mix); not by sex",
    ),
    JointSpec(
        "dwelling_type | income quintile",
        "census2020_income_dwelling_households",
        "dwelling_type",
        ("monthly_income_band",),
        _dwelling_by_household_income,
        "resident households with an employed member, by quintile of household income from work; households, 2020 "
        "(Census 2020)",
        "employed residents 25+, 2025, by quintile of their own income from work, weighted as heads",
        "not fitted (a person's own income is not the household's; dwelling depends on income only through "
        "occupation and qualification)",
        where={"age_group": ADULT_AGES, "labour_force_status": ("Employed",)},
        head_weighted=True,
        quantiles=5,
    ),
    JointSpec(
        "education_level | age_group, sex (employed)",
        "mom_employed_education_age_sex",
        "education_level",
        ("age_group", "sex"),
        _education_by_age_sex_employed,
        "employed residents 15+, 2024 (MOM LFS 2024 G4)",
        "employed residents 15+, 2025",
        "fitted (exact)",
        where={"labour_force_status": ("Employed",)},
    ),
    JointSpec(
        "education_level | sex (unemployed)",
        "mom_labour_force_education_sex",
        "education_level",
        ("sex",),
        _unemployed_education,
        "unemployed residents 15+, 2024 (MOM M182271 labour force less G4 employed)",
        "unemployed residents 15+, 2025",
        "fitted (exact)",
        where={"labour_force_status": ("Unemployed",)},
    ),
    JointSpec(
        "education_level (outside the labour force, 25+)",
        "mom_labour_force_education_sex_2015",
        "education_level",
        (),
        _education_outside_labour_force,
        "non-student residents outside the labour force, 2015 (GHS 2015 non-students less MOM 2015 labour force)",
        "residents 25+ outside the labour force, 2025",
        "fitted (exact)",
        where={"age_group": ADULT_AGES, "labour_force_status": ("Outside Labour Force",)},
    ),
    JointSpec(
        "education_level (non-students 15+)",
        "ghs2015_education_pa",
        "education_level",
        (),
        _education_non_students,
        "non-student residents 15+, 2015 (GHS 2015)",
        "residents 15+ other than those 15-24 outside the labour force (students), 2025",
        "differences between planning areas fitted (odds ratios); the national level is 2024/2015 by status",
        exclude={"age_group": V.YOUNG_AGE_GROUPS, "labour_force_status": ("Outside Labour Force",)},
    ),
    JointSpec(
        "occupation | age_group, sex (employed)",
        "mom_employed_occupation_age_sex",
        "occupation",
        ("age_group", "sex"),
        _occupation_by_age_sex,
        "employed residents 15+, 2024 (MOM M182171/81/91; 65+ pooled)",
        "employed residents 15+, 2025",
        "fitted (national wins over the GHS 2015 area margins)",
        where={"labour_force_status": ("Employed",)},
        maps={"age_group": POOL_65},
    ),
    JointSpec(
        "industry | occupation (employed)",
        "mom_employed_industry_occupation",
        "industry",
        ("occupation",),
        _industry_by_occupation,
        "employed residents 15+, 2024 (MOM M182081)",
        "employed residents 15+, 2025",
        "fitted (national wins over the GHS 2015 area margins)",
        where={"labour_force_status": ("Employed",)},
    ),
    JointSpec(
        "religion | ethnicity",
        "ghs2015_religion_ethnicity",
        "religion",
        ("ethnicity",),
        _religion_by_ethnicity,
        "residents 15+, 2015 (GHS 2015, derived by a third party; Christians pooled)",
        "residents 15+, 2025",
        "fitted as seed (the Census 2020 area margins win)",
        maps={"religion": POOL_CHRISTIAN},
    ),
    JointSpec(
        "ethnicity | age_group, sex",
        "ghs2015_age_ethnicity_sex",
        "ethnicity",
        ("age_group", "sex"),
        _ethnicity_by_age_sex,
        "residents 15+, 2015 (GHS 2015 Table 1)",
        "residents 15+, 2025",
        "fitted as seed (the Census 2020 area x sex margins and 2025 age x sex counts win)",
    ),
    JointSpec(
        "marital_status | age_group, sex",
        "mom_employed_marital_age_sex",
        "marital_status",
        ("age_group", "sex"),
        _marital_by_age_sex,
        "residents 15+, 2024 (MOM LFS 2024 G7 / B2; widowed and divorced pooled)",
        "residents 15+, 2025",
        "fitted (national wins over the GHS 2015 area margins)",
        maps={"marital_status": POOL_MARITAL},
    ),
    JointSpec(
        "labour_force_status | age_group, sex",
        "mom_labour_force_status_age_sex",
        "labour_force_status",
        ("age_group", "sex"),
        _status_by_age_sex,
        "residents 15+, 2023 (MOM)",
        "residents 15+, 2025",
        "employment from B2 (2024), unemployed share from this table (2023)",
    ),
    JointSpec(
        "employment | age_group, sex, marital_status",
        "mom_employment_rate_age_sex_marital",
        "labour_force_status",
        ("age_group", "sex", "marital_status"),
        _employment_by_age_sex_marital,
        "residents 15+, 2024 (MOM LFS 2024 B2 employment rates; suppressed cells at the age x sex rate)",
        "residents 15+, 2025",
        "fitted (exact)",
        official_is_conditional=True,
        maps={"labour_force_status": EMPLOYED_OR_NOT},
    ),
)


# ------------------------------------------------------------------------------------------ synthetic side


def activity_of(records: pd.DataFrame) -> pd.Series:
    """The network's ``activity`` recode of decoded records (occupation of the employed aged 25+, ...)."""
    young = records["age"].astype(int) < 25
    employed = records["labour_force_status"] == "Employed"
    out = np.where(young, V.AGED_15_24, np.where(employed, records["occupation"], V.NOT_EMPLOYED_25))
    return pd.Series(out, index=records.index)


def _column(records: pd.DataFrame, var: str) -> pd.Series:
    if var in records.columns:
        return records[var]
    if var == "age_group":
        return records["age"].astype(int).map(V.age_group_of)
    if var == "activity":
        return activity_of(records)
    return records[var]


def _grouping(spec: JointSpec, var: str, net: PersonaNetwork) -> np.ndarray:
    """[network category, reported category] 0/1 matrix (activity: only the working-age groups are reported)."""
    cats = net.categories(var)
    labels = spec.labels(var, net)
    m = np.zeros((len(cats), len(labels)))
    for i, c in enumerate(cats):
        lab = spec.maps.get(var, {}).get(c, c)
        if lab in labels:
            m[i, labels.index(lab)] = 1.0
    return m


def synthetic_counts(
    records: pd.DataFrame, spec: JointSpec, net: PersonaNetwork, headship: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """(weighted counts, squared-weight sums) over [given..., child] in reported categories, and the records."""
    mask = pd.Series(True, index=records.index)
    for var, cats in spec.where.items():
        mask &= _column(records, var).isin(cats)
    if spec.exclude:
        excluded = pd.Series(True, index=records.index)
        for var, cats in spec.exclude.items():
            excluded &= _column(records, var).isin(cats)
        mask &= ~excluded
    sub = records[mask]
    variables = (*spec.given, spec.child)
    shape = [len(spec.labels(v, net)) for v in variables]
    weights = headship[sub["dwelling_type"].map(V.DWELLINGS.index).to_numpy()] if spec.head_weighted else None
    w = np.ones(len(sub)) if weights is None else weights
    idx = []
    keep = np.ones(len(sub), dtype=bool)
    for v in variables:
        labels = spec.labels(v, net)
        mapping = spec.maps.get(v, {})
        lookup = {c: labels.index(mapping.get(c, c)) for c in net.categories(v) if mapping.get(c, c) in labels}
        codes = _column(sub, v).map(lookup)
        keep &= codes.notna().to_numpy()
        idx.append(codes.fillna(0).astype(int).to_numpy())
    counts, squares = np.zeros(shape), np.zeros(shape)
    where = tuple(i[keep] for i in idx)
    np.add.at(counts, where, w[keep])
    np.add.at(squares, where, w[keep] ** 2)
    return counts, squares, int(keep.sum())


def model_counts(net: PersonaNetwork, spec: JointSpec, age_sex_by_area: np.ndarray, headship: np.ndarray) -> np.ndarray:
    """The network's exact joint over [area, given..., child] (reported categories) for every planning area
    (``age_sex_by_area[area, age, sex]``); sum over the first axis for the national table."""
    keep = (*spec.given, spec.child)

    def joint(restrict: Mapping[str, tuple[str, ...]]) -> np.ndarray:
        codes = {v: tuple(net.categories(v).index(c) for c in cats) for v, cats in restrict.items()}
        return area_joints(net, age_sex_by_area, keep, codes)

    j = joint(spec.where)
    if spec.exclude:
        j = j - joint({**spec.where, **spec.exclude})
    if spec.head_weighted:
        j = j * headship.reshape([1] + [-1 if v == "dwelling_type" else 1 for v in keep])
    for axis, var in enumerate(keep, start=1):
        j = np.moveaxis(np.tensordot(j, _grouping(spec, var, net), axes=(axis, 0)), -1, axis)
    return j


# ------------------------------------------------------------------------------------------ comparison


def to_quantile_groups(counts: np.ndarray, k: int) -> np.ndarray:
    """[ordered band, child] counts -> [quantile group, child]: each band is split between the groups its share of
    the distribution spans (uniform within the band)."""
    band = counts.sum(axis=1)
    cum = np.concatenate([[0.0], np.cumsum(band) / band.sum()])
    out = np.zeros((k, counts.shape[1]))
    for q in range(k):
        lo, hi = q / k, (q + 1) / k
        for b in range(len(band)):
            if band[b] <= 0:
                continue
            overlap = max(0.0, min(hi, cum[b + 1]) - max(lo, cum[b])) / (cum[b + 1] - cum[b])
            out[q] += overlap * counts[b]
    return out


def _as_cells(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, x.shape[-1])


def _conditional(x: np.ndarray) -> np.ndarray:
    tot = x.sum(axis=-1, keepdims=True)
    return np.where(tot > 0, x / np.where(tot > 0, tot, 1), 0.0)


def cramers_v(joint: np.ndarray) -> float:
    """Cramér's V of a two-way table (the conditioning cells against the child), from its proportions."""
    p = _as_cells(np.asarray(joint, dtype=float))
    p = p[p.sum(axis=1) > 0][:, p.sum(axis=0) > 0]
    if p.size == 0 or min(p.shape) < 2:
        return 0.0
    p = p / p.sum()
    expected = p.sum(axis=1, keepdims=True) * p.sum(axis=0, keepdims=True)
    phi2 = float(((p - expected) ** 2 / expected).sum())
    return math.sqrt(phi2 / (min(p.shape) - 1))


def mean_tvd(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """(weighted mean, max) over conditioning cells of the TVD between the conditionals of ``a`` and ``b``."""
    ca, cb, w = _as_cells(a), _as_cells(b), weights.reshape(-1)
    ok = (ca.sum(axis=1) > 0) & (cb.sum(axis=1) > 0) & (w > 0)
    if not ok.any():
        return 0.0, 0.0
    d = np.array([tvd(x, y) for x, y in zip(ca[ok], cb[ok], strict=True)])
    return float((d * w[ok]).sum() / w[ok].sum()), float(d.max())


def compare(
    spec: JointSpec, synthetic: np.ndarray, squares: np.ndarray, n: int, model: np.ndarray, official: np.ndarray
) -> dict[str, object]:
    """The metrics of one cross-tab in one scope (all arrays [given..., child] in reported categories)."""
    if spec.quantiles:
        synthetic, model = to_quantile_groups(synthetic, spec.quantiles), to_quantile_groups(model, spec.quantiles)
        squares = synthetic * 0  # quantile groups mix bands: effective sizes from the totals below
        official = to_quantile_groups(official, spec.quantiles)
    given_syn = synthetic.sum(axis=-1)
    off_joint = official * given_syn[..., None] if spec.official_is_conditional else official
    off_weights = given_syn if spec.official_is_conditional else official.sum(axis=-1)
    sq_sum = np.asarray(squares.sum(axis=-1), dtype=float)
    given_syn = np.asarray(given_syn, dtype=float)
    n_eff_cells = np.divide(given_syn**2, sq_sum, out=given_syn.copy(), where=sq_sum > 0)
    tol_cells = np.array(
        [
            tvd_tolerance(m, int(n)) if n >= 1 else 0.0
            for m, n in zip(_as_cells(model), n_eff_cells.reshape(-1), strict=True)
        ]
    )
    model_weights = model.sum(axis=-1).reshape(-1)
    counted = (n_eff_cells.reshape(-1) >= 1) & (model_weights > 0)
    syn_model, _ = mean_tvd(synthetic, model, np.where(counted, model_weights, 0))
    tolerance = (
        float((tol_cells * model_weights)[counted].sum() / model_weights[counted].sum()) if counted.any() else 1.0
    )
    syn_off, max_off = mean_tvd(synthetic, off_joint, off_weights)
    mod_off, _ = mean_tvd(model, off_joint, off_weights)
    return {
        "n": n,
        "tvd_synthetic_official": round(syn_off, 6),
        "max_cell_tvd_synthetic_official": round(max_off, 6),
        "tvd_model_official": round(mod_off, 6),
        "tvd_synthetic_model": round(syn_model, 6),
        "tolerance": round(tolerance, 6),
        "passed": bool(syn_model <= tolerance),
        "cramers_v_official": round(cramers_v(off_joint), 4),
        "cramers_v_model": round(cramers_v(model), 4),
        "cramers_v_synthetic": round(cramers_v(synthetic), 4),
    }


@dataclass
class JointReport:
    table: pd.DataFrame  # one row per cross-tab and scope
    conditionals: pd.DataFrame  # national official / model / synthetic conditionals, long
    official: dict[str, np.ndarray]  # national official arrays by cross-tab (reported categories)


def _cell_labels(spec: JointSpec, net: PersonaNetwork, n_cells: int) -> list[str]:
    if spec.quantiles:
        return [f"Q{q + 1}" for q in range(spec.quantiles)]
    if not spec.given:
        return ["all"]
    grids = np.meshgrid(*[np.arange(len(spec.labels(v, net))) for v in spec.given], indexing="ij")
    flat = [g.reshape(-1) for g in grids]
    return [
        " / ".join(spec.labels(v, net)[f[i]] for v, f in zip(spec.given, flat, strict=True)) for i in range(n_cells)
    ]


def build_joint_report(
    records: pd.DataFrame,
    net: PersonaNetwork,
    t: Frames,
    age_sex_by_area: np.ndarray,
    min_area_records: int = 1000,
    specs: tuple[JointSpec, ...] = JOINTS,
) -> JointReport:
    """Every cross-tab, nationally and for each planning area with at least ``min_area_records`` records."""
    headship = headship_by_dwelling(t)
    records = records.assign(age_group=_column(records, "age_group"), activity=activity_of(records))
    by_area = dict(tuple(records.groupby("planning_area", sort=False)))
    large = [a for a in net.areas if a in by_area and len(by_area[a]) >= min_area_records]
    rows, long_rows, officials = [], [], {}
    for spec in specs:
        official = spec.official(t)
        officials[spec.name] = official
        base = {
            "joint": spec.name,
            "source": spec.source,
            "official_universe": spec.official_universe,
            "synthetic_universe": spec.synthetic_universe,
            "fitted": spec.fitted,
        }
        syn, sq, n = synthetic_counts(records, spec, net, headship)
        by_area_model = model_counts(net, spec, age_sex_by_area, headship)
        model = by_area_model.sum(axis=0)
        metrics = compare(spec, syn, sq, n, model, official)
        if spec.head_weighted:
            plain = JointSpec(**{**spec.__dict__, "head_weighted": False})
            p_syn, p_sq, p_n = synthetic_counts(records, plain, net, headship)
            p_model = model_counts(net, plain, age_sex_by_area, headship).sum(axis=0)
            metrics["tvd_person_level_official"] = compare(plain, p_syn, p_sq, p_n, p_model, official)[
                "tvd_synthetic_official"
            ]
        rows.append({"scope": NATIONAL, **base, **metrics})
        s_c, m_c = syn, model
        o_c = official
        if spec.quantiles:
            s_c, m_c, o_c = (to_quantile_groups(x, spec.quantiles) for x in (syn, model, official))
        o_cond = o_c if spec.official_is_conditional else _conditional(o_c)
        labels = _cell_labels(spec, net, _as_cells(s_c).shape[0])
        child_labels = spec.labels(spec.child, net)
        for i, cell in enumerate(labels):
            for j, cat in enumerate(child_labels):
                long_rows.append(
                    {
                        "joint": spec.name,
                        "given": cell,
                        "category": cat,
                        "official": float(_as_cells(o_cond)[i, j]),
                        "model": float(_as_cells(_conditional(m_c))[i, j]),
                        "synthetic": float(_as_cells(_conditional(s_c))[i, j]),
                    }
                )
        for area in large:
            syn_a, sq_a, n_a = synthetic_counts(by_area[area], spec, net, headship)
            model_a = by_area_model[net.areas.index(area)]
            rows.append({"scope": area, **base, **compare(spec, syn_a, sq_a, n_a, model_a, official)})
    return JointReport(pd.DataFrame(rows), pd.DataFrame(long_rows), officials)


def joint_gate(table: pd.DataFrame) -> tuple[bool, pd.DataFrame]:
    """The dataset-level gate: every cross-tab, in every scope, within its sampling tolerance of the model."""
    failed = table[~table["passed"].astype(bool)]
    return failed.empty, failed


def private_housing_ratio(records: pd.DataFrame, head_weighted: bool = False, t: Frames | None = None) -> float:
    """Share in condominiums or landed homes of degree holders over that of residents below secondary, aged 25+."""
    adults = records[records["age"].astype(int) >= 25]
    w = np.ones(len(adults))
    if head_weighted:
        if t is None:
            raise ValueError("head weighting needs the census frames")
        w = headship_by_dwelling(t)[adults["dwelling_type"].map(V.DWELLINGS.index).to_numpy()]
    private = adults["dwelling_type"].isin(PRIVATE).to_numpy()

    def share(level: str) -> float:
        m = (adults["education_level"] == level).to_numpy()
        return float((w * private)[m].sum() / w[m].sum())

    return share("Degree") / share("Below Secondary")


def official_private_housing_ratio(t: Frames) -> float:
    heads = _conditional(_dwelling_by_education(t))
    private = [V.DWELLINGS.index(d) for d in PRIVATE]
    return float(heads[-1, private].sum() / heads[0, private].sum())


def coherence_figures(records: pd.DataFrame, t: Frames) -> dict[str, float]:
    """The figures of issue 15: how far the records hold together on qualification, occupation and housing."""
    employed = records[records["labour_force_status"] == "Employed"]

    def degree_share(df: pd.DataFrame) -> float:
        return round(float((df["education_level"] == "Degree").mean()), 4)

    return {
        "private_housing_ratio_degree_vs_below_secondary_25plus": round(private_housing_ratio(records), 3),
        "private_housing_ratio_head_weighted": round(private_housing_ratio(records, True, t), 3),
        "private_housing_ratio_official_heads_2015": round(official_private_housing_ratio(t), 3),
        "degree_share_cleaners_labourers": degree_share(
            employed[employed["occupation"] == "Cleaners, Labourers & Related Workers"]
        ),
        "degree_share_plant_machine_operators": degree_share(
            employed[employed["occupation"] == "Plant & Machine Operators & Assemblers"]
        ),
        "degree_share_65plus": degree_share(records[records["age"].astype(int) >= 65]),
        "degree_share_15plus": degree_share(records),
    }


# ------------------------------------------------------------------------------------------ heat maps


def render_heatmaps(conditionals: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    """Per cross-tab, official | synthetic | synthetic - official conditional shares (rows: conditioning cells)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, d in conditionals.groupby("joint", sort=False):
        rows = list(dict.fromkeys(d["given"]))
        cols = list(dict.fromkeys(d["category"]))
        grid = {
            k: d.pivot(index="given", columns="category", values=k).reindex(index=rows, columns=cols)
            for k in ("official", "synthetic")
        }
        diff = grid["synthetic"] - grid["official"]
        fig, axes = plt.subplots(
            1, 3, figsize=(min(24, 4 + 1.1 * len(cols) * 3), max(2.5, 0.3 * len(rows) + 1.8)), sharey=True
        )
        panels = (
            ("official", grid["official"], "viridis", 0, None),
            ("synthetic", grid["synthetic"], "viridis", 0, None),
        )
        vmax = float(np.nanmax([grid["official"].to_numpy(), grid["synthetic"].to_numpy()]))
        for ax, (title, g, cmap, lo, _) in zip(axes[:2], panels, strict=True):
            im = ax.imshow(g.to_numpy(), aspect="auto", cmap=cmap, vmin=lo, vmax=vmax)
            ax.set_title(title, fontsize=9)
        lim = max(0.01, float(np.nanmax(np.abs(diff.to_numpy()))))
        im2 = axes[2].imshow(diff.to_numpy(), aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[2].set_title("synthetic - official", fontsize=9)
        for ax in axes:
            ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=7)
        axes[0].set_yticks(range(len(rows)), rows, fontsize=7)
        fig.colorbar(im, ax=axes[:2], fraction=0.025)
        fig.colorbar(im2, ax=axes[2], fraction=0.05)
        fig.suptitle(name, fontsize=10)
        slug = "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")
        path = out_dir / f"joint__{slug}.png"
        fig.savefig(path, format="png", dpi=80, bbox_inches="tight")
        plt.close(fig)
        paths[str(name)] = path
    return paths
