"""Harmonised conditional tables for the persona network, built from the census snapshot.

There are no microdata: every conditional table is a joint count array built from official aggregate tables.
Where a planning-area table meets a national cross-tab, the two are harmonised by iterative proportional fitting
(``persona_assets.core.ipf``), scaled to the June 2025 population aged 15+. Every assumption made where no
official cross-tab exists is written down in ``ASSUMPTIONS`` (keyed by node) and travels into the network's
provenance, the fit report and the dataset card.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from persona_assets.core.ipf import Margin, fit_ipf
from persona_assets.core.model import vocab as V

TOTAL = "Total"
POOLED = "Others"


@dataclass
class NodeTable:
    """A node's joint weights: ``joint[parent_1, …, parent_k, child]`` in persons (June 2025, aged 15+)."""

    name: str
    parents: tuple[str, ...]
    categories: tuple[str, ...]
    joint: np.ndarray
    sources: tuple[str, ...]
    assumptions: tuple[str, ...]
    universe: str = "residents aged 15+"
    diagnostics: dict[str, float] = field(default_factory=dict)


@dataclass
class ModelTables:
    areas: tuple[str, ...]
    regions: dict[str, str]
    nodes: dict[str, NodeTable]


# ------------------------------------------------------------------------------------------ assumptions

ASSUMPTIONS: dict[str, tuple[str, ...]] = {
    "ethnicity": (
        "Ethnicity depends on planning area, age group and sex. The area's ethnic mix by sex (Census 2020) is "
        "raked with the national age x ethnicity x sex structure (GHS 2015) to the area's June 2025 age x sex "
        "counts, which are met exactly.",
        "Areas whose Census 2020 row is empty but have residents in 2025 take the national ethnic mix by sex.",
    ),
    "religion": (
        "Religion is independent of age and sex given planning area and ethnicity (no religion x age table in "
        "the sources).",
        "The GHS 2015 religion x ethnicity table merges Catholic and other Christians; the seed splits "
        "Christianity by the Census 2020 national Catholic : other-Christian ratio.",
        "Census 2020 pools the 25 smallest planning areas as 'Others': those areas share one religion margin.",
    ),
    "language_at_home": (
        "No language x ethnicity table exists in the sources. The seed allows, per ethnic group, only the "
        "languages its members plausibly speak at home (Chinese: English, Mandarin, Chinese dialects, others; "
        "Malay: English, Malay, others; Indian: English, Tamil, other Indian languages, Malay, others; "
        "Others: all); IPF then sets the magnitudes from the area's ethnic mix and its Census 2020 language "
        "margin. This is a modelled structural-zero assumption.",
        "Language is independent of age and sex given planning area and ethnicity. The Census 2020 language "
        "table covers residents aged 5+ (excluding one-person and unrelated-person households); its shares are "
        "applied to the 15+ population.",
    ),
    "marital_status": (
        "National marital status x age x sex for 2024 is derived as MOM LFS 2024 G7 (employed by marital status) "
        "divided by B2 (employment rate); suppressed rates ('s') fall back to the age x sex rate.",
        "MOM publishes widowed and divorced/separated together; the seed splits them evenly and the planning-area "
        "margin (GHS 2015, which separates them by sex) sets the split. The age profile within the two is "
        "therefore the same (no table separates them by age).",
        "Where the GHS 2015 planning-area margins (2015) disagree with the national 2024 structure, the national "
        "2024 table wins (fitted after the planning-area margin); June 2025 age x sex counts are met exactly.",
    ),
    "labour_force_status": (
        "P(employed | age group, sex, marital status) is the MOM LFS 2024 B2 employment rate (widowed and "
        "divorced share the published widowed/divorced rate; suppressed cells use the age x sex rate).",
        "Among the non-employed, the unemployed share by age group and sex is from MOM's labour force status "
        "table for 2023 (latest year in the file).",
        "Labour force status does not depend on planning area given age, sex and marital status.",
    ),
    "education_level": (
        "No population table of qualification by age and sex exists in the sources: the employed residents' "
        "table (MOM LFS 2024 G4) is used as the seed and national structure for everyone, which overstates the "
        "qualifications of older non-employed residents.",
        "The planning-area margin is GHS 2015 (non-student residents 15+), mapped to MOM's five groups: no "
        "qualification, primary and lower secondary -> Below Secondary; polytechnic and professional/other "
        "diploma -> Diploma & Professional Qualification; university -> Degree. The national 2024 structure "
        "wins where they disagree.",
        "Education does not depend on labour force status, occupation or ethnicity beyond what area, age and "
        "sex carry.",
    ),
    "occupation": (
        "Occupation (SSOC major group) is modelled for employed residents only, from MOM 2024 occupation x age x "
        "sex (national) and GHS 2015 occupation by planning area; the national 2024 table wins. MOM's '65 Years & "
        "Over' group is used for both 65-69 and 70+.",
        "Occupation is independent of education given area, age and sex (no occupation x qualification table in "
        "the sources).",
        "Non-employed residents get a status instead of an occupation by rule: Unemployed; outside the labour "
        "force: Student (aged 15-24), National Service (men aged 18-21 outside the labour force), Retired "
        "(aged 60+), Homemaker (women 25-59), Not Working (men 25-59).",
    ),
    "industry": (
        "Industry depends on planning area and occupation: MOM 2024 industry x occupation (national) raked to "
        "the GHS 2015 industry margin of the planning area; the national 2024 table wins where they disagree. "
        "Industry does not depend on age or sex beyond occupation.",
    ),
    "monthly_income_band": (
        "Gross monthly income from work for employed residents, in the GHS 2015 bands (2015 dollars): the only "
        "income distribution by planning area in the sources.",
        "Within an occupation x sex group, income is log-normal with the MOM median for 2015 (full-time employed, "
        "including employer CPF) and one dispersion fitted so that the national mixture matches the GHS 2015 "
        "national band distribution; 'Others' occupations take the employment-weighted geometric mean of the "
        "medians. IPF then fits each planning area's GHS 2015 band margin.",
    ),
    "dwelling_type": (
        "Dwelling type depends on planning area only: GHS 2015 Table 9 persons by planning area x type of "
        "dwelling (the only persons-based table for all 55 areas). Persons shown as '-' and HDB flats outside "
        "the four flat-type columns are left out (the shares are renormalised).",
        "Areas with residents in 2025 but none by dwelling type in 2015 take their region's mix.",
    ),
}


# ------------------------------------------------------------------------------------------ helpers


def _index(values: pd.Series, cats: tuple[str, ...], what: str) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(cats)}
    missing = sorted(set(values) - set(lookup))
    if missing:
        raise ValueError(f"unknown {what}: {missing}")
    return values.map(lookup).to_numpy()


def _age_group_15(age: pd.Series) -> pd.Series:
    return age.astype(int).map(V.age_group_of)


def _ghs_age(label: str) -> str | None:
    """GHS T1 age groups (to 85+) onto ALL_AGE_GROUPS (70+ pools 70-74 … 85+)."""
    if label == TOTAL:
        return None
    lo = int(label.split("-")[0].rstrip("+"))
    return "70+" if lo >= 70 else label


def pa_groups(table_areas: list[str], areas: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """Map each of the 55 areas to a row of a planning-area table (named areas) or its pooled 'Others' row."""
    named = [a for a in table_areas if a not in (TOTAL, POOLED)]
    groups = list(named) + ([POOLED] if POOLED in table_areas else [])
    index = {g: i for i, g in enumerate(groups)}
    out = np.empty(len(areas), dtype=int)
    for i, a in enumerate(areas):
        if a in index:
            out[i] = index[a]
        elif POOLED in index:
            out[i] = index[POOLED]
        else:
            raise ValueError(f"planning area {a!r} is neither named nor pooled in the table")
    return out, groups


def _shares_by_group(
    df: pd.DataFrame, key: str, cats: tuple[str, ...], groups: list[str], mapping: dict[str, str] | None = None
) -> np.ndarray:
    """[group, category] shares from a planning-area table (Total rows dropped), rows summing to 1 (or 0)."""
    d = df[(df["planning_area"].isin(groups)) & (df[key] != TOTAL)].copy()
    if mapping is not None:
        d[key] = d[key].map(mapping)
        d = d.dropna(subset=[key])
    piv = d.pivot_table(index="planning_area", columns=key, values="count", aggfunc="sum", fill_value=0)
    piv = piv.reindex(index=groups, columns=list(cats), fill_value=0).astype(float)
    tot = piv.sum(axis=1).to_numpy()[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, piv.to_numpy() / tot, 0.0)


def _national_shares(
    df: pd.DataFrame, key: str, cats: tuple[str, ...], mapping: dict[str, str] | None = None
) -> np.ndarray:
    d = df[(df["planning_area"] == TOTAL) & (df[key] != TOTAL)].copy()
    if mapping is not None:
        d[key] = d[key].map(mapping)
        d = d.dropna(subset=[key])
    s = d.groupby(key)["count"].sum().reindex(list(cats), fill_value=0).astype(float).to_numpy()
    return s / s.sum()


def _group_margin(shares: np.ndarray, national: np.ndarray, pop_by_area: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Target [group, category] = group shares x the group's 2025 population (national shares where the table
    has nothing for a group that has residents now)."""
    n_groups = shares.shape[0]
    pop = np.bincount(groups, weights=pop_by_area, minlength=n_groups)
    empty = shares.sum(axis=1) == 0
    s = shares.copy()
    s[empty] = national
    return s * pop[:, None]


def _fit(
    name: str, seed: np.ndarray, margins: list[Margin], diagnostics: dict[str, float], max_iter: int = 300
) -> np.ndarray:
    result = fit_ipf(seed, margins, max_iter=max_iter, tol=1e-9)
    diagnostics[f"{name}_ipf_iterations"] = float(result.iterations)
    diagnostics[f"{name}_ipf_converged"] = float(result.converged)
    for m, err in result.max_relative_error.items():
        diagnostics[f"{name}_ipf_error_{m}"] = round(err, 6)
    return result.fitted


# ------------------------------------------------------------------------------------------ builders


def population_15plus(respop: pd.DataFrame, areas: tuple[str, ...]) -> np.ndarray:
    """[area, age_group, sex] residents aged 15+, June 2025 (exact official counts)."""
    d = respop[respop["age"].astype(int) >= 15]
    out = np.zeros((len(areas), len(V.AGE_GROUPS), len(V.SEXES)))
    np.add.at(
        out,
        (
            _index(d["planning_area"], areas, "planning area"),
            _index(_age_group_15(d["age"]), V.AGE_GROUPS, "age group"),
            _index(d["sex"], V.SEXES, "sex"),
        ),
        d["count"].astype(float).to_numpy(),
    )
    return out


def _population_all_ages(respop: pd.DataFrame, areas: tuple[str, ...]) -> np.ndarray:
    ages = respop["age"].astype(int).map(lambda a: V.age_group_of(a) if a >= 15 else f"{a // 5 * 5}-{a // 5 * 5 + 4}")
    out = np.zeros((len(areas), len(V.ALL_AGE_GROUPS), len(V.SEXES)))
    np.add.at(
        out,
        (
            _index(respop["planning_area"], areas, "planning area"),
            _index(ages, V.ALL_AGE_GROUPS, "age"),
            _index(respop["sex"], V.SEXES, "sex"),
        ),
        respop["count"].astype(float).to_numpy(),
    )
    return out


def build_ethnicity(t: dict[str, pd.DataFrame], areas: tuple[str, ...], diag: dict[str, float]) -> NodeTable:
    ghs = t["ghs2015_age_ethnicity_sex"]
    g = ghs[(ghs["age_group"] != TOTAL) & (ghs["ethnicity"] != TOTAL) & (ghs["sex"] != TOTAL)].copy()
    g["ag"] = g["age_group"].map(_ghs_age)
    seed_nat = np.zeros((len(V.ALL_AGE_GROUPS), len(V.SEXES), len(V.ETHNICITIES)))
    np.add.at(
        seed_nat,
        (
            _index(g["ag"], V.ALL_AGE_GROUPS, "age"),
            _index(g["sex"], V.SEXES, "sex"),
            _index(g["ethnicity"], V.ETHNICITIES, "ethnicity"),
        ),
        g["count"].astype(float).to_numpy(),
    )
    pop = _population_all_ages(t["respop_2025"], areas)
    seed = np.broadcast_to(seed_nat, (len(areas), *seed_nat.shape)).copy()
    c = t["census2020_ethnicity_sex"]
    c = c[(c["subzone"] == TOTAL) & (c["ethnicity"] != TOTAL) & (c["sex"] != TOTAL) & (c["planning_area"] != TOTAL)]
    piv = np.zeros((len(areas), len(V.SEXES), len(V.ETHNICITIES)))
    np.add.at(
        piv,
        (
            _index(c["planning_area"], areas, "planning area"),
            _index(c["sex"], V.SEXES, "sex"),
            _index(c["ethnicity"], V.ETHNICITIES, "ethnicity"),
        ),
        c["count"].astype(float).to_numpy(),
    )
    national = piv.sum(axis=0)
    national = national / national.sum(axis=1, keepdims=True)
    tot = piv.sum(axis=2, keepdims=True)
    shares = np.where(tot > 0, piv / np.where(tot > 0, tot, 1), national[None])
    target_pse = shares * pop.sum(axis=1)[:, :, None]  # [area, sex, eth] scaled to 2025 by sex
    fitted = _fit(
        "ethnicity",
        seed,
        [
            Margin((0, 2, 3), target_pse, name="area_sex_ethnicity_census2020"),
            Margin((0, 1, 2), pop, name="area_age_sex_2025"),
        ],
        diag,
    )
    joint = fitted[:, 3:, :, :]  # 15+ only
    return NodeTable(
        "ethnicity",
        ("planning_area", "age_group", "sex"),
        V.ETHNICITIES,
        joint,
        ("census2020_ethnicity_sex", "ghs2015_age_ethnicity_sex", "respop_2025"),
        ASSUMPTIONS["ethnicity"],
    )


def _rake_by_ethnicity(
    name: str,
    seed_nat: np.ndarray,
    census: pd.DataFrame,
    key: str,
    cats: tuple[str, ...],
    areas: tuple[str, ...],
    eth_area: np.ndarray,
    diag: dict[str, float],
) -> np.ndarray:
    """[area, ethnicity, category] raked from a national ethnicity x category seed to the Census 2020 area margin
    (pooled 'Others' areas as one group) and the area's ethnic mix (fitted last)."""
    seed = np.broadcast_to(seed_nat, (len(areas), *seed_nat.shape)).copy()
    groups, names = pa_groups(list(census["planning_area"].unique()), areas)
    shares = _shares_by_group(census, key, cats, names)
    target = _group_margin(shares, _national_shares(census, key, cats), eth_area.sum(axis=1), groups)
    return _fit(
        name,
        seed,
        [
            Margin((0, 2), target, groups={0: groups}, name=f"area_{name}_census2020"),
            Margin((0, 1), eth_area, name="area_ethnicity"),
        ],
        diag,
    )


RELIGION_GHS = {
    "Buddhism": "Buddhism",
    "Taoism": "Taoism",
    "Islam": "Islam",
    "Hinduism": "Hinduism",
    "Sikhism": "Sikhism",
    "Other Religions": "Other Religions",
    "No Religion": "No Religion",
}


def build_religion(
    t: dict[str, pd.DataFrame], areas: tuple[str, ...], eth_area: np.ndarray, diag: dict[str, float]
) -> NodeTable:
    census = t["census2020_religion_pa"]
    nat = census[census["planning_area"] == TOTAL].set_index("religion")["count"].astype(float)
    catholic_share = nat["Catholic"] / (nat["Catholic"] + nat["Other Christians"])
    ghs = t["ghs2015_religion_ethnicity"]
    seed_nat = np.zeros((len(V.ETHNICITIES), len(V.RELIGIONS)))
    for _, r in ghs.iterrows():
        e = V.ETHNICITIES.index(r["ethnicity"])
        if r["religion"] == "Christianity":
            seed_nat[e, V.RELIGIONS.index("Catholic")] += r["count"] * catholic_share
            seed_nat[e, V.RELIGIONS.index("Other Christians")] += r["count"] * (1 - catholic_share)
        else:
            seed_nat[e, V.RELIGIONS.index(RELIGION_GHS[r["religion"]])] += r["count"]
    fitted = _rake_by_ethnicity("religion", seed_nat, census, "religion", V.RELIGIONS, areas, eth_area, diag)
    return NodeTable(
        "religion",
        ("planning_area", "ethnicity"),
        V.RELIGIONS,
        fitted,
        ("census2020_religion_pa", "ghs2015_religion_ethnicity"),
        ASSUMPTIONS["religion"],
    )


LANGUAGE_ALLOWED = {
    "Chinese": ("English", "Mandarin", "Chinese Dialects", "Others"),
    "Malay": ("English", "Malay", "Others"),
    "Indian": ("English", "Tamil", "Other Indian Languages", "Malay", "Others"),
    "Others": V.LANGUAGES,
}


def build_language(
    t: dict[str, pd.DataFrame], areas: tuple[str, ...], eth_area: np.ndarray, diag: dict[str, float]
) -> NodeTable:
    census = t["census2020_language_pa"]
    seed_nat = np.zeros((len(V.ETHNICITIES), len(V.LANGUAGES)))
    for e, langs in LANGUAGE_ALLOWED.items():
        for lang in langs:
            seed_nat[V.ETHNICITIES.index(e), V.LANGUAGES.index(lang)] = 1.0
    fitted = _rake_by_ethnicity("language", seed_nat, census, "language", V.LANGUAGES, areas, eth_area, diag)
    return NodeTable(
        "language_at_home",
        ("planning_area", "ethnicity"),
        V.LANGUAGES,
        fitted,
        ("census2020_language_pa",),
        ASSUMPTIONS["language_at_home"],
    )


MARITAL3 = {"Single": 0, "Married": 1, "Widowed/Divorced": 2}
MARITAL_GROUPS = np.array([0, 1, 2, 2])  # Widowed and Divorced/Separated pool into MOM's Widowed/Divorced


def national_marital_2024(t: dict[str, pd.DataFrame]) -> np.ndarray:
    """[age_group, sex, marital3] resident population 2024 = employed (G7) / employment rate (B2)."""
    emp = t["mom_employed_marital_age_sex"]
    rate = t["mom_employment_rate_age_sex_marital"]
    out = np.zeros((len(V.AGE_GROUPS), len(V.SEXES), 3))
    r = rate.set_index(["sex", "age_group", "marital_status"])["value"]
    for _, row in emp[
        (emp["sex"] != TOTAL) & (emp["age_group"] != TOTAL) & (emp["marital_status"] != TOTAL)
    ].iterrows():
        n = row["count"]
        if pd.isna(n) or n == 0:
            continue
        rv = r.get((row["sex"], row["age_group"], row["marital_status"]))
        if rv is None or pd.isna(rv) or rv == 0:
            rv = r[(row["sex"], row["age_group"], TOTAL)]
        out[V.AGE_GROUPS.index(row["age_group"]), V.SEXES.index(row["sex"]), MARITAL3[row["marital_status"]]] = float(
            n
        ) / (float(rv) / 100.0)
    return out


MARITAL_GHS = {
    "Single": "Single",
    "Married": "Married",
    "Widowed": "Widowed",
    "Divorced/Separated": "Divorced/Separated",
}


def build_marital(
    t: dict[str, pd.DataFrame], areas: tuple[str, ...], pop: np.ndarray, diag: dict[str, float]
) -> NodeTable:
    nat3 = national_marital_2024(t)
    seed_nat = np.concatenate([nat3[:, :, :2], nat3[:, :, 2:] / 2, nat3[:, :, 2:] / 2], axis=2)
    seed = np.broadcast_to(seed_nat, (len(areas), *seed_nat.shape)).copy()
    ghs = t["ghs2015_marital_sex_pa"]
    groups, names = pa_groups(list(ghs["planning_area"].unique()), areas)
    target_pa = np.zeros((len(names), len(V.SEXES), len(V.MARITAL)))
    for s_i, sex in enumerate(V.SEXES):
        d = ghs[ghs["sex"] == sex]
        shares = _shares_by_group(d, "marital_status", V.MARITAL, names, MARITAL_GHS)
        nat = _national_shares(d, "marital_status", V.MARITAL, MARITAL_GHS)
        target_pa[:, s_i, :] = _group_margin(shares, nat, pop[:, :, s_i].sum(axis=1), groups)
    nat_shares = nat3 / nat3.sum(axis=2, keepdims=True)
    target_nat = nat_shares * pop.sum(axis=0)[:, :, None]
    fitted = _fit(
        "marital",
        seed,
        [
            Margin((0, 2, 3), target_pa, groups={0: groups}, name="area_sex_marital_ghs2015"),
            Margin((1, 2, 3), target_nat, groups={3: MARITAL_GROUPS}, name="age_sex_marital_mom2024"),
            Margin((0, 1, 2), pop, name="area_age_sex_2025"),
        ],
        diag,
        max_iter=100,
    )
    return NodeTable(
        "marital_status",
        ("planning_area", "age_group", "sex"),
        V.MARITAL,
        fitted,
        (
            "mom_employed_marital_age_sex",
            "mom_employment_rate_age_sex_marital",
            "ghs2015_marital_sex_pa",
            "respop_2025",
        ),
        ASSUMPTIONS["marital_status"],
    )


def employment_probabilities(t: dict[str, pd.DataFrame]) -> np.ndarray:
    """[age_group, sex, marital4, lfs3] P(labour force status | age group, sex, marital status)."""
    rate = t["mom_employment_rate_age_sex_marital"].set_index(["sex", "age_group", "marital_status"])["value"]
    lfs = t["mom_labour_force_status_age_sex"].set_index(["sex", "age_group", "labour_force_status"])["count"]
    mom_marital = {
        "Single": "Single",
        "Married": "Married",
        "Widowed": "Widowed/Divorced",
        "Divorced/Separated": "Widowed/Divorced",
    }
    out = np.zeros((len(V.AGE_GROUPS), len(V.SEXES), len(V.MARITAL), len(V.LABOUR_FORCE)))
    for a, ag in enumerate(V.AGE_GROUPS):
        for s, sex in enumerate(V.SEXES):
            un = float(lfs[(sex, ag, "unemployed")])
            out_lf = float(lfs[(sex, ag, "outside_labour_force")])
            u_share = un / (un + out_lf) if un + out_lf > 0 else 0.0
            for m, mar in enumerate(V.MARITAL):
                rv = rate.get((sex, ag, mom_marital[mar]))
                if rv is None or pd.isna(rv):
                    rv = rate[(sex, ag, TOTAL)]
                p = float(rv) / 100.0
                out[a, s, m] = (p, (1 - p) * u_share, (1 - p) * (1 - u_share))
    return out


def build_labour_force(t: dict[str, pd.DataFrame], marital: np.ndarray) -> NodeTable:
    probs = employment_probabilities(t)
    pop_asm = marital.sum(axis=0)  # [age, sex, marital]
    return NodeTable(
        "labour_force_status",
        ("age_group", "sex", "marital_status"),
        V.LABOUR_FORCE,
        pop_asm[..., None] * probs,
        ("mom_employment_rate_age_sex_marital", "mom_labour_force_status_age_sex"),
        ASSUMPTIONS["labour_force_status"],
    )


HQA_GHS_TO_MOM = {
    "No Qualification": "Below Secondary",
    "Primary": "Below Secondary",
    "Lower Secondary": "Below Secondary",
    "Secondary": "Secondary",
    "Post-Secondary (Non-Tertiary)": "Post-Secondary (Non-Tertiary)",
    "Polytechnic": "Diploma & Professional Qualification",
    "Professional Qualification and Other Diploma": "Diploma & Professional Qualification",
    "University": "Degree",
}


def _mom_age_sex_table(
    df: pd.DataFrame, key: str, cats: tuple[str, ...], age_map: dict[str, tuple[str, ...]] | None = None
) -> np.ndarray:
    """[age_group, sex, category] from a MOM age x sex table ('na' -> 0)."""
    out = np.zeros((len(V.AGE_GROUPS), len(V.SEXES), len(cats)))
    d = df[(df["sex"] != TOTAL) & (df["age_group"] != TOTAL) & (df[key] != TOTAL)]
    for _, r in d.iterrows():
        v = 0.0 if pd.isna(r["count"]) else float(r["count"])
        for ag in (age_map or {}).get(r["age_group"], (r["age_group"],)):
            out[V.AGE_GROUPS.index(ag), V.SEXES.index(r["sex"]), cats.index(r[key])] += v
    return out


def _rake_with_area_and_national(
    name: str,
    nat: np.ndarray,
    ghs: pd.DataFrame,
    key: str,
    cats: tuple[str, ...],
    areas: tuple[str, ...],
    base: np.ndarray,
    diag: dict[str, float],
    mapping: dict[str, str] | None = None,
) -> np.ndarray:
    """[area, age, sex, category] raked from a national age x sex x category table (seed and national structure,
    scaled to ``base``), a GHS 2015 planning-area margin, and ``base[area, age, sex]`` (met exactly, fitted last).
    The national table wins over the planning-area one where they disagree."""
    seed = np.broadcast_to(nat, (len(areas), *nat.shape)).copy()
    groups, names = pa_groups(list(ghs["planning_area"].unique()), areas)
    shares = _shares_by_group(ghs, key, cats, names, mapping)
    target_pa = _group_margin(shares, _national_shares(ghs, key, cats, mapping), base.sum(axis=(1, 2)), groups)
    tot = nat.sum(axis=2, keepdims=True)
    target_nat = np.where(tot > 0, nat / np.where(tot > 0, tot, 1), 0) * base.sum(axis=0)[:, :, None]
    return _fit(
        name,
        seed,
        [
            Margin((0, 3), target_pa, groups={0: groups}, name=f"area_{name}_ghs2015"),
            Margin((1, 2, 3), target_nat, name=f"age_sex_{name}_mom2024"),
            Margin((0, 1, 2), base, name="area_age_sex_2025" if name == "education" else "area_age_sex_employed"),
        ],
        diag,
        max_iter=100,
    )


def build_education(
    t: dict[str, pd.DataFrame], areas: tuple[str, ...], pop: np.ndarray, diag: dict[str, float]
) -> NodeTable:
    nat = _mom_age_sex_table(t["mom_employed_education_age_sex"], "education", V.EDUCATION)
    fitted = _rake_with_area_and_national(
        "education", nat, t["ghs2015_education_pa"], "education", V.EDUCATION, areas, pop, diag, HQA_GHS_TO_MOM
    )
    return NodeTable(
        "education_level",
        ("planning_area", "age_group", "sex"),
        V.EDUCATION,
        fitted,
        ("mom_employed_education_age_sex", "ghs2015_education_pa", "respop_2025"),
        ASSUMPTIONS["education_level"],
    )


def employed_by_area(marital: np.ndarray, lfs_probs: np.ndarray) -> np.ndarray:
    """[area, age, sex] expected employed residents = sum over marital of pop x P(employed)."""
    return (marital * lfs_probs[None, :, :, :, 0]).sum(axis=3)


def build_occupation(
    t: dict[str, pd.DataFrame], areas: tuple[str, ...], employed: np.ndarray, diag: dict[str, float]
) -> NodeTable:
    nat = _mom_age_sex_table(
        t["mom_employed_occupation_age_sex"], "occupation", V.OCCUPATIONS, {"65+": ("65-69", "70+")}
    )
    fitted = _rake_with_area_and_national(
        "occupation", nat, t["ghs2015_occupation_pa"], "occupation", V.OCCUPATIONS, areas, employed, diag
    )
    return NodeTable(
        "occupation",
        ("planning_area", "age_group", "sex"),
        V.OCCUPATIONS,
        fitted,
        ("mom_employed_occupation_age_sex", "ghs2015_occupation_pa", "mom_employment_rate_age_sex_marital"),
        ASSUMPTIONS["occupation"],
        universe="employed residents aged 15+",
    )


def build_industry(
    t: dict[str, pd.DataFrame], areas: tuple[str, ...], occ_area: np.ndarray, diag: dict[str, float]
) -> NodeTable:
    m = t["mom_employed_industry_occupation"]
    m = m[(m["occupation"] != TOTAL) & (m["industry"] != TOTAL)]
    seed_nat = np.zeros((len(V.OCCUPATIONS), len(V.INDUSTRIES)))
    for _, r in m.iterrows():
        seed_nat[V.OCCUPATIONS.index(r["occupation"]), V.INDUSTRIES.index(r["industry"])] += (
            0.0 if pd.isna(r["count"]) else float(r["count"])
        )
    seed = np.broadcast_to(seed_nat, (len(areas), *seed_nat.shape)).copy()
    ghs = t["ghs2015_industry_pa"]
    groups, names = pa_groups(list(ghs["planning_area"].unique()), areas)
    shares = _shares_by_group(ghs, "industry", V.INDUSTRIES, names)
    target_pa = _group_margin(shares, _national_shares(ghs, "industry", V.INDUSTRIES), occ_area.sum(axis=1), groups)
    nat_tot = seed_nat.sum(axis=1, keepdims=True)
    target_nat = np.where(nat_tot > 0, seed_nat / np.where(nat_tot > 0, nat_tot, 1), 0) * occ_area.sum(axis=0)[:, None]
    fitted = _fit(
        "industry",
        seed,
        [
            Margin((0, 2), target_pa, groups={0: groups}, name="area_industry_ghs2015"),
            Margin((1, 2), target_nat, name="occupation_industry_mom2024"),
            Margin((0, 1), occ_area, name="area_occupation"),
        ],
        diag,
        max_iter=100,
    )
    return NodeTable(
        "industry",
        ("planning_area", "occupation"),
        V.INDUSTRIES,
        fitted,
        ("mom_employed_industry_occupation", "ghs2015_industry_pa"),
        ASSUMPTIONS["industry"],
        universe="employed residents aged 15+",
    )


def _band_probs(median: float, sigma: float) -> np.ndarray:
    edges = list(V.INCOME_EDGES[1:])
    cdf = [0.5 * (1 + math.erf((math.log(e) - math.log(median)) / (sigma * math.sqrt(2)))) for e in edges]
    p = np.diff([0.0, *cdf, 1.0])
    return np.clip(p, 0, None)


def income_medians(t: dict[str, pd.DataFrame], weights_occ_sex: np.ndarray) -> np.ndarray:
    """[occupation, sex] 2015 medians; 'Others' takes the weighted geometric mean of the other groups."""
    med = t["mom_median_income_occupation_sex_2015"].set_index(["occupation", "sex"])["value"]
    out = np.zeros((len(V.OCCUPATIONS), len(V.SEXES)))
    for o, occ in enumerate(V.OCCUPATIONS[:-1]):
        for s, sex in enumerate(V.SEXES):
            out[o, s] = float(med[(occ, sex)])
    w = weights_occ_sex[:-1]
    for s in range(len(V.SEXES)):
        out[-1, s] = math.exp(float((np.log(out[:-1, s]) * w[:, s]).sum() / w[:, s].sum()))
    return out


def fit_income_sigma(medians: np.ndarray, weights: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Dispersion of log income minimising the TVD between the national mixture and the official bands."""
    best = (1.0, 1.0)
    for sigma in np.arange(0.20, 1.50, 0.005):
        mix = sum(
            weights[o, s] * _band_probs(medians[o, s], sigma)
            for o in range(medians.shape[0])
            for s in range(medians.shape[1])
        )
        mix = mix / mix.sum()
        tvd = 0.5 * float(np.abs(mix - target).sum())
        if tvd < best[1]:
            best = (float(round(sigma, 3)), tvd)
    return best


def build_income(
    t: dict[str, pd.DataFrame], areas: tuple[str, ...], occ_sex_area: np.ndarray, diag: dict[str, float]
) -> NodeTable:
    ghs = t["ghs2015_income_employed_pa"]
    target_nat = _national_shares(ghs, "income_band", V.INCOME_BANDS)
    weights = occ_sex_area.sum(axis=0)
    medians = income_medians(t, weights)
    sigma, tvd = fit_income_sigma(medians, weights / weights.sum(), target_nat)
    diag["income_lognormal_sigma"] = sigma
    diag["income_lognormal_national_tvd"] = round(tvd, 5)
    seed_os = np.array(
        [[_band_probs(medians[o, s], sigma) for s in range(len(V.SEXES))] for o in range(len(V.OCCUPATIONS))]
    )  # [occ, sex, band]
    seed = np.broadcast_to(seed_os, (len(areas), *seed_os.shape)).copy()
    groups, names = pa_groups(list(ghs["planning_area"].unique()), areas)
    shares = _shares_by_group(ghs, "income_band", V.INCOME_BANDS, names)
    target_pa = _group_margin(shares, target_nat, occ_sex_area.sum(axis=(1, 2)), groups)
    fitted = _fit(
        "income",
        seed,
        [
            Margin((0, 3), target_pa, groups={0: groups}, name="area_income_ghs2015"),
            Margin((0, 1, 2), occ_sex_area, name="area_occupation_sex"),
        ],
        diag,
    )
    return NodeTable(
        "monthly_income_band",
        ("planning_area", "occupation", "sex"),
        V.INCOME_BANDS,
        fitted,
        ("ghs2015_income_employed_pa", "mom_median_income_occupation_sex_2015"),
        ASSUMPTIONS["monthly_income_band"],
        universe="employed residents aged 15+",
    )


def build_dwelling(
    t: dict[str, pd.DataFrame], areas: tuple[str, ...], regions: dict[str, str], pop: np.ndarray
) -> NodeTable:
    t9 = t["ghs2015_dwelling_persons_pa"]
    d = t9[t9["dwelling_type"].isin(V.DWELLINGS)]
    counts = np.zeros((len(areas), len(V.DWELLINGS)))
    np.add.at(
        counts,
        (_index(d["planning_area"], areas, "planning area"), _index(d["dwelling_type"], V.DWELLINGS, "dwelling")),
        d["count"].astype(float).to_numpy(),
    )
    by_region: dict[str, np.ndarray] = {}
    for i, a in enumerate(areas):
        by_region[regions[a]] = by_region.get(regions[a], 0) + counts[i]
    adults = pop.sum(axis=(1, 2))
    joint = np.zeros_like(counts)
    for i, a in enumerate(areas):
        row = counts[i] if counts[i].sum() > 0 else by_region[regions[a]]
        joint[i] = row / row.sum() * adults[i]
    return NodeTable(
        "dwelling_type",
        ("planning_area",),
        V.DWELLINGS,
        joint,
        ("ghs2015_dwelling_persons_pa",),
        ASSUMPTIONS["dwelling_type"],
    )


def build_model_tables(t: dict[str, pd.DataFrame]) -> ModelTables:
    """All node tables from the census frames (keyed by snapshot table name)."""
    ura = t["ura_planning_areas"].sort_values("planning_area")
    areas = tuple(ura["planning_area"])
    regions = dict(zip(ura["planning_area"], ura["region"], strict=True))
    diag: dict[str, float] = {}
    pop = population_15plus(t["respop_2025"], areas)
    nodes: dict[str, NodeTable] = {}
    nodes["age_sex"] = NodeTable(
        "age_sex",
        ("planning_area",),
        tuple(f"{a}|{s}" for a in V.AGE_GROUPS for s in V.SEXES),
        pop.reshape(len(areas), -1),
        ("respop_2025",),
        ("Official June 2025 counts; allocated, not sampled.",),
    )
    eth = build_ethnicity(t, areas, diag)
    nodes["ethnicity"] = eth
    eth_area = eth.joint.sum(axis=(1, 2))
    nodes["religion"] = build_religion(t, areas, eth_area, diag)
    nodes["language_at_home"] = build_language(t, areas, eth_area, diag)
    marital = build_marital(t, areas, pop, diag)
    nodes["marital_status"] = marital
    lfs = build_labour_force(t, marital.joint)
    nodes["labour_force_status"] = lfs
    nodes["education_level"] = build_education(t, areas, pop, diag)
    employed = employed_by_area(marital.joint, employment_probabilities(t))
    occ = build_occupation(t, areas, employed, diag)
    nodes["occupation"] = occ
    nodes["industry"] = build_industry(t, areas, occ.joint.sum(axis=(1, 2)), diag)
    occ_sex_area = occ.joint.sum(axis=1).transpose(0, 2, 1)  # [area, occ, sex]
    nodes["monthly_income_band"] = build_income(t, areas, occ_sex_area, diag)
    nodes["dwelling_type"] = build_dwelling(t, areas, regions, pop)
    prefixes = {"monthly_income_band": "income", "language_at_home": "language"}
    for n in nodes.values():
        prefix = prefixes.get(n.name, n.name.split("_")[0])
        n.diagnostics = {k: v for k, v in diag.items() if k.startswith(prefix + "_")}
    return ModelTables(areas=areas, regions=regions, nodes=nodes)


def official_references(t: dict[str, pd.DataFrame]) -> dict[str, dict[str, object]]:
    """Un-harmonised official shares per field (national, and by planning area where a table has them), for the
    fit report: {field: {"national": Series, "by_area": DataFrame(area x category), "source", "universe"}}."""

    def pa_table(
        name: str, key: str, cats: tuple[str, ...], mapping: dict[str, str] | None = None, universe: str = ""
    ) -> dict[str, object]:
        return pa_table_filtered(t[name], key, cats, mapping, name, universe)

    ref: dict[str, dict[str, object]] = {
        "religion": pa_table("census2020_religion_pa", "religion", V.RELIGIONS, universe="residents 15+, 2020"),
        "language_at_home": pa_table("census2020_language_pa", "language", V.LANGUAGES, universe="residents 5+, 2020"),
        "education_level": pa_table(
            "ghs2015_education_pa", "education", V.EDUCATION, HQA_GHS_TO_MOM, universe="non-student residents 15+, 2015"
        ),
        "occupation": pa_table(
            "ghs2015_occupation_pa", "occupation", V.OCCUPATIONS, universe="working residents 15+, 2015"
        ),
        "industry": pa_table("ghs2015_industry_pa", "industry", V.INDUSTRIES, universe="working residents 15+, 2015"),
        "monthly_income_band": pa_table(
            "ghs2015_income_employed_pa", "income_band", V.INCOME_BANDS, universe="working residents 15+, 2015"
        ),
    }
    m = t["ghs2015_marital_sex_pa"]
    ref["marital_status"] = pa_table_filtered(
        m[m["sex"] == TOTAL], "marital_status", V.MARITAL, MARITAL_GHS, "ghs2015_marital_sex_pa", "residents 15+, 2015"
    )
    c = t["census2020_ethnicity_sex"]
    c = c[(c["subzone"] == TOTAL) & (c["sex"] == TOTAL)]
    ref["ethnicity"] = pa_table_filtered(
        c, "ethnicity", V.ETHNICITIES, None, "census2020_ethnicity_sex", "residents of all ages, 2020"
    )
    return ref


def pa_table_filtered(
    df: pd.DataFrame, key: str, cats: tuple[str, ...], mapping: dict[str, str] | None, source: str, universe: str
) -> dict[str, object]:
    national = pd.Series(_national_shares(df, key, cats, mapping), index=list(cats))
    named = [a for a in df["planning_area"].unique() if a not in (TOTAL, POOLED)]
    by_area = pd.DataFrame(_shares_by_group(df, key, cats, named, mapping), index=named, columns=list(cats))
    return {"national": national, "by_area": by_area, "source": source, "universe": universe}
