"""Great Expectations suite reports as Dagster check results: every expectation with its observed value and
pass/fail goes into the check's metadata, so the UI shows why a gate failed."""

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from persona_assets.core.gx_suites import SuiteReport
from persona_assets.core.markdown import frame_to_markdown


def build_suite_check_result(
    check_name: str,
    reports: list[SuiteReport],
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR,
    partition: str | None = None,
    **extra: object,
) -> AssetCheckResult:
    """The check result of ``reports``; on a partitioned asset, ``partition`` names the partition in the
    description and the metadata (the UI's check history lists results without their partition)."""
    passed = all(r.success for r in reports)
    outcomes = pd.DataFrame([rec | {"suite": r.suite} for r in reports for rec in r.as_records()])
    failed = outcomes[~outcomes["success"]] if len(outcomes) else outcomes
    summary = "\n".join(r.summary() for r in reports)
    if partition is not None:
        summary = f"{partition}: {summary}"
        extra = {"partition": partition, **extra}
    return AssetCheckResult(
        check_name=check_name,
        passed=passed,
        severity=severity,
        description=summary if not passed else summary.replace("\n", "; "),
        metadata={
            "suites": ", ".join(r.suite for r in reports),
            "expectations_evaluated": int(sum(r.evaluated for r in reports)),
            "expectations_failed": int(sum(r.failed for r in reports)),
            "failed_expectations": MetadataValue.md(frame_to_markdown(failed, 40) if len(failed) else "none"),
            "results": MetadataValue.md(frame_to_markdown(outcomes, 100)),
            **extra,
        },
    )
