"""Blocking Great Expectations gates on every census table: the table's own suite
(``expectations/census/<table>.json``) and the reconciliation suite (``expectations/census/_reconciliation.json``)
run on the table's reconciliation frame. A failure stops every downstream step in the same run."""

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)

from census_sources import TABLES, TableSpec
from census_sources.validate import reconcile
from persona_assets.core.gx_suites import run_suite
from persona_assets.core.markdown import frame_to_markdown
from persona_assets.keys import census_key

RECONCILIATION_SUITE = "census/_reconciliation"


def evaluate_census_table(df: pd.DataFrame, spec: TableSpec) -> tuple[bool, dict[str, object], str]:
    """Run both suites; return (passed, metadata, summary). Pure (no Dagster types in the result)."""
    table_report = run_suite(df, f"census/{spec.name}")
    reports = [table_report]
    recon = reconcile(df.reset_index(drop=True), spec)
    if spec.totals:
        reports.append(run_suite(recon, RECONCILIATION_SUITE))
    passed = all(r.success for r in reports)
    outcomes = pd.DataFrame([rec | {"suite": r.suite} for r in reports for rec in r.as_records()])
    worst = recon.sort_values("excess", ascending=False).head(5) if len(recon) else recon
    metadata: dict[str, object] = {
        "expectations_evaluated": int(sum(r.evaluated for r in reports)),
        "expectations_failed": int(sum(r.failed for r in reports)),
        "results": frame_to_markdown(outcomes, 60),
        "published_totals_checked": len(recon),
        "largest_reconciliation_gaps": frame_to_markdown(worst, 5) if len(worst) else "no published totals",
    }
    summary = "\n".join(r.summary() for r in reports)
    return passed, metadata, summary


def build_census_check(spec: TableSpec) -> AssetChecksDefinition:
    @asset_check(
        asset=census_key(spec.name),
        name=f"{spec.name}_gx_suite",
        blocking=True,
        description=f"Great Expectations suite census.{spec.name} (schema, keys, value sets, non-negative figures)"
        + (" and reconciliation of parts with published totals" if spec.totals else ""),
    )
    def _check(context: AssetCheckExecutionContext, table: pd.DataFrame) -> AssetCheckResult:
        passed, metadata, summary = evaluate_census_table(table, spec)
        if not passed:
            context.log.error(summary)
        return AssetCheckResult(
            passed=passed,
            severity=AssetCheckSeverity.ERROR,
            description=summary.splitlines()[0] if passed else summary,
            metadata={
                k: (MetadataValue.md(v) if isinstance(v, str) and v.startswith("|") else v) for k, v in metadata.items()
            },
        )

    return _check


census_checks = [build_census_check(spec) for spec in TABLES.values()]
