"""``narration_plan``: before a big narration run, what it would take: calls, tokens, hours and cost of a budget of
records, projected from the ``persona_narratives`` partitions narrated so far (their materialisation metadata in
the Dagster instance) for the configured model and endpoint. Shown in the UI as a Markdown table."""

from typing import Any

import pandas as pd
from dagster import AssetExecutionContext, AssetIn, AssetKey, Config, MetadataValue, Output, asset
from pydantic import Field

from persona_assets.code_versions import code_version
from persona_assets.core.markdown import frame_to_markdown
from persona_assets.core.narratives.plan import (
    ASSUMPTIONS,
    count_budget,
    measure_rates,
    merge_run_partitions,
    project,
    read_measured,
)
from persona_assets.keys import census_key
from persona_assets.narratives.resources import NarrativeLLM
from persona_assets.settings import DatasetSettings

#: how many persona_narratives materialisations the plan reads (newest first)
HISTORY = 2_000


class NarrationPlanConfig(Config):
    budgets: list[int] = Field(
        default=[],
        description="Further budgets to project, as numbers of records (besides all records of the dataset and "
        "its current records_per_partition).",
    )
    price_as: list[str] = Field(
        default=[],
        description="Other litellm models to price the same tokens with (e.g. openai/gpt-4o-mini), from litellm's "
        "price map.",
    )


def collect_runs(context: AssetExecutionContext) -> list:
    """Every persona_narratives materialisation that made calls, newest first."""
    by_run: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    records = context.instance.fetch_materializations(AssetKey("persona_narratives"), limit=HISTORY).records
    for record in records:
        m = record.asset_materialization
        if m is None:
            continue
        values = {k: getattr(v, "value", v) for k, v in m.metadata.items()}
        by_run.setdefault(record.run_id, []).append((m.partition or "", values))
    out = []
    for partitions in by_run.values():  # a backfill run of several partitions counts once, with all its records
        run = read_measured(*merge_run_partitions(partitions))
        if run is not None:
            out.append(run)
    return out


@asset(
    group_name="narratives",
    ins={"planning_areas": AssetIn(key=census_key("planning_areas"))},
    code_version=code_version("narration_plan"),
    metadata={"schema": "narratives"},
    kinds={"python"},
    owners=["team:narratives"],
    description="An estimate before a big run: calls, prompt and completion tokens, wall time at the measured "
    "throughput and cost (litellm's price map) for all records of the dataset, for its current "
    "records_per_partition and for any budget set in the config, projected from the persona_narratives runs "
    "recorded in this instance for the configured model (narrate a few partitions first: `make run`'s default "
    "of one record per area is such a pilot). Materialise it again after a pilot to refresh it.",
)
def narration_plan(
    context: AssetExecutionContext,
    config: NarrationPlanConfig,
    dataset: DatasetSettings,
    llm: NarrativeLLM,
    planning_areas: pd.DataFrame,
):
    every_run = collect_runs(context)
    same_model = [r for r in every_run if r.model == llm.model]
    basis = same_model or every_run
    rates = measure_rates(basis)
    budget = dataset.narrative_budget
    budgets = {f"all ({dataset.total_records:,})": dataset.total_records}
    if not budget.is_all:
        current = count_budget(planning_areas, dataset.total_records, budget)
        budgets[f"records_per_partition={dataset.records_per_partition}"] = current
    budgets.update({f"{n:,} records": int(n) for n in config.budgets})
    models = [llm.model, *config.price_as]
    described = llm.describe()
    meta: dict[str, Any] = {
        "model": llm.model,
        "endpoint": described["api_base"],
        "llm": MetadataValue.json(described),
        "assumptions": MetadataValue.md("\n".join(f"- {a}" for a in ASSUMPTIONS)),
    }
    if rates is None:
        frame = pd.DataFrame(columns=["budget", "records", "model", "calls", "prompt_tokens", "completion_tokens"])
        note = (
            "No persona_narratives run has made calls in this instance yet: narrate a pilot first (e.g. "
            "records_per_partition=1 over a few partitions), then materialise narration_plan again."
        )
        context.log.warning(note)
        return Output(frame, metadata={**meta, "plan": MetadataValue.md(note), "measured_runs": 0})
    frame = project(rates, budgets, models)
    basis_note = (
        f"{rates.runs} partition runs of {', '.join(rates.models)}"
        if same_model
        else f"{rates.runs} partition runs of {', '.join(rates.models)} (none of {llm.model} yet)"
    )
    shown = frame.assign(cost_usd=frame["cost_usd"].map(lambda c: "not in litellm's price map" if pd.isna(c) else c))
    context.log.info(f"narration plan from {basis_note}: {frame.to_dict('records')}")
    return Output(
        frame,
        metadata={
            **meta,
            "plan": MetadataValue.md(
                f"Projected from {basis_note} ({rates.records:,.0f} records narrated).\n\n"
                + frame_to_markdown(shown, len(shown))
            ),
            "measured_runs": rates.runs,
            "measured_records": round(rates.records, 1),
            "calls_per_record": round(rates.calls_per_record, 3),
            "prompt_tokens_per_record": round(rates.prompt_tokens_per_record, 1),
            "completion_tokens_per_record": round(rates.completion_tokens_per_record, 1),
            "records_per_hour": round(rates.records_per_s * 3600, 1),
            "tokens_per_s": round(rates.tokens_per_s, 1),
            "projected_tokens_all_records": int(frame["prompt_tokens"].iloc[0] + frame["completion_tokens"].iloc[0]),
        },
    )
