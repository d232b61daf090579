"""The census-fidelity report: official vs model vs synthetic shares per grounded field, nationally and per
planning area, with total variation distances and PNG charts.

Three distributions are compared for every field:

- **official**: the published table as is (its own year and universe, named in the ``universe`` column);
- **model**: what the fitted network implies for the June 2025 population aged 15+ (the official tables
  harmonised by IPF), computed exactly from its conditional tables;
- **synthetic**: the sampled records.

``tvd_synthetic_model`` measures the sampler (it shrinks with the sample size); ``tvd_synthetic_official`` adds
the harmonisation's departures from each raw table (other year, other universe, other tables winning).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np
import pandas as pd

from persona_assets.core.model import vocab as V
from persona_assets.core.model.fidelity import (
    EMPLOYED_FIELDS,
    GROUNDED,
    area_marginals,
    sample_counts,
    tvd,
    tvd_tolerance,
)
from persona_assets.core.model.inference import national_joint
from persona_assets.core.model.network import PersonaNetwork
from persona_assets.core.model.tables import (
    MARITAL_GROUPS,
    education_targets,
    national_marital_2024,
    persons_by_dwelling_2015,
    population_15plus,
)

NATIONAL = "Singapore"
MARITAL3 = ("Single", "Married", "Widowed/Divorced")


def _shares(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return x / x.sum() if x.sum() > 0 else x


def national_official(t: dict[str, pd.DataFrame], net: PersonaNetwork) -> dict[str, tuple[np.ndarray, str, str]]:
    """Per field: (official national shares in the field's categories, source table, universe)."""
    pop = population_15plus(t["respop_2025"], net.areas)
    out: dict[str, tuple[np.ndarray, str, str]] = {
        "sex": (_shares(pop.sum(axis=(0, 1))), "respop_2025", "residents 15+, June 2025"),
        "age_group": (_shares(pop.sum(axis=(0, 2))), "respop_2025", "residents 15+, June 2025"),
    }

    def pa_national(name: str, key: str, cats: tuple[str, ...], mapping: dict[str, str] | None = None) -> np.ndarray:
        d = t[name][(t[name]["planning_area"] == "Total") & (t[name][key] != "Total")].copy()
        if mapping:
            d[key] = d[key].map(mapping)
        return _shares(d.groupby(key)["count"].sum().reindex(list(cats), fill_value=0).to_numpy(dtype=float))

    c = t["census2020_ethnicity_sex"]
    c = c[(c.planning_area == "Total") & (c.subzone == "Total") & (c.sex == "Total") & (c.ethnicity != "Total")]
    out["ethnicity"] = (
        _shares(c.set_index("ethnicity")["count"].reindex(list(V.ETHNICITIES)).to_numpy(float)),
        "census2020_ethnicity_sex",
        "residents of all ages, 2020",
    )
    out["religion"] = (
        pa_national("census2020_religion_pa", "religion", V.RELIGIONS),
        "census2020_religion_pa",
        "residents 15+, 2020",
    )
    out["language_at_home"] = (
        pa_national("census2020_language_pa", "language", V.LANGUAGES),
        "census2020_language_pa",
        "residents 5+, 2020",
    )
    out["marital_status"] = (
        _shares(national_marital_2024(t).sum(axis=(0, 1))),
        "mom_employed_marital_age_sex / mom_employment_rate_age_sex_marital",
        "residents 15+, 2024 (widowed and divorced pooled)",
    )
    lfs = t["mom_labour_force_status_age_sex"].groupby("labour_force_status")["count"].sum()
    out["labour_force_status"] = (
        _shares(lfs.reindex(["employed", "unemployed", "outside_labour_force"]).to_numpy(float)),
        "mom_labour_force_status_age_sex",
        "residents 15+, 2023",
    )
    status = national_joint(net, pop, ("age_group", "sex", "labour_force_status"))
    out["education_level"] = (
        _shares(education_targets(t, status).national()),
        "mom_employed_education_age_sex / mom_labour_force_education_sex / ghs2015_education_pa / "
        "mom_labour_force_education_sex_2015",
        "by labour force status: employed 2024 (G4), unemployed 2024 (M182271 less G4), outside the labour force "
        "25+ 2015 (GHS 2015 non-students less the 2015 labour force), applied to the 2025 status x age x sex counts",
    )
    occ = t["mom_employed_occupation_age_sex"]
    occ = occ[(occ.sex == "Total") & (occ.age_group == "Total") & (occ.occupation != "Total")]
    out["occupation"] = (
        _shares(occ.set_index("occupation")["count"].reindex(list(V.OCCUPATIONS)).to_numpy(float)),
        "mom_employed_occupation_age_sex",
        "employed residents 15+, 2024",
    )
    ind = t["mom_employed_industry_occupation"]
    ind = ind[(ind.occupation == "Total") & (ind.industry != "Total")]
    out["industry"] = (
        _shares(ind.set_index("industry")["count"].reindex(list(V.INDUSTRIES)).to_numpy(float)),
        "mom_employed_industry_occupation",
        "employed residents 15+, 2024",
    )
    out["monthly_income_band"] = (
        pa_national("ghs2015_income_employed_pa", "income_band", V.INCOME_BANDS),
        "ghs2015_income_employed_pa",
        "working residents 15+, 2015 (2015 dollars)",
    )
    out["dwelling_type"] = (
        _shares(persons_by_dwelling_2015(t)),
        "ghs2015_dwelling_religion_sex",
        "residents 15+, 2015 (persons)",
    )
    return out


def _categories(net: PersonaNetwork, field: str) -> tuple[str, ...]:
    if field == "age_group":
        return V.AGE_GROUPS
    if field == "sex":
        return V.SEXES
    return net.categories(field)


def _pool_marital(x: np.ndarray) -> np.ndarray:
    return np.bincount(MARITAL_GROUPS, weights=x, minlength=3)


def build_fit_report(
    records: pd.DataFrame,
    net: PersonaNetwork,
    t: dict[str, pd.DataFrame],
    official_by_area: dict[str, dict[str, object]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (shares, tvd): long tables of shares and of distances per scope x field."""
    pop = population_15plus(t["respop_2025"], net.areas)
    nat_official = national_official(t, net)
    share_rows: list[dict[str, object]] = []
    tvd_rows: list[dict[str, object]] = []
    model_nat = {f: np.zeros(len(_categories(net, f))) for f in GROUNDED}
    for i, area in enumerate(net.areas):
        if pop[i].sum() == 0:
            continue
        exp = area_marginals(net, area, pop[i])
        sub = records[records["planning_area"] == area]
        for f in GROUNDED:
            model_nat[f] += exp[f]
        for f in GROUNDED:
            cats = _categories(net, f)
            got = sample_counts(sub, f, net) if len(sub) else np.zeros(len(cats))
            ref = official_by_area.get(f)
            off = None
            if ref is not None and area in ref["by_area"].index:  # type: ignore[union-attr]
                off = ref["by_area"].loc[area].reindex(list(cats)).to_numpy(float)  # type: ignore[union-attr]
            n = int(got.sum())
            tvd_rows.append(
                {
                    "scope": area,
                    "field": f,
                    "n": n,
                    "tvd_synthetic_model": round(tvd(got, exp[f]), 6) if n else None,
                    "tolerance": round(tvd_tolerance(exp[f], n), 6) if n else None,
                    "tvd_synthetic_official": round(tvd(got, off), 6)
                    if (n and off is not None and off.sum() > 0)
                    else None,
                    "official_source": ref["source"] if off is not None else "",  # type: ignore[index]
                }
            )
            for j, cat in enumerate(cats):
                share_rows.append(
                    {
                        "scope": area,
                        "field": f,
                        "category": cat,
                        "official": None if off is None else float(_shares(off)[j]),
                        "model": float(_shares(exp[f])[j]),
                        "synthetic": float(_shares(got)[j]) if n else None,
                    }
                )
    for f in GROUNDED:
        cats = _categories(net, f)
        got = sample_counts(records, f, net)
        off, source, universe = nat_official[f]
        model = model_nat[f]
        if f == "marital_status":
            got_cmp, model_cmp = _pool_marital(got), _pool_marital(model)
        else:
            got_cmp, model_cmp = got, model
        tvd_rows.append(
            {
                "scope": NATIONAL,
                "field": f,
                "n": int(got.sum()),
                "tvd_synthetic_model": round(tvd(got, model), 6),
                "tolerance": round(tvd_tolerance(model, int(got.sum())), 6),
                "tvd_synthetic_official": round(tvd(got_cmp, off), 6),
                "tvd_model_official": round(tvd(model_cmp, off), 6),
                "official_source": source,
                "official_universe": universe,
            }
        )
        off_cats = MARITAL3 if f == "marital_status" else cats
        for j, cat in enumerate(cats):
            share_rows.append(
                {
                    "scope": NATIONAL,
                    "field": f,
                    "category": cat,
                    "official": None,
                    "model": float(_shares(model)[j]),
                    "synthetic": float(_shares(got)[j]),
                }
            )
        if f == "marital_status":
            for j, cat in enumerate(off_cats):
                share_rows.append(
                    {
                        "scope": NATIONAL,
                        "field": f,
                        "category": f"{cat} (pooled)",
                        "official": float(off[j]),
                        "model": float(_shares(model_cmp)[j]),
                        "synthetic": float(_shares(got_cmp)[j]),
                    }
                )
        else:
            for row in share_rows[-len(cats) :]:
                row["official"] = float(off[cats.index(row["category"])])
    return pd.DataFrame(share_rows), pd.DataFrame(tvd_rows)


# ------------------------------------------------------------------------------------------ charts / html


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()


def render_charts(shares: pd.DataFrame, records: pd.DataFrame, scope: str, out_dir: Path) -> dict[str, Path]:
    """One bar chart per field for ``scope`` (official / model / synthetic) and an age pyramid."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    sub = shares[shares["scope"] == scope]
    slug = scope.lower().replace(" ", "_")
    for field, d in sub.groupby("field", sort=False):
        d = d[~d["category"].str.endswith("(pooled)")] if field != "marital_status" or d["official"].isna().all() else d
        fig, ax = plt.subplots(figsize=(8, max(2.5, 0.32 * len(d) + 1)))
        y = np.arange(len(d))
        for k, (col, colour) in enumerate((("official", "#4c72b0"), ("model", "#55a868"), ("synthetic", "#dd8452"))):
            vals = d[col].astype(float).fillna(0).to_numpy()
            ax.barh(y + (k - 1) * 0.27, vals, height=0.27, label=col, color=colour)
        ax.set_yticks(y, d["category"].tolist(), fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("share")
        ax.set_title(f"{field} — {scope}")
        ax.legend(fontsize=8)
        path = out_dir / f"{slug}__{field}.png"
        path.write_bytes(_png(fig))
        plt.close(fig)
        paths[field] = path
    # age pyramid
    recs = records if scope == NATIONAL else records[records["planning_area"] == scope]
    ages = recs["age"].astype(int).map(V.age_group_of)
    fig, ax = plt.subplots(figsize=(6, 4))
    male = ages[recs["sex"] == "Male"].value_counts().reindex(list(V.AGE_GROUPS), fill_value=0)
    female = ages[recs["sex"] == "Female"].value_counts().reindex(list(V.AGE_GROUPS), fill_value=0)
    ax.barh(V.AGE_GROUPS, -male.to_numpy(), color="#4c72b0", label="Male")
    ax.barh(V.AGE_GROUPS, female.to_numpy(), color="#dd8452", label="Female")
    ax.set_title(f"age pyramid (synthetic) — {scope}")
    ax.legend(fontsize=8)
    path = out_dir / f"{slug}__age_pyramid.png"
    path.write_bytes(_png(fig))
    plt.close(fig)
    paths["age_pyramid"] = path
    return paths


def render_html(
    tvd_table: pd.DataFrame,
    charts: dict[str, dict[str, Path]],
    out: Path,
    title: str,
    joint: pd.DataFrame | None = None,
    heatmaps: dict[str, Path] | None = None,
    notes: tuple[str, ...] = (),
) -> Path:
    """A self-contained HTML page (charts inlined as data URIs; no external URL): the marginal distances, then the
    joint fidelity of every official cross-tab (national rows first) with its heat maps."""

    def img(name: str, p: Path) -> str:
        data = base64.b64encode(p.read_bytes()).decode()
        return f"<h3>{html.escape(name)}</h3><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>"

    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:3px 6px}img{max-width:960px;display:block;margin:1em 0}</style>",
        f"</head><body><h1>{html.escape(title)}</h1>",
        "<h2>Total variation distance</h2>",
        tvd_table.to_html(index=False, na_rep=""),
    ]
    if joint is not None and len(joint):
        national = joint[joint["scope"] == NATIONAL]
        parts += [
            "<h2>Joint fidelity: official cross-tabs</h2>",
            "<p>Per cross-tab: the mean total variation distance between the synthetic (and the model's) conditional "
            "distributions and the official ones, over the conditioning cells; Cramér's V side by side; the "
            "sampler against the model within its sampling tolerance (the blocking dataset-level gate). Household-"
            "head tables are compared with residents weighted as heads; <code>tvd_person_level_official</code> is "
            "the same comparison unweighted (the effect of the households-vs-persons mapping).</p>",
            *[f"<p>{html.escape(n)}</p>" for n in notes],
            national.drop(columns=["scope"]).to_html(index=False, na_rep=""),
            "<h3>Large planning areas (at least 1,000 records)</h3>",
            joint[joint["scope"] != NATIONAL].to_html(index=False, na_rep=""),
        ]
        parts += [img(name, p) for name, p in (heatmaps or {}).items()]
    for scope, paths in charts.items():
        parts.append(f"<h2>{html.escape(scope)}</h2>")
        parts += [img(name, p) for name, p in paths.items()]
    parts.append("</body></html>")
    out.write_text("\n".join(parts), encoding="utf-8")
    return out


__all__ = ["EMPLOYED_FIELDS", "build_fit_report", "national_official", "render_charts", "render_html"]
