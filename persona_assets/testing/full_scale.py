"""The whole path through Dagster against the OpenAI-compatible test server: residents and ``persona_narratives``
for every record of every planning area, then ``personas_candidate`` (the blocking GX suites and the privacy gate
over all personas) and ``personas_dataset`` (the release). Used by ``tests/test_full_scale.py`` (a few thousand
records) and ``benchmarks/bench_full_scale.py`` (148,000).

Each stage is one in-process ``materialize`` per partition (as one queued run of a backfill is) against one
instance and one warehouse; :func:`run_partitions` returns a row per run (success, seconds, the materialisation
metadata of the selected assets, CPU seconds of this process).
"""

from __future__ import annotations

import hashlib
import json
import resource
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from dagster import AssetsDefinition, DagsterInstance, materialize

from persona_assets.census.assets import area_population, census_assets, planning_areas
from persona_assets.definitions import ASSETS as DEFINED_ASSETS
from persona_assets.io_managers import NetworkIOManager, WarehouseIOManager
from persona_assets.model.assets import fit_report, persona_network
from persona_assets.names.assets import NameSources, name_report, name_tokens
from persona_assets.narratives.assets import narrative_report, persona_narratives
from persona_assets.narratives.resources import NarrativeLLM
from persona_assets.publish.assets import personas_candidate, personas_dataset
from persona_assets.resources import CensusSnapshot
from persona_assets.sample.assets import residents
from persona_assets.settings import DatasetSettings

ASSETS: list[AssetsDefinition] = list(DEFINED_ASSETS)
PREREQUISITES = [*census_assets, planning_areas, persona_network, name_tokens]
SAMPLE = [area_population, residents]
NARRATE = [persona_narratives]
REPORTS = [fit_report, name_report]
PUBLISH = [narrative_report, personas_candidate, personas_dataset]  # the card summarises the narrative report
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # every event still goes to the instance


def llm_for_test_server(base_url: str, cache_path: Path | None = None) -> NarrativeLLM:
    """The LLM resource for the test server: litellm's OpenAI-compatible provider, short backoff."""
    return NarrativeLLM(
        model="openai/test-model",
        api_base=base_url,
        api_key="sk-test-not-a-secret",
        cache_path=str(cache_path) if cache_path else "",
        backoff_base_s=0.01,
        timeout_s=30,
    )


def pipeline_resources(data: Path, llm: NarrativeLLM, **settings: Any) -> dict[str, Any]:
    """Every resource of the code location, on the warehouse at ``data``; ``settings``: the dataset's fields."""
    dataset = DatasetSettings(data_dir=str(data), **settings)
    return {
        "dataset": dataset,
        "io_manager": WarehouseIOManager(settings=dataset),
        "network_io_manager": NetworkIOManager(settings=dataset),
        "census_snapshot": CensusSnapshot(),
        "name_sources": NameSources(),
        "llm": llm,
    }


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_selection(
    selection: Sequence[AssetsDefinition],
    resources: dict[str, Any],
    instance: DagsterInstance,
    partition: str | None = None,
    run_config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One in-process run of ``selection`` (for one partition); its success, failures, seconds, CPU seconds,
    asset-check outcomes and the metadata values of each materialisation."""
    t0, c0 = time.perf_counter(), cpu_seconds()
    result = materialize(
        ASSETS,
        selection=list(selection),
        partition_key=partition,
        resources=resources,
        instance=instance,
        run_config={**QUIET, **(run_config or {})},
        raise_on_error=False,
    )
    row: dict[str, Any] = {"partition": partition, "success": result.success}
    row["failures"] = [
        str(e.event_specific_data.error)[:2000]
        for e in result.all_events
        if e.event_type_value in ("STEP_FAILURE", "RUN_FAILURE") and getattr(e.event_specific_data, "error", None)
    ]
    row["metadata"] = {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }
    row["checks"] = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    row["check_descriptions"] = {e.check_name: e.description for e in result.get_asset_check_evaluations()}
    row["seconds"] = time.perf_counter() - t0
    row["cpu_seconds"] = cpu_seconds() - c0
    return row


def run_partitions(
    selection: Sequence[AssetsDefinition],
    areas: Iterable[str],
    resources: dict[str, Any],
    instance: DagsterInstance,
) -> list[dict[str, Any]]:
    """One run of ``selection`` per planning area, one after another."""
    return [run_selection(selection, resources, instance, area) for area in areas]


def fault_plan(request: dict[str, Any], seen: int) -> str | None:
    """A deterministic mix of what a real provider does to a large run, by a hash of the record's facts: 1 record
    in 40 always answers a narrative that fails validation (it ends ``failed`` with reasons), 1 in 5 does so at
    its first answer only (repaired or resampled), 1 in 25 gets a 500 at its first request (retried)."""
    from persona_assets.testing.llm_server import facts_of

    facts = facts_of(request)
    if facts is None:
        return None
    h = int(hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:8], 16)
    if h % 40 == 0:
        return "bad_narrative"
    if seen == 1 and h % 5 == 1:
        return "bad_narrative"
    if seen == 1 and h % 25 == 2:
        return "500"
    return None
