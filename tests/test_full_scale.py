"""The full path at a small scale, through Dagster against the fault-injecting test server (latency 0): residents
and ``persona_narratives`` for *every* record of all 55 planning areas (records_per_partition "all", a few
thousand records), then ``personas_candidate`` and ``personas_dataset``. The guarantees of the 148,000-record
benchmark (``benchmarks/bench_full_scale.py``) at CI's size: every record ends ok or failed (with reasons), the
call cache holds every call, an unchanged re-run makes zero calls, the GX suites and the privacy gate run over all
personas, and the release loads with ``datasets``.

Before the bulk of the records, ``narration_plan`` projects the tokens of the rest from a pilot of three
partitions; the projection must match the measured tokens of the real run within ``PLAN_TOLERANCE``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dagster import DagsterInstance

from persona_assets.core.model.allocation import allocate_areas
from persona_assets.partitions import PLANNING_AREAS
from persona_assets.testing.full_scale import (
    NARRATE,
    PREREQUISITES,
    PUBLISH,
    SAMPLE,
    fault_plan,
    llm_for_test_server,
    pipeline_resources,
    run_partitions,
    run_selection,
)
from persona_assets.testing.llm_server import LLMTestServer

pytestmark = pytest.mark.slow

TOTAL = 2_500
PILOT = ("Bishan", "Bukit Timah", "Queenstown")  # about 8% of the records
#: the projection from the pilot's records against the real run's tokens: |projected / measured - 1|
PLAN_TOLERANCE = 0.10
RERUN = ("Tampines", "Bedok", "Sengkang", "Hougang", "Yishun")  # the re-run: the largest partitions


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from persona_assets.core import storage
    from persona_assets.model.assets import fit_report
    from persona_assets.narratives.plan import narration_plan

    data = tmp_path_factory.mktemp("full_scale")
    server = LLMTestServer(plan=fault_plan).start()
    instance = DagsterInstance.ephemeral()
    cache = data / "cache" / "llm_calls.sqlite"
    res = pipeline_resources(
        data, llm_for_test_server(server.base_url, cache), total_records=TOTAL, base_seed=7, records_per_partition="all"
    )
    try:
        out: dict[str, Any] = {"data": data, "cache": cache, "server": server}
        assert run_selection(PREREQUISITES, res, instance)["success"]
        rest = [a for a in PLANNING_AREAS if a not in PILOT]
        out["pilot"] = run_partitions([*SAMPLE, *NARRATE], PILOT, res, instance)
        areas = storage.load_table(data, "census", "planning_areas").set_index("planning_area")
        alloc = allocate_areas(areas["residents_15plus"], TOTAL)
        out["rest_records"] = int(alloc[rest].sum())
        plan_config = {"ops": {"narration_plan": {"config": {"budgets": [out["rest_records"]]}}}}
        out["plan"] = run_selection([narration_plan], res, instance, run_config=plan_config)
        out["runs"] = out["pilot"] + run_partitions([*SAMPLE, *NARRATE], rest, res, instance)
        out["requests"] = server.requests
        out["rerun"] = run_partitions(NARRATE, RERUN, res, instance)
        out["rerun_requests"] = server.requests - out["requests"]
        out["publish"] = run_selection([fit_report, *PUBLISH], res, instance)
        out["faults"] = dict(server.faults_served)
        yield out
    finally:
        server.stop()


def _narratives(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r["metadata"]["persona_narratives"] for r in runs]


def test_every_record_of_every_partition_ends_ok_or_failed(pipeline) -> None:
    runs = pipeline["runs"]
    assert len(runs) == 55 and all(r["success"] for r in runs), [r["failures"] for r in runs if not r["success"]]
    assert all(r["checks"]["narratives_accounted"] and r["checks"]["residents_privacy"] for r in runs)
    folder = pipeline["data"] / "warehouse"
    residents = pd.read_parquet(folder / "sample" / "residents")
    narratives = pd.read_parquet(folder / "narratives" / "persona_narratives")
    assert len(residents) == TOTAL and sorted(narratives["uuid"]) == sorted(residents["uuid"])
    assert set(narratives["status"]) == {"ok", "failed"}
    failed = narratives[narratives["status"] == "failed"]
    assert failed["failure_reasons"].map(len).min() > 0
    assert 0.01 < len(failed) / TOTAL < 0.05  # the plan's 1 in 40 that never validate
    assert pipeline["faults"]["500"] > 0 and pipeline["faults"]["bad_narrative"] > len(failed)


def test_the_cache_holds_every_call_and_an_unchanged_rerun_makes_none(pipeline) -> None:
    meta = _narratives(pipeline["runs"])
    calls = sum(m["calls"] for m in meta)
    assert pipeline["requests"] == calls
    with sqlite3.connect(pipeline["cache"]) as con:
        cached = con.execute("SELECT count(*) FROM calls").fetchone()[0]
    # every answered call is cached; the 500s (retried) are not answers
    assert cached == calls - pipeline["faults"]["500"]
    rerun = _narratives(pipeline["rerun"])
    assert pipeline["rerun_requests"] == 0 and sum(m["calls"] for m in rerun) == 0
    assert sum(m["cache_hits"] for m in rerun) >= sum(m["records"] for m in rerun) > 500


def test_the_gates_run_over_all_personas_and_the_release_loads_with_datasets(pipeline, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets", exc_type=ImportError)
    pub = pipeline["publish"]
    assert pub["success"], pub["failures"]
    suites = ("residents_dataset_suite", "narratives_dataset_suite", "personas_dataset_suite")
    assert all(pub["checks"][s] for s in suites), pub["check_descriptions"]
    candidate = pub["metadata"]["personas_candidate"]
    narratives = pd.read_parquet(pipeline["data"] / "warehouse" / "narratives" / "persona_narratives")
    ok = int((narratives["status"] == "ok").sum())
    assert candidate["residents"] == TOTAL and candidate["published"] == ok
    assert pub["metadata"]["personas_dataset"]["rows"] == {"personas": ok, "residents": TOTAL}
    published = pipeline["data"] / "published"
    ds = datasets.load_dataset(str(published), split="train", cache_dir=str(tmp_path / "hf"))
    assert ds.num_rows == ok and len(ds.column_names) == 38
    assert len(set(ds["uuid"])) == ok


def test_the_plan_from_a_pilot_matches_the_real_run(pipeline) -> None:
    plan = pipeline["plan"]
    assert plan["success"], plan["failures"]
    meta = plan["metadata"]["narration_plan"]
    pilot = _narratives(pipeline["pilot"])
    assert meta["measured_runs"] == len(PILOT) and meta["model"] == "openai/test-model"
    assert "| budget |" in meta["plan"] and "not in litellm's price map" in meta["plan"]
    frame = pd.read_parquet(pipeline["data"] / "warehouse" / "narratives" / "narration_plan.parquet")
    row = frame[frame["records"] == pipeline["rest_records"]].iloc[0]
    rest = _narratives(pipeline["runs"][len(PILOT) :])
    measured = sum(m.get("prompt_tokens", 0) + m.get("completion_tokens", 0) for m in rest)
    projected = row["prompt_tokens"] + row["completion_tokens"]
    assert abs(projected / measured - 1) <= PLAN_TOLERANCE, (projected, measured)
    assert sum(m["records"] for m in pilot) < 0.15 * pipeline["rest_records"]  # a pilot, not the run
    assert abs(row["calls"] / sum(m["calls"] for m in rest) - 1) <= PLAN_TOLERANCE


def test_rates_count_only_fresh_calls_and_prices_come_from_litellm() -> None:
    """Pure: a run half served from the cache counts half its records; litellm prices a mapped model, the
    embedded model costs nothing, an unmapped one has no price."""
    import litellm

    from persona_assets.core.narratives.plan import Measured, measure_rates, price_tokens, project

    runs = [
        Measured("Bedok", "openai/gpt-4o-mini", 10, 15, 0, 15_000, 30_000, 20.0),
        Measured("Bishan", "openai/gpt-4o-mini", 10, 5, 5, 5_000, 10_000, 5.0),  # half from the cache
    ]
    rates = measure_rates(runs)
    assert rates is not None and rates.records == 15 and rates.calls_per_record == 20 / 15
    assert rates.prompt_tokens_per_record == 20_000 / 15 and rates.records_per_s == 15 / 25
    frame = project(rates, {"all": 1_500}, ["openai/gpt-4o-mini", "local/qwen2.5-coder-1.5b-instruct", "openai/x-y"])
    mini = frame.iloc[0]
    assert mini["prompt_tokens"] == 2_000_000 and mini["completion_tokens"] == 4_000_000 and mini["calls"] == 2_000
    expected = sum(litellm.cost_per_token(model="gpt-4o-mini", prompt_tokens=2_000_000, completion_tokens=4_000_000))
    assert mini["cost_usd"] == round(expected, 2) > 0
    assert mini["wall_hours"] == round(1_500 / (15 / 25) / 3600, 3)
    assert frame.iloc[1]["cost_usd"] == 0.0 and pd.isna(frame.iloc[2]["cost_usd"])
    assert price_tokens("openai/x-y", 1, 1) is None and measure_rates([]) is None


def test_a_backfill_run_of_several_partitions_counts_once_with_all_its_records() -> None:
    """Pure: a multi-partition run repeats the engine's run figures on every partition's materialisation; the plan
    reads it as one run that narrated the sum of the partitions' records."""
    from persona_assets.core.narratives.plan import merge_run_partitions, read_measured

    run = {"calls": 30, "cache_hits": 0, "prompt_tokens": 9_000, "completion_tokens": 6_000, "wall_s": 60.0}
    llm = {"model": "local/qwen2.5-coder-1.5b-instruct"}
    partitions = [(a, {**run, "records": n, "llm": llm}) for a, n in (("Bedok", 12), ("Bishan", 0), ("Yishun", 8))]
    measured = read_measured(*merge_run_partitions(partitions))
    assert measured is not None and measured.records == 20 and measured.calls == 30 and measured.wall_s == 60.0
    assert measured.partition == "3 partitions"
    alone = read_measured(*merge_run_partitions(partitions[:1]))
    assert alone is not None and alone.partition == "Bedok" and alone.records == 12
