"""The throughput pieces of the narrative engine: the lean litellm client (the cost is litellm's own calculation,
not a second pass) and the sharded engine (worker processes sharing one call cache). Behaviour
only; the throughput itself is measured by ``benchmarks/bench_engine.py``."""

import asyncio
import os
import pickle
import signal
from collections import Counter
from pathlib import Path

import pytest

from persona_assets.core.narratives.client import LiteLLMClient, LiteLLMClientFactory
from persona_assets.core.narratives.engine import CallCache, EngineSettings, EngineStats, NarrativeEngine
from persona_assets.core.narratives.prompts import render_messages
from persona_assets.core.narratives.sharded import (
    ShardedEngine,
    ShardedEngineError,
    default_workers,
    merge_stats,
    split_in_flight,
    split_settings,
)
from persona_assets.testing.llm_server import LLMTestServer

MODEL = "openai/test-model"


def record(i: int) -> dict:
    return {
        "uuid": f"t{i}",
        "full_name": f"Ong Siew Lan {i}",
        "first_name": f"Siew Lan {i}",
        "last_name": "Ong",
        "sex": "Female",
        "age": 52,
        "marital_status": "Married",
        "religion": "Taoism",
        "occupation": "Clerical Support Workers",
        "planning_area": "Bedok",
    }


@pytest.fixture
def server():
    srv = LLMTestServer().start()
    yield srv
    srv.stop()


def test_split_in_flight_and_default_workers() -> None:
    assert split_in_flight(32, 2) == [16, 16]
    assert split_in_flight(7, 3) == [3, 2, 2]
    assert split_in_flight(2, 4) == [1, 1]  # never a worker with nothing in flight
    assert default_workers(32, cpus=2) == 2
    assert default_workers(4, cpus=16) == 1  # fewer than 8 in flight: not worth a second process
    assert default_workers(64, cpus=16) == 8


def test_split_settings_shares_out_the_ceiling_and_the_start() -> None:
    base = EngineSettings(model=MODEL, max_in_flight=256, initial_in_flight=8)
    parts = split_settings(base, 2)
    assert [(p.max_in_flight, p.initial_in_flight) for p in parts] == [(128, 4), (128, 4)]  # 8 at once in all
    assert [(p.max_in_flight, p.initial_in_flight) for p in split_settings(base, 3)] == [(86, 3), (85, 3), (85, 2)]
    one = EngineSettings(model=MODEL, max_in_flight=8, initial_in_flight=1)
    assert [(p.max_in_flight, p.initial_in_flight) for p in split_settings(one, 2)] == [(4, 1), (4, 1)]  # >= 1 each
    assert all(p.model == MODEL for p in parts)


def test_merge_stats_adds_every_field() -> None:
    a = EngineStats(calls=3, cache_hits=1, retries=2, prompt_tokens=10, completion_tokens=20, cost=0.5)
    a.transport_errors.update({"429": 2})
    b = EngineStats(calls=4, retries=1, prompt_tokens=5, cost=0.25)
    b.transport_errors.update({"429": 1, "timeout": 1})
    m = merge_stats([a, b])
    assert (m.calls, m.cache_hits, m.retries, m.prompt_tokens, m.completion_tokens) == (7, 1, 3, 15, 20)
    assert m.cost == pytest.approx(0.75)
    assert m.transport_errors == Counter({"429": 3, "timeout": 1})
    assert a.transport_errors == Counter({"429": 2})  # inputs untouched


def test_client_cost_is_litellms_own_and_unpriced_models_cost_zero(server) -> None:
    messages = render_messages(record(0))

    async def both():
        unpriced = await LiteLLMClient(MODEL, server.base_url, "sk-test").complete(messages, {"seed": 1})
        priced = await LiteLLMClient("openai/gpt-4o-mini", server.base_url, "sk-test").complete(messages, {"seed": 1})
        return unpriced, priced

    unpriced, priced = asyncio.run(both())
    assert unpriced.cost == 0.0 and (unpriced.prompt_tokens, unpriced.completion_tokens) == (100, 200)
    import litellm

    expected = sum(litellm.cost_per_token(model="openai/gpt-4o-mini", prompt_tokens=100, completion_tokens=200))
    assert priced.cost == pytest.approx(expected) and priced.cost > 0


def test_client_factory_is_picklable_and_hides_the_key() -> None:
    factory = LiteLLMClientFactory(MODEL, "http://127.0.0.1:1/v1", "sk-very-secret")
    assert "sk-very-secret" not in repr(factory)
    client = pickle.loads(pickle.dumps(factory))()
    assert isinstance(client, LiteLLMClient) and "sk-very-secret" not in repr(client)


def test_sharded_engine_one_result_per_record_in_order_stats_merged_and_cache_shared(server, tmp_path: Path) -> None:
    server.plan = lambda req, n: "500" if n == 1 else None  # every prompt's first request fails once
    settings = EngineSettings(model=MODEL, max_in_flight=4, backoff_base_s=0.01, timeout_s=10.0)
    records = [record(i) for i in range(10)]
    cache_path = tmp_path / "c.sqlite"
    with ShardedEngine(LiteLLMClientFactory(MODEL, server.base_url, "sk-test"), cache_path, settings, 2) as eng:
        assert eng.workers == 2
        results = eng.run(records)
        assert [r.uuid for r in results] == [r["uuid"] for r in records]
        assert all(r.status == "ok" for r in results), [r.reasons for r in results]
        first = eng.last_run_stats
        assert first.calls == 20 and first.retries == 10 and first.transport_errors == Counter({"500": 10})
        assert first.prompt_tokens == 100 * 10 and first.completion_tokens == 200 * 10
        assert server.requests == 20
        again = eng.run(records)  # unchanged re-run through the shared cache: zero calls
        assert eng.last_run_stats.calls == 0 and eng.last_run_stats.cache_hits == 10
        assert [r.texts for r in again] == [r.texts for r in results]
        assert eng.stats.calls == 20 and eng.stats.cache_hits == 10  # accumulated over both runs
        assert eng.run([]) == []
        os.kill(eng._procs[0].pid, signal.SIGKILL)  # a worker that dies is an error, never a hang or a lost record
        eng._procs[0].join()
        with pytest.raises(ShardedEngineError, match="died"):
            eng.run(records)
    assert server.requests == 20
    # every worker wrote to the one cache: a plain single-process engine finds all of it
    single = NarrativeEngine(LiteLLMClient(MODEL, server.base_url, "sk-test"), CallCache(cache_path), settings)
    asyncio.run(single.run(records))
    assert single.stats.calls == 0 and single.stats.cache_hits == 10


def test_server_concurrency_limit_queues_the_excess_and_reports_its_peak(tmp_path: Path) -> None:
    """The benchmark's provider: at most C requests served at once, the rest queued (none refused); the engine
    keeps more than C in flight and every record still ends ok."""
    import json
    import time
    import urllib.request

    srv = LLMTestServer(latency_s=0.1, max_concurrency=3).start()
    try:
        settings = EngineSettings(model=MODEL, max_in_flight=6, timeout_s=10.0)
        engine = NarrativeEngine(
            LiteLLMClient(MODEL, srv.base_url, "sk-test"), CallCache(tmp_path / "c.sqlite"), settings
        )
        t0 = time.perf_counter()
        results = asyncio.run(engine.run([record(i) for i in range(12)]))
        wall = time.perf_counter() - t0
        assert all(r.status == "ok" for r in results)
        assert srv.peak_active == 3  # 6 in flight at the client, never more than 3 served
        assert wall >= 4 * 0.1  # 12 requests through 3 slots of 0.1 s: at least 4 rounds
        with urllib.request.urlopen(f"{srv.base_url}/stats", timeout=5) as resp:
            stats = json.load(resp)
        assert {k: stats[k] for k in ("requests", "active", "peak_active", "max_concurrency")} == {
            "requests": 12,
            "active": 0,
            "peak_active": 3,
            "max_concurrency": 3,
        }
        assert stats["overload"] == "queue" and stats["rejected"] == 0
    finally:
        srv.stop()


def test_engine_keeps_at_most_max_in_flight_and_returns_results_in_record_order(tmp_path: Path) -> None:
    srv = LLMTestServer(latency_s=0.1).start()  # no limit: the peak is the engine's own (0.1 s >> client CPU)
    try:
        settings = EngineSettings(model=MODEL, max_in_flight=5, timeout_s=10.0)
        engine = NarrativeEngine(
            LiteLLMClient(MODEL, srv.base_url, "sk-test"), CallCache(tmp_path / "c.sqlite"), settings
        )
        records = [record(i) for i in range(30)]
        results = asyncio.run(engine.run(records))
        assert [r.uuid for r in results] == [r["uuid"] for r in records]
        assert all(r.status == "ok" for r in results) and srv.requests == 30
        assert srv.peak_active == 5
        assert engine.window() >= settings.max_in_flight  # enough records in progress to fill every slot
    finally:
        srv.stop()


def test_litellms_import_time_objects_are_frozen_out_of_the_collector(server) -> None:
    """After the client's first use, litellm's import-time objects sit in the permanent generation: a full
    collection no longer walks them (it stalled the event loop for ~0.2 s with calls in flight)."""
    import gc

    asyncio.run(LiteLLMClient(MODEL, server.base_url, "sk-test").complete(render_messages(record(0)), {"seed": 1}))
    assert gc.get_freeze_count() > 100_000


def test_one_run_at_a_time_per_engine_and_a_failing_record_stops_the_batch(server, tmp_path: Path) -> None:
    settings = EngineSettings(model=MODEL, max_in_flight=2, timeout_s=10.0)
    engine = NarrativeEngine(
        LiteLLMClient(MODEL, server.base_url, "sk-test"), CallCache(tmp_path / "c.sqlite"), settings
    )

    async def two_at_once():
        return await asyncio.gather(engine.run([record(0)]), engine.run([record(1)]), return_exceptions=True)

    first, second = asyncio.run(two_at_once())
    assert first[0].status == "ok" and isinstance(second, RuntimeError) and "already running" in str(second)
    # a record the engine cannot even read raises itself (not an exception group), and the engine is reusable
    with pytest.raises(KeyError):
        asyncio.run(engine.run([record(2), {"full_name": "no uuid"}]))
    assert [r.status for r in asyncio.run(engine.run([record(3)]))] == ["ok"]
