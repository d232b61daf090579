"""``persona_narratives``: the 7 persona texts and 6 attribute texts of every chosen resident of one planning
area, written through litellm (the embedded local model by default), validated against the record and resampled;
each record ends ``ok`` or ``failed`` with its reasons. ``narrative_report``: their quality over all partitions."""

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

from persona_assets.code_versions import NARRATIVES, code_version
from persona_assets.core.gx_suites import run_suite
from persona_assets.core.markdown import frame_to_markdown
from persona_assets.core.narratives.engine import CallCache
from persona_assets.core.narratives.partition import narrate_partition, select_records
from persona_assets.core.narratives.report import build_narrative_report, render_markdown, write_narrative_report
from persona_assets.core.quality import add_narrative_checks
from persona_assets.core.schema import LLM_FIELDS
from persona_assets.gx_checks import build_suite_check_result
from persona_assets.io_managers import SETTINGS_METADATA
from persona_assets.narratives.resources import NarrativeLLM, configured_llm_model, configured_prompt_version
from persona_assets.partitions import PLANNING_AREAS, planning_area_partitions
from persona_assets.settings import DatasetSettings


@asset(
    group_name="narratives",
    partitions_def=planning_area_partitions,
    ins={"residents": AssetIn(key="residents")},
    check_specs=[
        AssetCheckSpec(
            "narratives_accounted",
            asset="persona_narratives",
            blocking=True,
            description="Every chosen resident has exactly one row, ok with all 13 texts or failed with reasons.",
        ),
        AssetCheckSpec(
            "narratives_gx_suite",
            asset="persona_narratives",
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
    "residents per partition get texts is the dataset's records_per_partition; each partition records it.",
)
def persona_narratives(
    context: AssetExecutionContext, dataset: DatasetSettings, llm: NarrativeLLM, residents: pd.DataFrame
):
    chosen = select_records(residents, dataset.narrative_budget)
    cache = CallCache(llm.cache_file(dataset.root))
    try:
        with llm.open_client() as client:  # the embedded server starts on the first call (none for cache hits)
            frame, summary = narrate_partition(chosen, client, cache, llm.engine_settings(tuple(PLANNING_AREAS)))
    finally:
        cache.close()
    ok = frame[frame["status"] == "ok"]
    context.log.info(
        f"{context.partition_key}: {summary['ok']}/{summary['records']} ok, {summary['calls']} calls, "
        f"{summary['cache_hits']} cache hits"
    )
    preview_cols = ["uuid", "persona", "culinary_persona", "hobbies_and_interests_list"]
    yield Output(
        frame,
        metadata={
            "dagster/row_count": len(frame),
            "residents_in_partition": len(residents),
            "records_per_partition": dataset.records_per_partition,
            SETTINGS_METADATA: MetadataValue.json(dataset.narratives_settings()),
            **{k: v for k, v in summary.items() if k not in ("top_failure_reasons", "transport_errors", "limit_cuts")},
            "limit_cuts": MetadataValue.json(summary.get("limit_cuts", {})),
            "top_failure_reasons": MetadataValue.json(summary["top_failure_reasons"]),
            "transport_errors": MetadataValue.json(summary.get("transport_errors", {})),
            "total_tokens": summary.get("prompt_tokens", 0) + summary.get("completion_tokens", 0),
            "llm": MetadataValue.json(llm.describe()),
            "prompt_version": llm.profile().prompt_version,
            "preview": MetadataValue.md(frame_to_markdown(ok[preview_cols].head(3), 3) if len(ok) else "no ok rows"),
        },
    )
    problems = []
    if len(frame) != len(chosen) or set(frame["uuid"]) != set(chosen["uuid"].astype(str)):
        problems.append(f"{len(frame)} rows for {len(chosen)} chosen residents")
    failed = frame[frame["status"] == "failed"]
    if (failed["failure_reasons"].map(len) == 0).any():
        problems.append("failed rows without a reason")
    if not set(frame["status"]) <= {"ok", "failed"}:
        problems.append(f"unexpected statuses {sorted(set(frame['status']))}")
    if len(ok) and ok[list(LLM_FIELDS)].isna().any().any():
        problems.append("ok rows with missing texts")
    yield AssetCheckResult(
        check_name="narratives_accounted",
        passed=not problems,
        severity=AssetCheckSeverity.ERROR,
        description="; ".join(problems) or f"{len(ok)} ok, {len(failed)} failed (with reasons), none lost",
        metadata={"chosen": len(chosen), "rows": len(frame), "ok": len(ok), "failed": len(failed)},
    )
    yield build_suite_check_result(
        "narratives_gx_suite", [run_suite(add_narrative_checks(frame), "narratives")], AssetCheckSeverity.WARN
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
            "report": MetadataValue.path(str(paths["index"])),
            "charts": MetadataValue.json({k: str(v) for k, v in paths.items() if k != "index"}),
        },
    )
