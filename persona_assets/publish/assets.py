"""``personas_candidate`` joins residents and narratives and runs the blocking Great Expectations suites over the
whole dataset; ``personas_dataset`` (downstream, so a failed gate skips it) publishes the release atomically.

Both refuse a dataset whose partitions were made with different settings (``core/dataset_settings.py``)."""

from typing import Any

import pandas as pd
from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    DagsterInstance,
    Failure,
    MaterializeResult,
    MetadataValue,
    Output,
    asset,
)

from persona_assets.code_versions import code_version
from persona_assets.core.data_docs import build_data_docs
from persona_assets.core.dataset_settings import MixedSettingsError, check_uniform_settings
from persona_assets.core.markdown import frame_to_markdown
from persona_assets.core.publish.join import count_join, join_personas
from persona_assets.core.quality import (
    add_narrative_checks,
    add_persona_checks,
    build_narrative_suite_parameters,
    list_expected_areas,
)
from persona_assets.gx_checks import build_suite_check_result
from persona_assets.io_managers import SETTINGS_ATTR
from persona_assets.keys import census_key
from persona_assets.record_types import PERSONAS_COLUMN_SCHEMA
from persona_assets.report_links import build_report_link
from persona_assets.settings import DatasetSettings

SUITES = {
    "residents_dataset_suite": "expectations/residents.json over every partition: value sets, ranges, unique UUIDs "
    "across the dataset, and every planning area the allocation gives records present.",
    "narratives_dataset_suite": "expectations/narratives.json over every partition: an ok-rate not shown below "
    "70% (one-sided 95% Wilson bound), text lengths, valid lists, no text shared by two records, every failure "
    "with a reason.",
    "personas_dataset_suite": "expectations/personas_dataset.json on the records to publish: the 38 fields and "
    "their types, row counts, planning areas, no full name from the CEA register, no secret-looking strings.",
}
#: Assets whose code versions the dataset card records.
CARD_CODE_VERSIONS = ("persona_network", "name_tokens", "residents", "persona_narratives")


def check_dataset_settings(residents: pd.DataFrame, narratives: pd.DataFrame) -> dict[str, Any]:
    """The settings every residents and narratives partition was made with (as their files record them); a
    ``Failure`` naming the partitions when they differ."""
    try:
        return {
            **check_uniform_settings(residents.attrs.get(SETTINGS_ATTR, {}), "residents"),
            **check_uniform_settings(narratives.attrs.get(SETTINGS_ATTR, {}), "persona_narratives"),
        }
    except MixedSettingsError as exc:
        raise Failure(description=str(exc), metadata={"reason": "mixed dataset settings"}) from exc


def collect_code_versions(instance: DagsterInstance, assets: tuple[str, ...]) -> dict[str, str]:
    """Per asset, the code version(s) its current materialisations were made with (the latest one of each
    partition; several, comma-separated, if its partitions differ)."""
    out = {}
    for name in assets:
        latest: dict[str | None, str] = {}
        for record in instance.fetch_materializations(AssetKey(name), limit=10_000).records:  # newest first
            m = record.asset_materialization
            if m is not None and m.partition not in latest:
                latest[m.partition] = (m.tags or {}).get("dagster/code_version", "")
        versions = sorted(set(latest.values()) - {""})
        if versions:
            out[name] = ", ".join(versions)
    return out


#: Per-partition narration figures of persona_narratives that personas_candidate sums over the dataset.
NARRATION_TOTALS = ("calls", "cache_hits", "retries", "prompt_tokens", "completion_tokens", "cost_usd", "wall_s")


def sum_narration_metadata(instance: DagsterInstance) -> dict[str, float]:
    """The narration figures (``NARRATION_TOTALS``) of the current materialisation of every persona_narratives
    partition, summed, with the number of partitions they cover: what the whole run cost, which the per-partition
    metadata (the last partition's, in the UI) does not show."""
    latest: dict[str, dict[str, float]] = {}
    for record in instance.fetch_materializations(AssetKey("persona_narratives"), limit=10_000).records:
        m = record.asset_materialization  # newest first
        if m is not None and m.partition is not None and m.partition not in latest:
            latest[m.partition] = {k: float(m.metadata[k].value) for k in NARRATION_TOTALS if k in m.metadata}
    totals = {k: round(sum(p.get(k, 0.0) for p in latest.values()), 6) for k in NARRATION_TOTALS}
    return {"partitions_narrated": len(latest), **totals}


@asset(
    group_name="publish",
    ins={
        "residents": AssetIn(key="residents"),
        "narratives": AssetIn(key="persona_narratives"),
        "planning_areas": AssetIn(key=census_key("planning_areas")),
        "register_hashes": AssetIn(key=census_key("cea_name_hashes")),
    },
    check_specs=[
        AssetCheckSpec(name, asset="personas_candidate", blocking=True, description=desc)
        for name, desc in SUITES.items()
    ],
    code_version=code_version("personas_candidate"),
    metadata={"schema": "publish", "dagster/column_schema": PERSONAS_COLUMN_SCHEMA},
    kinds={"pandas", "duckdb"},
    owners=["team:publish"],
    description="The records to publish: residents joined with their ok narratives (failed ones excluded and "
    "counted), gated by three blocking Great Expectations suites over the whole dataset. Refuses partitions made "
    "with different settings. Builds the Data Docs (`<data>/reports/data_docs/index.html`, offline) whether or not "
    "the gates pass.",
)
def personas_candidate(
    context: AssetExecutionContext,
    dataset: DatasetSettings,
    residents: pd.DataFrame,
    narratives: pd.DataFrame,
    planning_areas: pd.DataFrame,
    register_hashes: pd.DataFrame,
):
    settings = check_dataset_settings(residents, narratives)
    areas = list_expected_areas(planning_areas, int(settings["total_records"]))
    personas = join_personas(residents, narratives)
    counts = count_join(len(residents), narratives, len(personas))
    checked = add_persona_checks(personas, register_hashes)
    runs = [
        ("residents", residents, {"expected_areas": areas}),
        ("narratives", add_narrative_checks(narratives), build_narrative_suite_parameters(narratives)),
        (
            "personas_dataset",
            checked,
            {"min_rows": 1, "max_rows": max(1, len(residents)), "populated_areas": areas},
        ),
    ]
    site = build_data_docs(runs, dataset.root / "reports" / "data_docs")  # validates each frame once
    docs, reports = site.index, site.reports
    yield Output(
        personas,
        metadata={
            "dagster/row_count": len(personas),
            **{k: v for k, v in counts.items() if k != "failed_by_reason" and v is not None},
            "failed_by_reason": MetadataValue.json(counts["failed_by_reason"]),
            "dataset_settings": MetadataValue.json(settings),
            "data_docs": build_report_link(dataset.root, docs),
            "quality_summary": MetadataValue.md(summarise_candidate(counts, reports)),
            **{f"narration_{k}": v for k, v in sum_narration_metadata(context.instance).items()},
            "preview": MetadataValue.md(
                frame_to_markdown(personas[["uuid", "full_name", "planning_area", "persona"]].head(5), 5)
            ),
        },
    )
    for name, report in zip(SUITES, reports, strict=True):
        yield build_suite_check_result(name, [report], data_docs=build_report_link(dataset.root, docs))


def summarise_candidate(counts: dict[str, Any], reports: list) -> str:
    """The candidate at a glance (Markdown): the join's counts and ok-rate, the gates, the failure reasons."""
    ok_rate = counts["ok_rate"]
    rows = pd.DataFrame(
        [
            {"figure": "residents", "value": counts["residents"]},
            {"figure": "narrated", "value": counts["narrated"]},
            {"figure": "ok", "value": counts["ok"]},
            {"figure": "failed (excluded)", "value": counts["failed_excluded"]},
            {"figure": "ok-rate", "value": "n/a" if ok_rate is None else f"{ok_rate:.1%}"},
            {"figure": "records to publish", "value": counts["published"]},
        ]
    )
    gates = pd.DataFrame(
        [
            {"gate": n, "passed": r.success, "failed expectations": r.failed}
            for n, r in zip(SUITES, reports, strict=True)
        ]
    )
    reasons = pd.DataFrame(list(counts["failed_by_reason"].items()), columns=["failure reason", "records"])
    return "\n\n".join(
        [
            frame_to_markdown(rows, 10),
            frame_to_markdown(gates, 10),
            frame_to_markdown(reasons, 10) if len(reasons) else "No failed narratives.",
        ]
    )


def _fidelity_markdown(fit: pd.DataFrame, report: str) -> str:
    national = fit[fit["scope"] == "Singapore"][["field", "n", "tvd_synthetic_official", "official_source"]]
    return (
        "Total variation distance between the synthetic sample and the official table, nationally (full report: "
        f"`{report}`).\n\n" + frame_to_markdown(national.round(4), 30)
    )


def _narrative_model(narratives: pd.DataFrame) -> tuple[str, str]:
    from persona_assets.core.narratives.local_model import LocalModelError, local_model

    models = sorted(set(narratives["model"].dropna())) if "model" in narratives else []
    licences = []
    for m in models:
        try:
            spec = local_model(m)
            licences.append(f"{spec.upstream}: {spec.licence}")
        except LocalModelError:
            licences.append(f"{m}: see the provider's terms of use")
    return ", ".join(models) or "none", "; ".join(licences) or "n/a"


@asset(
    group_name="publish",
    ins={
        "personas": AssetIn(key="personas_candidate"),
        "residents": AssetIn(key="residents"),
        "narratives": AssetIn(key="persona_narratives"),
        "register_hashes": AssetIn(key=census_key("cea_name_hashes")),
        "fit": AssetIn(key="fit_report"),
        "narrative_figures": AssetIn(key="narrative_report"),
    },
    code_version=code_version("personas_dataset"),
    kinds={"parquet"},
    owners=["team:publish"],
    description="The release: `<data>/published/` (a symlink swapped atomically to `<data>/releases/<version>/`) with "
    "Hugging Face Parquet shards for two configurations, personas (38 fields, records whose narratives passed) "
    "and residents (the full structured sample), and the dataset card README.md with the settings and code "
    "versions that reproduce it. Runs only when the blocking gates on personas_candidate pass; otherwise the "
    "previous release stays live.",
)
def personas_dataset(
    context: AssetExecutionContext,
    dataset: DatasetSettings,
    personas: pd.DataFrame,
    residents: pd.DataFrame,
    narratives: pd.DataFrame,
    register_hashes: pd.DataFrame,
    fit: pd.DataFrame,
    narrative_figures: pd.DataFrame,
) -> MaterializeResult:
    from persona_assets.core.names import register_matches
    from persona_assets.core.narratives.report import summarise_for_card
    from persona_assets.core.publish.card import CardInputs, collect_assumptions, render_dataset_card
    from persona_assets.core.publish.join import select_release_residents
    from persona_assets.core.publish.release import write_release

    settings = check_dataset_settings(residents, narratives)
    counts = count_join(len(residents), narratives, len(personas))
    exact, near = register_matches(residents["full_name"], register_hashes, residents["preferred_english_name"])
    model, licence = _narrative_model(narratives)
    versions = collect_code_versions(context.instance, CARD_CODE_VERSIONS)
    configs = {"personas": personas, "residents": select_release_residents(residents)}
    card = render_dataset_card(
        CardInputs(
            configs=configs,
            assumptions=collect_assumptions(),
            narrative_model=model,
            narrative_model_licence=licence,
            prompt_version=", ".join(sorted(set(narratives["prompt_version"].dropna()))) or "none",
            narrative_ok_rate=counts["ok_rate"],
            join_counts=counts,
            register_full_name_matches=int(exact.sum()),
            register_near_misses=int(near.sum()),
            dataset_settings=settings,
            code_versions=versions,
            fidelity_markdown=_fidelity_markdown(fit, "reports/fit_report/index.html") if len(fit) else None,
            narrative_quality_markdown=summarise_for_card(narrative_figures),
        )
    )
    info = write_release(configs, card, dataset.root, keep=3)
    context.log.info(f"published {info.version}: {info.rows}")
    meta = info.to_metadata()
    return MaterializeResult(
        metadata={
            "dagster/row_count": info.rows.get("personas", 0),
            "version": info.version,
            "published": MetadataValue.path(str(dataset.root / "published")),
            "dataset_card": build_report_link(dataset.root, dataset.root / "published" / "README.html"),
            "dataset_card_markdown": build_report_link(dataset.root, dataset.root / "published" / "README.md"),
            "privacy": MetadataValue.md(
                frame_to_markdown(
                    pd.DataFrame(
                        [
                            {"figure": "register full names reproduced", "records": int(exact.sum())},
                            {"figure": "near misses (same tokens, other order)", "records": int(near.sum())},
                            {"figure": "failed narratives excluded", "records": counts["failed_excluded"]},
                        ]
                    ),
                    5,
                )
            ),
            "rows": MetadataValue.json(info.rows),
            "dataset_settings": MetadataValue.json(settings),
            "failed_narratives_excluded": counts["failed_excluded"],
            "files": MetadataValue.json(meta.get("files", meta)),
            "card_preview": MetadataValue.md(card[:6000]),
        }
    )
