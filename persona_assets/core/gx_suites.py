"""Great Expectations 1.x suites stored as JSON in ``expectations/`` and run against pandas DataFrames.

The suites are data, not code: ``load_suite`` reads them, ``run_suite`` validates a frame with an ephemeral GX
context (created once per process, guarded by a lock) and returns a compact, JSON-safe report that Dagster
checks put into their metadata.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from persona_assets.core.paths import EXPECTATIONS_DIR

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

_LOCK = threading.Lock()
_CONTEXT: dict[str, Any] = {}


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    observed: str


@dataclass(frozen=True)
class SuiteReport:
    suite: str
    success: bool
    evaluated: int
    failed: int
    outcomes: list[ExpectationOutcome] = field(default_factory=list)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    def summary(self) -> str:
        if self.success:
            return f"{self.suite}: all {self.evaluated} expectations passed"
        lines = [f"{self.suite}: {self.failed} of {self.evaluated} expectations failed"]
        for o in self.failures:
            col = f" [{o.column}]" if o.column else ""
            lines.append(f"- {o.expectation}{col}: {o.observed}")
        return "\n".join(lines)

    def as_records(self) -> list[dict[str, Any]]:
        return [
            {"expectation": o.expectation, "column": o.column or "", "success": o.success, "observed": o.observed}
            for o in self.outcomes
        ]


def suite_path(name: str, base: Path | None = None) -> Path:
    return (base or EXPECTATIONS_DIR) / f"{name}.json"


def load_suite(name: str, base: Path | None = None) -> dict[str, Any]:
    path = suite_path(name, base)
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"expectation suite {name!r} not found at {path}") from exc
    if not isinstance(suite, dict) or "expectations" not in suite:
        raise ValueError(f"{path}: not a Great Expectations suite (no 'expectations')")
    return suite


def _validator_for(key: str):
    """A batch definition on an ephemeral context; one per process (GX contexts are costly to build)."""
    with _LOCK:
        if "context" not in _CONTEXT:
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            _CONTEXT["context"] = context
            _CONTEXT["source"] = context.data_sources.add_pandas("sg_personas")
        if key not in _CONTEXT:
            asset = _CONTEXT["source"].add_dataframe_asset(key)
            _CONTEXT[key] = asset.add_batch_definition_whole_dataframe(f"{key}_whole")
        return _CONTEXT[key]


def _observed(result: dict[str, Any]) -> str:
    if "observed_value" in result:
        value = result["observed_value"]
        text = json.dumps(value, default=str) if not isinstance(value, str) else value
        return text if len(text) <= 300 else text[:297] + "..."
    if "unexpected_count" in result:
        examples = result.get("partial_unexpected_list") or []
        shown = ", ".join(repr(v) for v in examples[:5])
        idx = result.get("partial_unexpected_index_list") or []
        rows = f" at rows {idx[:5]}" if idx else ""
        return f"{result['unexpected_count']} unexpected of {result.get('element_count', '?')}" + (
            f": {shown}{rows}" if shown else ""
        )
    return json.dumps(result, default=str)[:300]


def _gx_frame(df: pd.DataFrame) -> pd.DataFrame:
    """GX's pandas engine handles numpy dtypes best: nullable extension dtypes become float/object."""
    out = df.copy()
    for col in out.columns:
        dtype = out[col].dtype
        if isinstance(dtype, pd.Int64Dtype | pd.Float64Dtype):
            out[col] = out[col].astype("float64")
        elif isinstance(dtype, pd.StringDtype | pd.BooleanDtype):
            out[col] = out[col].astype(object)
    return out


def run_suite(
    df: pd.DataFrame,
    suite: dict[str, Any] | str,
    *,
    base: Path | None = None,
    parameters: dict[str, Any] | None = None,
) -> SuiteReport:
    """Validate ``df`` against a suite (a dict or the name of a JSON file in ``expectations/``). ``parameters``
    fill the suite's ``{"$PARAMETER": name}`` placeholders (e.g. the partition key)."""
    from great_expectations.core.expectation_suite import ExpectationSuite

    spec = load_suite(suite, base) if isinstance(suite, str) else suite
    name = spec.get("name", "suite")
    gx_suite = ExpectationSuite(
        name=name, expectations=spec["expectations"], meta=spec.get("meta") or {}, notes=spec.get("notes")
    )
    batch_definition = _validator_for(name.replace("/", "__"))
    with _LOCK:
        batch = batch_definition.get_batch(batch_parameters={"dataframe": _gx_frame(df)})
        result = batch.validate(gx_suite, result_format="SUMMARY", expectation_parameters=parameters or None)
    return summarise_result(name, result)


def summarise_result(suite: str, result: Any) -> SuiteReport:
    """The compact report of a GX validation result (``ExpectationSuiteValidationResult``) of ``suite``."""
    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        outcomes.append(
            ExpectationOutcome(
                expectation=cfg.type,
                column=cfg.kwargs.get("column")
                or (", ".join(cfg.kwargs["column_list"]) if "column_list" in cfg.kwargs else None),
                success=bool(r.success),
                observed=_observed(r.result or {}),
            )
        )
    failed = sum(not o.success for o in outcomes)
    return SuiteReport(
        suite=suite, success=bool(result.success), evaluated=len(outcomes), failed=failed, outcomes=outcomes
    )
