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

from persona_assets.core.ipf import Margin, conditional, fit_ipf
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
        "Qualification depends on planning area, age group, sex and labour force status. Employed residents take "
        "MOM LFS 2024 G4 (qualification x age x sex of the employed) exactly; unemployed residents the MOM 2024 "
        "labour force by qualification and sex (M182271) less the employed (G4), by sex; residents aged 25+ outside "
        "the labour force the GHS 2015 qualification of non-students 15+ less the MOM 2015 labour force by "
        "qualification (M182271, 2015): the only table that covers people who do not work.",
        "Within those slices the age and sex profile is the employed's (G4): among the non-employed aged 25+ only "
        "the overall qualification mix is official, and it is 2015's (older than the 2025 population; the "
        "non-students of GHS 2015 include some people under 25 and the 2015 labour force some working students).",
        "Residents aged 15-24 outside the labour force (mostly students; GHS excludes students) take the "
        "employed's qualification at the same age and sex: no table covers students' highest qualification.",
        "The planning-area mix is GHS 2015 (non-students 15+), mapped to MOM's five groups (no qualification, "
        "primary and lower secondary -> Below Secondary; polytechnic and professional/other diploma -> Diploma & "
        "Professional Qualification; university -> Degree) and used for its differences between areas (odds "
        "ratios), raked to the 2025 national level; the national slices above win where they disagree.",
        "Qualification does not depend on ethnicity or marital status beyond what area, age, sex and labour force "
        "status carry.",
    ),
    "occupation": (
        "Occupation (SSOC major group) is modelled for employed residents only, from MOM 2024 occupation x age x "
        "sex (national) and GHS 2015 occupation by planning area; the national 2024 table wins. MOM's '65 Years & "
        "Over' group is used for both 65-69 and 70+.",
        "Occupation is independent of qualification given area, age and sex: no occupation x qualification table "
        "is in the sources (MOM's Labour Force in Singapore Section D has one; it is not among the raw files).",
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
    "activity": (
        "A deterministic recode the dwelling table conditions on (not a record field): the occupation of employed "
        "residents aged 25+, 'Not Employed (25+)' for other residents aged 25+, 'Aged 15-24' for younger residents.",
    ),
    "dwelling_type": (
        "Dwelling type depends on planning area, qualification, occupation (or not working) and religion, from "
        "four GHS 2015 tables: residents by planning area x dwelling (Table 9, persons of all ages, all 55 areas; "
        "persons shown as '-' and HDB flats outside the four flat types left out; areas with residents in 2025 but "
        "none in 2015 take their region's mix), residents 15+ by dwelling x religion (persons), and households by "
        "dwelling x qualification and x occupation of the head.",
        "Households vs persons: the qualification and occupation tables count household heads. Mapping: a "
        "resident aged 25+ relates to the dwelling through their own qualification and occupation as a household "
        "head does, once each dwelling type is weighted by its residents 15+ per household (GHS 2015 residents "
        "15+ / households by dwelling type); not-working residents 25+ take the heads who do not work (all "
        "households less those with a working head). The fit report compares the synthetic conditionals with the "
        "heads' tables both as persons and weighted as heads (each resident weighted by the headship rate of "
        "their dwelling type).",
        "The two heads' tables imply different dwelling mixes for 2025's residents aged 25+ (qualifications rose "
        "more than occupations since 2015); the adults' national mix is the average of the two, and residents "
        "15-24 keep the 2015 mix of residents 15+. The area (Table 9) and religion tables set the differences "
        "between areas and religions (odds ratios), raked to that national mix.",
        "Residents aged 15-24 (most live in their parents' home) relate to the dwelling through area and religion "
        "only, not through their own qualification or job.",
        "Dwelling does not depend on sex, age (beyond 15-24 vs 25+), ethnicity beyond religion, marital status or "
        "income given area, qualification, occupation and religion. The GHS 2015 households by marital status of "
        "the head x tenancy (tenancy is not a record field) and the Census 2020 households by household income "
        "from work x dwelling (household income is not a record field; a person's own income is not the "
        "household's) are compared in the fit report, not fitted.",
        "Occupation and qualification remain independent given area, age and sex: the snapshot has no occupation "
        "x qualification table (MOM publishes one in Labour Force in Singapore, Section D, not among the raw "
        "files), so the association between them that the dwelling tables imply is not imposed.",
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


EMPLOYED, UNEMPLOYED, OUTSIDE = range(3)  # codes of V.LABOUR_FORCE


def labour_force_by_area(marital: np.ndarray, lfs_probs: np.ndarray) -> np.ndarray:
    """[area, age, sex, labour force status] residents aged 15+ = sum over marital status of pop x P(status)."""
    return np.einsum("pasm,asml->pasl", marital, lfs_probs)


def _national_hqa(df: pd.DataFrame) -> np.ndarray:
    """[qualification] national counts of a GHS 2015 qualification table, in MOM's five groups."""
    d = df[(df["planning_area"] == TOTAL) & (df["education"] != TOTAL)]
    s = d.groupby(d["education"].map(HQA_GHS_TO_MOM))["count"].sum()
    return s.reindex(list(V.EDUCATION), fill_value=0).to_numpy(float)


def outside_labour_force_education_2015(t: dict[str, pd.DataFrame]) -> np.ndarray:
    """[qualification] residents aged 15+ outside the labour force who are not students, 2015: the GHS 2015
    non-student population by qualification less the MOM 2015 resident labour force by qualification."""
    lf = t["mom_labour_force_education_sex_2015"]
    lf = lf[(lf["sex"] == TOTAL) & (lf["education"] != TOTAL)].set_index("education")["count"]
    out = _national_hqa(t["ghs2015_education_pa"]) - lf.reindex(list(V.EDUCATION)).to_numpy(float)
    if (out <= 0).any():
        raise ValueError(f"GHS 2015 non-students less the 2015 labour force is not positive by qualification: {out}")
    return out


def unemployed_education_2024(t: dict[str, pd.DataFrame]) -> np.ndarray:
    """[sex, qualification] unemployed residents, 2024: MOM labour force (M182271) less employed (LFS G4)."""
    lf = t["mom_labour_force_education_sex"]
    lf = lf[(lf["sex"] != TOTAL) & (lf["education"] != TOTAL)].set_index(["sex", "education"])["count"]
    employed = _mom_age_sex_table(t["mom_employed_education_age_sex"], "education", V.EDUCATION).sum(axis=0)
    out = np.array([[float(lf[(s, e)]) for e in V.EDUCATION] for s in V.SEXES]) - employed
    if (out < 0).any():
        raise ValueError(f"labour force less employed is negative by sex x qualification: {out}")
    return out


def _shares(x: np.ndarray, axis: int = -1) -> np.ndarray:
    tot = x.sum(axis=axis, keepdims=True)
    return np.where(tot > 0, x / np.where(tot > 0, tot, 1), 0.0)


def _rake_2d(seed: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """A two-way table with ``seed``'s odds ratios and these row and column totals (which must agree)."""
    return fit_ipf(seed, [Margin((0,), rows), Margin((1,), cols * rows.sum() / cols.sum())], max_iter=500).fitted


@dataclass
class EducationTargets:
    """National qualification targets by labour force status (counts, 2025 population), each from the official
    table that covers the slice."""

    employed: np.ndarray  # [age, sex, qualification]: MOM LFS 2024 G4 shares
    unemployed: np.ndarray  # [sex, qualification]: MOM 2024 labour force less employed
    outside_adult: np.ndarray  # [qualification]: outside the labour force, 25+: GHS 2015 less MOM 2015 labour force
    outside_young: np.ndarray  # [age, sex, qualification]: outside the labour force 15-24 (G4 shares; rows < 25 used)
    shares_employed: np.ndarray  # [age, sex, qualification] G4 shares (the seed)

    def national(self) -> np.ndarray:
        young = [V.AGE_GROUPS.index(g) for g in V.YOUNG_AGE_GROUPS]
        return (
            self.employed.sum(axis=(0, 1))
            + self.unemployed.sum(axis=0)
            + self.outside_adult
            + self.outside_young[young].sum(axis=(0, 1))
        )


def education_targets(t: dict[str, pd.DataFrame], status: np.ndarray) -> EducationTargets:
    """The slices of ``build_education`` for national ``status[age, sex, labour force status]`` counts."""
    g4 = _shares(_mom_age_sex_table(t["mom_employed_education_age_sex"], "education", V.EDUCATION))
    adult = [i for i, g in enumerate(V.AGE_GROUPS) if g not in V.YOUNG_AGE_GROUPS]
    out15 = outside_labour_force_education_2015(t)
    return EducationTargets(
        employed=g4 * status[:, :, EMPLOYED, None],
        unemployed=_shares(unemployed_education_2024(t)) * status[:, :, UNEMPLOYED].sum(axis=0)[:, None],
        outside_adult=out15 / out15.sum() * status[adult, :, OUTSIDE].sum(),
        outside_young=g4 * status[:, :, OUTSIDE, None],
        shares_employed=g4,
    )


def build_education(
    t: dict[str, pd.DataFrame], areas: tuple[str, ...], lfs_area: np.ndarray, diag: dict[str, float]
) -> NodeTable:
    """[area, age, sex, labour force status, qualification], every slice from the table that covers it."""
    targets = education_targets(t, lfs_area.sum(axis=0))
    young = tuple(V.AGE_GROUPS.index(g) for g in V.YOUNG_AGE_GROUPS)
    adult = tuple(i for i in range(len(V.AGE_GROUPS)) if i not in young)
    national = targets.national()
    g4 = targets.shares_employed
    t_employed, t_unemployed = targets.employed, targets.unemployed
    t_outside_adult, t_outside_young = targets.outside_adult, targets.outside_young
    diag["education_national_degree_share"] = round(float(national[-1] / national.sum()), 5)
    ghs = t["ghs2015_education_pa"]
    groups, names = pa_groups(list(ghs["planning_area"].unique()), areas)
    shares = _shares_by_group(ghs, "education", V.EDUCATION, names, HQA_GHS_TO_MOM)
    group_pop = np.bincount(groups, weights=lfs_area.sum(axis=(1, 2, 3)), minlength=len(names))
    shares[shares.sum(axis=1) == 0] = _national_hqa(ghs) / _national_hqa(ghs).sum()
    target_area = _rake_2d(shares * group_pop[:, None] + 1e-9, group_pop, national)
    seed = np.broadcast_to(g4[None, :, :, None, :], (*lfs_area.shape, len(V.EDUCATION))).copy()
    fitted = _fit(
        "education",
        seed,
        [
            Margin((0, 4), target_area, groups={0: groups}, name="area_education_ghs2015_odds"),
            Margin((1, 2, 4), t_employed, select={3: (EMPLOYED,)}, name="age_sex_education_employed_mom2024"),
            Margin((2, 4), t_unemployed, select={3: (UNEMPLOYED,)}, name="sex_education_unemployed_mom2024"),
            Margin((4,), t_outside_adult, select={1: adult, 3: (OUTSIDE,)}, name="education_outside_lf_25plus_2015"),
            Margin(
                (1, 2, 4), t_outside_young, select={1: young, 3: (OUTSIDE,)}, name="age_sex_education_outside_15_24"
            ),
            Margin((0, 1, 2, 3), lfs_area, name="area_age_sex_status_2025"),
        ],
        diag,
        max_iter=300,
    )
    return NodeTable(
        "education_level",
        ("planning_area", "age_group", "sex", "labour_force_status"),
        V.EDUCATION,
        fitted,
        (
            "mom_employed_education_age_sex",
            "mom_labour_force_education_sex",
            "mom_labour_force_education_sex_2015",
            "ghs2015_education_pa",
            "respop_2025",
        ),
        ASSUMPTIONS["education_level"],
    )


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


def build_activity(lfs_area: np.ndarray, occ: np.ndarray) -> NodeTable:
    """[age, status, occupation, activity]: a deterministic recode (no assumption). Every row has mass: employed
    rows carry the employed by age x occupation; the others carry their status's residents spread evenly over the
    occupation codes (occupation is undefined for them), so that any occupation code maps by the rule."""
    nat = lfs_area.sum(axis=(0, 2))  # [age, status]
    emp_occ = occ.sum(axis=(0, 2))  # [age, occupation]
    young = [V.AGE_GROUPS.index(g) for g in V.YOUNG_AGE_GROUPS]
    n_occ = len(V.OCCUPATIONS)
    joint = np.zeros((len(V.AGE_GROUPS), len(V.LABOUR_FORCE), n_occ, len(V.ACTIVITIES)))
    for a in range(len(V.AGE_GROUPS)):
        for s in range(len(V.LABOUR_FORCE)):
            for o in range(n_occ):
                mass = emp_occ[a, o] if s == EMPLOYED else nat[a, s] / n_occ
                if a in young:
                    cat = V.ACTIVITIES.index(V.AGED_15_24)
                elif s == EMPLOYED:
                    cat = o
                else:
                    cat = V.ACTIVITIES.index(V.NOT_EMPLOYED_25)
                joint[a, s, o, cat] = max(mass, 1e-9)
    return NodeTable(
        "activity",
        ("age_group", "labour_force_status", "occupation"),
        V.ACTIVITIES,
        joint,
        ("mom_employed_occupation_age_sex", "mom_employment_rate_age_sex_marital"),
        ASSUMPTIONS["activity"],
        universe="residents aged 15+ (a recode the dwelling table conditions on; not a record field)",
    )


def _persons_by_area_dwelling(
    t: dict[str, pd.DataFrame], areas: tuple[str, ...], regions: dict[str, str], adults: np.ndarray
) -> np.ndarray:
    """[area, dwelling] GHS 2015 Table 9 shares (persons) x the area's residents aged 15+ in 2025."""
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
    joint = np.zeros_like(counts)
    for i, a in enumerate(areas):
        row = counts[i] if counts[i].sum() > 0 else by_region[regions[a]]
        joint[i] = row / row.sum() * adults[i]
    return joint


def official_dwelling_crosstab(
    df: pd.DataFrame, key: str, cats: tuple[str, ...], mapping: dict[str, str] | None = None, **filters: str
) -> np.ndarray:
    """[category, dwelling] counts of an official dwelling cross-tab in the network's categories (HDB flats outside
    the four flat types and the table's totals left out)."""
    d = df[(df[key] != TOTAL) & df["dwelling_type"].isin(V.DWELLINGS)]
    for k, v in filters.items():
        d = d[d[k] == v]
    labels = d[key].map(mapping) if mapping else d[key]
    piv = d.assign(_k=labels).pivot_table(index="_k", columns="dwelling_type", values="count", aggfunc="sum")
    return piv.reindex(index=list(cats), columns=list(V.DWELLINGS)).fillna(0).to_numpy(float)


def non_working_heads_by_dwelling(t: dict[str, pd.DataFrame]) -> np.ndarray:
    """[dwelling] households whose head is not working, 2015: all households (by qualification of the head) less
    those with a working head (by occupation of the head), two tables of the same survey."""
    edu = t["ghs2015_dwelling_education_households"]
    occ = t["ghs2015_dwelling_occupation_households"]
    out = _dwelling_row(edu, education=TOTAL) - _dwelling_row(occ, occupation=TOTAL)
    if (out < 0).any():
        raise ValueError(f"households with a working head exceed all households for some dwelling type: {out}")
    return out


def dwelling_parents(pop: np.ndarray, eth: np.ndarray, rel: np.ndarray, edu: np.ndarray, occ: np.ndarray) -> np.ndarray:
    """[area, activity, qualification, religion] residents aged 15+, from the network's own tables: religion is
    independent of status, qualification and occupation given area, age and sex (as the network says)."""
    rel_cond = np.einsum("pase,per->pasr", conditional(eth), conditional(rel))  # P(religion | area, age, sex)
    occ_cond = conditional(occ)  # P(occupation | area, age, sex), employed
    young = [V.AGE_GROUPS.index(g) for g in V.YOUNG_AGE_GROUPS]
    act = np.zeros((*pop.shape, len(V.ACTIVITIES), len(V.EDUCATION)))  # [area, age, sex, activity, qualification]
    act[:, :, :, : len(V.OCCUPATIONS), :] = edu[:, :, :, EMPLOYED, None, :] * occ_cond[..., None]
    act[:, :, :, V.ACTIVITIES.index(V.NOT_EMPLOYED_25), :] = edu[:, :, :, UNEMPLOYED] + edu[:, :, :, OUTSIDE]
    for g in young:
        act[:, g] = 0.0
        act[:, g, :, V.ACTIVITIES.index(V.AGED_15_24), :] = edu[:, g].sum(axis=2)
    return np.einsum("pasxe,pasr->pxer", act, rel_cond)


def _dwelling_row(df: pd.DataFrame, **keys: str) -> np.ndarray:
    """[dwelling] the row of a dwelling cross-tab with these key values (e.g. its totals)."""
    d = df[df["dwelling_type"].isin(V.DWELLINGS)]
    for k, v in keys.items():
        d = d[d[k] == v]
    return d.set_index("dwelling_type")["count"].reindex(list(V.DWELLINGS)).fillna(0).to_numpy(float)


def persons_by_dwelling_2015(t: dict[str, pd.DataFrame]) -> np.ndarray:
    """[dwelling] residents aged 15+ by type of dwelling, 2015 (GHS 2015, persons)."""
    return _dwelling_row(t["ghs2015_dwelling_religion_sex"], religion=TOTAL, sex=TOTAL)


def headship_by_dwelling(t: dict[str, pd.DataFrame]) -> np.ndarray:
    """[dwelling] households per resident aged 15+ by type of dwelling, 2015: GHS 2015 households (by
    qualification of the head, total row) over GHS 2015 residents 15+ (by religion and sex, total row). This is the
    households-vs-persons mapping: it weights a resident as a household head would be counted."""
    heads = _dwelling_row(t["ghs2015_dwelling_education_households"], education=TOTAL)
    return heads / persons_by_dwelling_2015(t)


def build_dwelling(
    t: dict[str, pd.DataFrame],
    areas: tuple[str, ...],
    regions: dict[str, str],
    parents: np.ndarray,
    diag: dict[str, float],
) -> NodeTable:
    """[area, activity, qualification, religion, dwelling], from the household heads' dwelling by qualification and
    by occupation (mapped to residents aged 25+ through the headship rate of each dwelling type) and the persons'
    dwelling by area (GHS 2015 T9) and by religion (GHS 2015 persons 15+); see ASSUMPTIONS['dwelling_type']."""
    headship = headship_by_dwelling(t)
    adult = tuple(i for i, a in enumerate(V.ACTIVITIES) if a != V.AGED_15_24)
    young = tuple(i for i in range(len(V.ACTIVITIES)) if i not in adult)
    rows_edu = parents[:, list(adult)].sum(axis=(0, 1, 3))
    rows_act = parents[:, list(adult)].sum(axis=(0, 2, 3))
    # heads' conditionals P(dwelling | qualification or occupation of the head) -> residents: weight each dwelling
    # type by its residents per household (1 / headship)
    edu_heads = official_dwelling_crosstab(
        t["ghs2015_dwelling_education_households"], "education", V.EDUCATION, HQA_GHS_TO_MOM
    )
    occ_heads = np.vstack(
        [
            official_dwelling_crosstab(t["ghs2015_dwelling_occupation_households"], "occupation", V.OCCUPATIONS),
            non_working_heads_by_dwelling(t)[None, :],
        ]
    )
    edu_persons = rows_edu[:, None] * _shares(edu_heads / headship)
    act_persons = rows_act[:, None] * _shares(occ_heads / headship)
    # the two tables imply different dwelling mixes for 2025's adults (qualifications rose more than occupations
    # since 2015): the adults' mix is their average; residents 15-24 keep the 2015 mix of residents 15+
    implied_edu, implied_occ = _shares(edu_persons.sum(axis=0)), _shares(act_persons.sum(axis=0))
    adult_dw = 0.5 * (implied_edu + implied_occ) * rows_edu.sum()
    persons_2015 = persons_by_dwelling_2015(t)
    national_dw = adult_dw + _shares(persons_2015) * parents[:, list(young)].sum()
    diag["dwelling_adult_mix_tvd_qualification_vs_occupation"] = round(
        0.5 * float(np.abs(implied_edu - implied_occ).sum()), 5
    )
    diag["dwelling_national_tvd_vs_persons_2015"] = round(
        0.5 * float(np.abs(_shares(national_dw) - _shares(persons_2015)).sum()), 5
    )
    t9 = _persons_by_area_dwelling(t, areas, regions, parents.sum(axis=(1, 2, 3)))
    area_dw = _rake_2d(t9 + 1e-9, t9.sum(axis=1), national_dw)
    rel_off = official_dwelling_crosstab(t["ghs2015_dwelling_religion_sex"], "religion", V.RELIGIONS, sex=TOTAL)
    rel_dw = _rake_2d(rel_off + 1e-9, parents.sum(axis=(0, 1, 2)), national_dw)
    edu_dw = _rake_2d(edu_persons + 1e-9, rows_edu, adult_dw)
    act_dw = np.zeros((len(V.ACTIVITIES), len(V.DWELLINGS)))
    act_dw[list(adult)] = _rake_2d(act_persons + 1e-9, rows_act, adult_dw)
    seed = parents[..., None] * (_shares(area_dw) + 1e-3 * _shares(national_dw))[:, None, None, None, :]
    fitted = _fit(
        "dwelling",
        seed,
        [
            Margin((2, 4), edu_dw, select={1: adult}, name="education_dwelling_heads_25plus"),
            Margin((1, 4), act_dw, select={1: adult}, name="occupation_dwelling_heads_25plus"),
            Margin((3, 4), rel_dw, name="religion_dwelling_persons_ghs2015"),
            Margin((0, 4), area_dw, name="area_dwelling_persons_ghs2015"),
            Margin((0, 1, 2, 3), parents, name="area_activity_education_religion"),
        ],
        diag,
        max_iter=300,
    )
    return NodeTable(
        "dwelling_type",
        ("planning_area", "activity", "education_level", "religion"),
        V.DWELLINGS,
        fitted,
        (
            "ghs2015_dwelling_persons_pa",
            "ghs2015_dwelling_religion_sex",
            "ghs2015_dwelling_education_households",
            "ghs2015_dwelling_occupation_households",
        ),
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
    lfs_area = labour_force_by_area(marital.joint, employment_probabilities(t))
    edu = build_education(t, areas, lfs_area, diag)
    nodes["education_level"] = edu
    occ = build_occupation(t, areas, lfs_area[..., EMPLOYED], diag)
    nodes["occupation"] = occ
    nodes["industry"] = build_industry(t, areas, occ.joint.sum(axis=(1, 2)), diag)
    occ_sex_area = occ.joint.sum(axis=1).transpose(0, 2, 1)  # [area, occ, sex]
    nodes["monthly_income_band"] = build_income(t, areas, occ_sex_area, diag)
    nodes["activity"] = build_activity(lfs_area, occ.joint)
    parents = dwelling_parents(pop, eth.joint, nodes["religion"].joint, edu.joint, occ.joint)
    nodes["dwelling_type"] = build_dwelling(t, areas, regions, parents, diag)
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
