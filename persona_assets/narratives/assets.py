"""``persona_narratives``: the 7 persona texts and 6 attribute texts of every chosen resident of one planning
area, written through litellm (the embedded local model by default), validated against the record and resampled;
each record ends ``ok`` or ``failed`` with its reasons. ``narrative_report``: their quality over all partitions."""

from pathlib import Path
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetIn,
    Config,
    MetadataValue,
    Output,
    asset,
)

from persona_assets.code_versions import NARRATIVES, code_version
from persona_assets.core.gx_suites import run_suite
from persona_assets.core.markdown import frame_to_markdown
from persona_assets.core.narratives.partition import narrate_partition, select_records
from persona_assets.core.narratives.report import build_narrative_report, render_markdown, write_narrative_report
from persona_assets.core.quality import add_narrative_checks, build_narrative_suite_parameters
from persona_assets.core.schema import LLM_FIELDS
from persona_assets.gx_checks import build_suite_check_result
from persona_assets.io_managers import SETTINGS_METADATA
from persona_assets.keys import census_key
from persona_assets.narratives.resources import (
    NarrativeLLM,
    configured_llm_model,
    configured_llm_pool,
    configured_prompt_version,
)
from persona_assets.partitions import (
    AREA_BACKFILL_POLICY,
    PLANNING_AREAS,
    build_partition_check_spec,
    concat_partitions,
    planning_area_partitions,
    split_by_area,
    yield_partition_check_results,
)
from persona_assets.report_links import build_report_link
from persona_assets.settings import DatasetSettings


@asset(
    group_name="narratives",
    partitions_def=planning_area_partitions,
    backfill_policy=AREA_BACKFILL_POLICY,
    pool=configured_llm_pool(),  # one narratives step at a time per LLM endpoint (dagster.yaml: concurrency.pools)
    ins={"residents": AssetIn(key="residents"), "planning_areas": AssetIn(key=census_key("planning_areas"))},
    check_specs=[
        build_partition_check_spec(
            "narratives_accounted",
            "persona_narratives",
            blocking=True,
            description="Every chosen resident has exactly one row, ok with all 13 texts or failed with reasons.",
        ),
        build_partition_check_spec(
            "narratives_gx_suite",
            "persona_narratives",
            blocking=False,
            description="Great Expectations suite expectations/narratives.json on this partition: ok-rate threshold, "
            "text lengths, valid lists, no duplicate texts. A warning here (one or two records per partition make "
            "the ok-rate noisy); the same suite blocks publication over all partitions.",
        ),
    ],
    code_version=code_version(NARRATIVES, llm_model=configured_llm_model(), prompt_profile=configured_prompt_version()),
    metadata={"schema": "narratives"},
    kinds={"python", "duckdb"},
    owners=["team:narratives"],
    description="Persona and attribute texts (SPEC section 3) per resident through litellm: versioned prompts "
    "with guardrails, JSON-schema output (a llama.cpp grammar for the embedded model), rule validation against "
    "the record with resampling, a durable call cache (an unchanged partition makes zero calls), bounded "
    "concurrency with retries and timeouts. Records whose texts fail are kept as failed, with reasons. How many "
    "residents get texts is the dataset's records_per_partition (a count per partition, all, or 'N in all' "
    "spread over the areas by population, from census/planning_areas); each partition records it.",
)
def persona_narratives(
    context: AssetExecutionContext,
    dataset: DatasetSettings,
    llm: NarrativeLLM,
    residents: pd.DataFrame,
    planning_areas: pd.DataFrame,
):
    areas = context.partition_keys  # one, or several when a backfill policy groups partitions into one run
    by_area = split_by_area(residents, areas)
    wanted = dataset.narrative_budget.allocate(planning_areas.set_index("planning_area")["residents_15plus"])
    chosen = concat_partitions([select_records(by_area[a], wanted[a]) for a in areas])
    cache = llm.open_cache(dataset.root)
    try:  # one engine over the chosen residents of every partition of the run: one concurrency limit, one client
        with llm.open_client() as client:  # the embedded server starts on the first call (none for cache hits)
            frame, summary = narrate_partition(chosen, client, cache, llm.engine_settings(tuple(PLANNING_AREAS)))
    finally:
        cache.close()
    context.log.info(
        f"{', '.join(areas) if len(areas) <= 3 else f'{len(areas)} partitions'}: {summary['ok']}/{summary['records']} "
        f"ok, {summary['calls']} calls, {summary['cache_hits']} cache hits"
    )
    preview_cols = ["uuid", "persona", "culinary_persona", "hobbies_and_interests_list"]
    for area in areas:
        rows = frame[frame["planning_area"] == area] if len(areas) > 1 else frame
        area_ok = rows[rows["status"] == "ok"]
        metadata: dict[str, Any] = {
            "dagster/row_count": len(rows),
            "residents_in_partition": len(by_area[area]),
            "records": len(rows),
            "ok": len(area_ok),
            "failed": len(rows) - len(area_ok),
            "ok_rate": round(len(area_ok) / len(rows), 4) if len(rows) else 0.0,
            "preview": MetadataValue.md(
                frame_to_markdown(area_ok[preview_cols].head(3), 3) if len(area_ok) else "no ok rows"
            ),
        }
        context.add_asset_metadata(metadata, partition_key=area)
    run_summary = {k: v for k, v in summary.items() if k not in ("records", "ok", "failed", "ok_rate")}
    yield Output(
        frame,
        metadata={
            "records_per_partition": dataset.records_per_partition,
            SETTINGS_METADATA: MetadataValue.json(dataset.narratives_settings()),
            # the engine's figures are for the run (every partition it narrated), not for this partition alone
            "partitions_in_run": len(areas),
            "run_ok_rate": summary["ok_rate"],
            **{
                k: v
                for k, v in run_summary.items()
                if k not in ("top_failure_reasons", "transport_errors", "limit_cuts")
            },
            "limit_cuts": MetadataValue.json(summary.get("limit_cuts", {})),
            "top_failure_reasons": MetadataValue.json(summary["top_failure_reasons"]),
            "transport_errors": MetadataValue.json(summary.get("transport_errors", {})),
            "total_tokens": summary.get("prompt_tokens", 0) + summary.get("completion_tokens", 0),
            "llm": MetadataValue.json(llm.describe()),
            "prompt_version": llm.profile().prompt_version,
        },
    )
    accounted, suites = {}, {}
    for area in areas:
        rows = frame[frame["planning_area"] == area] if len(areas) > 1 else frame
        picked = chosen[chosen["planning_area"] == area] if len(areas) > 1 else chosen
        accounted[area] = build_accounted_result(area, rows, picked)
        suites[area] = build_suite_check_result(
            "narratives_gx_suite",
            [run_suite(add_narrative_checks(rows), "narratives", parameters=build_narrative_suite_parameters(rows))],
            AssetCheckSeverity.WARN,
            partition=area,
        )
    yield from yield_partition_check_results(context, accounted)
    yield from yield_partition_check_results(context, suites)


def build_accounted_result(area: str, frame: pd.DataFrame, chosen: pd.DataFrame) -> AssetCheckResult:
    """``narratives_accounted`` of one partition: one row per chosen resident, ok with every text or failed with
    reasons."""
    problems = []
    if len(frame) != len(chosen) or set(frame["uuid"]) != set(chosen["uuid"].astype(str)):
        problems.append(f"{len(frame)} rows for {len(chosen)} chosen residents")
    ok = frame[frame["status"] == "ok"]
    failed = frame[frame["status"] == "failed"]
    if (failed["failure_reasons"].map(len) == 0).any():
        problems.append("failed rows without a reason")
    if not set(frame["status"]) <= {"ok", "failed"}:
        problems.append(f"unexpected statuses {sorted(set(frame['status']))}")
    if len(ok) and ok[list(LLM_FIELDS)].isna().any().any():
        problems.append("ok rows with missing texts")
    return AssetCheckResult(
        check_name="narratives_accounted",
        passed=not problems,
        severity=AssetCheckSeverity.ERROR,
        description=f"{area}: "
        + ("; ".join(problems) or f"{len(ok)} ok, {len(failed)} failed (with reasons), none lost"),
        metadata={"partition": area, "chosen": len(chosen), "rows": len(frame), "ok": len(ok), "failed": len(failed)},
    )


class NarrativeReportConfig(Config):
    """Where the report's HTML page and charts go."""

    report_dir: str = ""  # default: <dataset root>/reports/narrative_report


@asset(
    group_name="narratives",
    ins={"narratives": AssetIn(key="persona_narratives"), "residents": AssetIn(key="residents")},
    metadata={"schema": "narratives"},
    code_version=code_version("narrative_report"),
    kinds={"pandas"},
    owners=["team:narratives"],
    description="Narrative quality over every narrated record: lengths in tokens and characters per field (vs "
    "NVIDIA's release), distinct-2/3, near-duplicate share, the most common 3-grams and nouns, example anchoring, "
    "the validator's reasons per rule, first-try ok-rate and repairs, real Singapore places named; PNG charts and "
    "an offline HTML page under data/reports/narrative_report/. Stores every figure in long form (scope, metric, "
    "value).",
)
def narrative_report(
    context: AssetExecutionContext,
    config: NarrativeReportConfig,
    dataset: DatasetSettings,
    narratives: pd.DataFrame,
    residents: pd.DataFrame,
) -> Output[pd.DataFrame]:
    report = build_narrative_report(narratives, residents)
    default = dataset.root / "reports" / "narrative_report"
    out_dir = Path(config.report_dir).resolve() if config.report_dir else default
    paths = write_narrative_report(report, out_dir)
    s = report.summary
    context.log.info(f"narrative report over {s['records']} records: {paths['index']}")
    return Output(
        report.figures(),
        metadata={
            "records": s["records"],
            "key_figures": MetadataValue.md(render_markdown(report)),
            "per_field": MetadataValue.md(frame_to_markdown(report.fields, len(report.fields))),
            "rules": MetadataValue.md(
                frame_to_markdown(report.rules[report.rules.drop(columns="rule").sum(axis=1) > 0], 30)
            ),
            "ok_rate": s["ok_rate"],
            "first_try_ok_rate": s["first_try_ok_rate"],
            "near_duplicate_record_share": s["near_duplicate_record_share"],
            "example_anchoring_share": s["example_anchoring_share"],
            "report": build_report_link(dataset.root, paths["index"]),  # a link to make dev's report server
            "charts": MetadataValue.json({k: str(v) for k, v in paths.items() if k != "index"}),
        },
    )
