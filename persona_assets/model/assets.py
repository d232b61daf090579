"""The ``model`` group: the fitted persona network and the census-fidelity report."""

from pathlib import Path

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    Config,
    MetadataValue,
    Output,
    asset,
)

from census_sources import TABLES
from persona_assets.code_versions import code_version
from persona_assets.core.markdown import frame_to_markdown
from persona_assets.core.model.derived import DERIVED_ASSUMPTIONS
from persona_assets.core.model.joint import build_joint_report, coherence_figures, joint_gate, render_heatmaps
from persona_assets.core.model.network import PersonaNetwork, fit_network, network_summary
from persona_assets.core.model.report import NATIONAL, build_fit_report, render_charts, render_html
from persona_assets.core.model.tables import build_model_tables, official_references, population_15plus
from persona_assets.keys import census_key
from persona_assets.settings import DatasetSettings

#: Census tables the network reads (every one is a lineage edge in the UI).
MODEL_INPUTS = (
    "respop_2025",
    "ura_planning_areas",
    "census2020_ethnicity_sex",
    "ghs2015_age_ethnicity_sex",
    "census2020_religion_pa",
    "ghs2015_religion_ethnicity",
    "census2020_language_pa",
    "mom_employed_marital_age_sex",
    "mom_employment_rate_age_sex_marital",
    "ghs2015_marital_sex_pa",
    "mom_labour_force_status_age_sex",
    "mom_employed_education_age_sex",
    "ghs2015_education_pa",
    "mom_employed_occupation_age_sex",
    "ghs2015_occupation_pa",
    "mom_employed_industry_occupation",
    "ghs2015_industry_pa",
    "ghs2015_income_employed_pa",
    "mom_median_income_occupation_sex_2015",
    "ghs2015_dwelling_persons_pa",
    # joint cross-tabs (qualification of all residents; dwelling by qualification, occupation, religion)
    "mom_labour_force_education_sex",
    "mom_labour_force_education_sex_2015",
    "ghs2015_dwelling_religion_sex",
    "ghs2015_dwelling_education_households",
    "ghs2015_dwelling_occupation_households",
)


def describe_node_provenance(net: PersonaNetwork) -> str:
    lines = []
    for node in net.nodes.values():
        lines.append(f"### {node.name} | {', '.join(node.parents) or 'root'}")
        for src in node.sources:
            spec = TABLES[src]
            lines.append(f"- source `{src}`: {spec.title} ({spec.agency}, {spec.reference})")
        for a in node.assumptions:
            lines.append(f"- assumption: {a}")
        if node.diagnostics:
            lines.append("- fit: " + ", ".join(f"{k}={v:g}" for k, v in node.diagnostics.items()))
    lines.append("### derived fields")
    lines += [f"- assumption: {a}" for a in DERIVED_ASSUMPTIONS]
    return "\n".join(lines)


@asset(
    group_name="model",
    ins={f"t_{n}": AssetIn(key=census_key(n)) for n in MODEL_INPUTS},
    io_manager_key="network_io_manager",
    code_version=code_version("persona_network"),
    kinds={"pomegranate", "numpy"},
    owners=["team:model"],
    description="Bayesian network over the persona fields: conditional tables harmonised from the official tables "
    "by IPF and fitted with pomegranate from weighted cells. Structure, per-node sources and every "
    "conditional-independence assumption are in the metadata.",
)
def persona_network(context: AssetExecutionContext, **tables: pd.DataFrame) -> Output[PersonaNetwork]:
    frames = {k.removeprefix("t_"): v for k, v in tables.items()}
    model_tables = build_model_tables(frames)
    net = fit_network(model_tables)
    summary = pd.DataFrame(network_summary(net))
    context.log.info(f"fitted {len(net.nodes)} nodes over {len(net.areas)} planning areas")
    return Output(
        net,
        metadata={
            "structure_fingerprint": net.fingerprint,
            "nodes": MetadataValue.md(frame_to_markdown(summary, 20)),
            "provenance_and_assumptions": MetadataValue.md(describe_node_provenance(net)),
            "cpt_cells": int(sum(n.cpt.size for n in net.nodes.values())),
        },
    )


#: Official tables the fit report compares with.
REPORT_INPUTS = (
    "respop_2025",
    "census2020_ethnicity_sex",
    "census2020_religion_pa",
    "census2020_language_pa",
    "ghs2015_marital_sex_pa",
    "ghs2015_education_pa",
    "ghs2015_occupation_pa",
    "ghs2015_industry_pa",
    "ghs2015_income_employed_pa",
    "mom_employed_marital_age_sex",
    "mom_employment_rate_age_sex_marital",
    "mom_labour_force_status_age_sex",
    "mom_employed_education_age_sex",
    "mom_employed_occupation_age_sex",
    "mom_employed_industry_occupation",
    "ghs2015_dwelling_persons_pa",
    # joint cross-tabs (persona_assets.core.model.joint.JOINTS)
    "ghs2015_age_ethnicity_sex",
    "ghs2015_religion_ethnicity",
    "mom_labour_force_education_sex",
    "mom_labour_force_education_sex_2015",
    "ghs2015_dwelling_religion_sex",
    "ghs2015_dwelling_education_households",
    "ghs2015_dwelling_occupation_households",
    "ghs2015_dwelling_marital_tenancy_households",
    "census2020_income_dwelling_households",
)


class FitReportConfig(Config):
    """The planning area charted beside the national charts."""

    chart_area: str = "Tampines"
    report_dir: str = ""  # default: <dataset root>/reports/fit_report


@asset(
    group_name="model",
    ins={
        "network": AssetIn(key="persona_network"),
        "residents": AssetIn(key="residents"),
        **{f"t_{n}": AssetIn(key=census_key(n)) for n in REPORT_INPUTS},
    },
    metadata={"schema": "model"},
    code_version=code_version("fit_report"),
    kinds={"pandas"},
    owners=["team:model"],
    check_specs=[
        AssetCheckSpec(
            "fit_report_joint_fidelity",
            asset="fit_report",
            blocking=True,
            description="Every official cross-tab (nationally and in each planning area with at least 1,000 "
            "records): the sample's conditional distributions within their sampling tolerance of the model's. "
            "Blocks publication in the same run.",
        )
    ],
    description="Census fidelity of the full sample: per grounded field, official vs model vs synthetic shares "
    "nationally and per planning area, total variation distances; per official cross-tab, the synthetic "
    "conditional against the official and the model's (TVD, Cramér's V); PNG charts and heat maps and an offline "
    "HTML page under data/reports/fit_report/.",
)
def fit_report(
    context: AssetExecutionContext,
    config: FitReportConfig,
    dataset: DatasetSettings,
    network: PersonaNetwork,
    residents: pd.DataFrame,
    **tables: pd.DataFrame,
):
    frames = {k.removeprefix("t_"): v for k, v in tables.items()}
    if config.chart_area not in network.areas:
        raise ValueError(f"chart_area {config.chart_area!r} is not a planning area")
    official = official_references(frames)
    shares, tvd_table = build_fit_report(residents, network, frames, official)
    out_dir = Path(config.report_dir).resolve() if config.report_dir else dataset.root / "reports" / "fit_report"
    charts = {scope: render_charts(shares, residents, scope, out_dir) for scope in (NATIONAL, config.chart_area)}
    shares.to_csv(out_dir / "shares.csv", index=False)
    tvd_table.to_csv(out_dir / "tvd.csv", index=False)
    joint = build_joint_report(residents, network, frames, population_15plus(frames["respop_2025"], network.areas))
    joint.table.to_csv(out_dir / "joint.csv", index=False)
    joint.conditionals.to_csv(out_dir / "joint_conditionals.csv", index=False)
    heatmaps = render_heatmaps(joint.conditionals, out_dir)
    figures = coherence_figures(residents, frames)
    page = render_html(
        tvd_table,
        charts,
        out_dir / "index.html",
        "sg-personas census-fidelity report",
        joint=joint.table,
        heatmaps=heatmaps,
        notes=tuple(f"{k}: {v:g}" for k, v in figures.items()),
    )
    national = tvd_table[tvd_table["scope"] == NATIONAL].drop(columns=["scope"])
    areas = tvd_table[(tvd_table["scope"] != NATIONAL) & (tvd_table["n"] >= 1000)]
    worst = areas.sort_values("tvd_synthetic_model", ascending=False).head(10)
    joint_national = joint.table[joint.table["scope"] == NATIONAL]
    joint_rows = joint.table.assign(field=joint.table["joint"], official_source=joint.table["source"], kind="joint")
    yield Output(
        pd.concat([tvd_table.assign(kind="marginal"), joint_rows.drop(columns=["joint", "source"])], ignore_index=True),
        metadata={
            "records": len(residents),
            "national_tvd": MetadataValue.md(frame_to_markdown(national, 20)),
            "max_national_tvd_synthetic_model": float(national["tvd_synthetic_model"].max()),
            "max_area_tvd_synthetic_model_1000plus": float(areas["tvd_synthetic_model"].max()) if len(areas) else 0.0,
            "worst_areas": MetadataValue.md(frame_to_markdown(worst, 10)),
            "joint_national": MetadataValue.md(
                frame_to_markdown(
                    joint_national[
                        [
                            "joint",
                            "n",
                            "tvd_synthetic_official",
                            "tvd_model_official",
                            "cramers_v_official",
                            "cramers_v_synthetic",
                            "official_universe",
                        ]
                    ],
                    len(joint_national),
                )
            ),
            **{k: float(v) for k, v in figures.items()},
            "report": MetadataValue.path(str(page)),
            "charts": MetadataValue.json({s: {k: str(v) for k, v in p.items()} for s, p in charts.items()}),
        },
    )
    yield joint_fidelity_result(joint.table)


def joint_fidelity_result(table: pd.DataFrame) -> AssetCheckResult:
    """The blocking dataset-level gate: every cross-tab and scope within its sampling tolerance of the model."""
    passed, failed = joint_gate(table)
    national = table[table["scope"] == NATIONAL]
    failing = sorted(set(failed["scope"] + ": " + failed["joint"]))
    return AssetCheckResult(
        check_name="fit_report_joint_fidelity",
        passed=passed,
        severity=AssetCheckSeverity.ERROR,
        description=f"{len(table) - len(failed)} of {len(table)} cross-tab x scope comparisons within their sampling "
        "tolerance of the model" + ("" if passed else f"; failing: {', '.join(failing)}"),
        metadata={
            "national": MetadataValue.md(
                frame_to_markdown(national[["joint", "n", "tvd_synthetic_model", "tolerance", "passed"]], len(national))
            ),
            "failed": MetadataValue.md(
                frame_to_markdown(failed[["scope", "joint", "tvd_synthetic_model", "tolerance"]], 20)
                if len(failed)
                else "none"
            ),
        },
    )
