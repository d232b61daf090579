"""Adaptive concurrency against the real test server: the engine finds a provider's limit with no tuning — it
backs off when a saturated server queues (no 429, only latency) and when it refuses (429), keeps a server with room
busy up to the ceiling, and loses no record. Also the vLLM/reasoning-model shapes and ``finish_reason: length``.
Short runs (L = 50 ms); the figures at scale are ``benchmarks/bench_adaptive.py``'s."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from persona_assets.core.narratives.client import LiteLLMClient
from persona_assets.core.narratives.concurrency import AdaptiveLimit
from persona_assets.core.narratives.engine import CallCache, EngineSettings, NarrativeEngine
from persona_assets.testing.llm_server import REASONING_TOKENS, LLMTestServer

MODEL = "openai/test-model"


def record(i: int) -> dict:
    return {
        "uuid": f"a{i}",
        "full_name": f"Tan Wei Ming {i}",
        "first_name": f"Wei Ming {i}",
        "sex": "Male",
        "age": 34,
        "marital_status": "Married",
        "religion": "Buddhism",
        "occupation": "Professionals",
        "planning_area": "Bedok",
    }


def run(server: LLMTestServer, tmp_path: Path, n: int, warm: bool = False, **settings) -> tuple[NarrativeEngine, list]:
    """``n`` records through a fresh engine; ``warm``: after two calls of another engine (own cache, fixed limit 2),
    for the tests that read the controller's latency measurements — the first calls of a process pay litellm's
    lazy set-up (seconds on a loaded CI machine), and a cold first epoch would be the latency reference."""
    client = LiteLLMClient(MODEL, server.base_url, "sk-test")
    if warm:
        fixed = EngineSettings(model=MODEL, timeout_s=30.0, areas=("Bedok",), max_in_flight=2, adaptive=False)
        asyncio.run(NarrativeEngine(client, CallCache(tmp_path / "warm.sqlite"), fixed).run([record(-1), record(-2)]))
    s = EngineSettings(model=MODEL, timeout_s=30.0, backoff_base_s=0.02, areas=("Bedok",), **settings)
    eng = NarrativeEngine(client, CallCache(tmp_path / "c.sqlite"), s)
    return eng, asyncio.run(eng.run([record(i) for i in range(n)]))


def test_a_queueing_server_is_found_from_its_latency_alone(tmp_path: Path) -> None:
    """C = 4 served at once, the rest queued (like vLLM: never a 429). Untuned (start 8, ceiling 64), the limit
    must come down from where latency only climbs, and stay about at or above what the server serves."""
    srv = LLMTestServer(latency_s=0.2, max_concurrency=4).start()
    try:
        eng, results = run(srv, tmp_path, 200, warm=True, max_in_flight=64)
    finally:
        srv.stop()
    assert len(results) == 200 and all(r.status == "ok" for r in results)
    assert eng.stats.limit_cuts["queueing"] >= 1 and srv.rejected == 0, eng.limiter.trace  # type: ignore[union-attr]
    assert eng.stats.peak_in_flight < 64  # never ran up to the ceiling, as a 429-only AIMD would
    assert 3 <= eng.stats.settled_limit <= 20, eng.limiter.trace  # type: ignore[union-attr]


def test_a_server_that_refuses_above_c_is_never_pushed_past_one_and_a_half_c(tmp_path: Path) -> None:
    srv = LLMTestServer(latency_s=0.2, max_concurrency=6, overload="reject", retry_after_s=0.05).start()
    try:
        eng, results = run(srv, tmp_path, 300, warm=True, max_in_flight=64)
    finally:
        srv.stop()
    assert len(results) == 300 and all(r.status == "ok" for r in results), [r.reasons for r in results][:3]
    assert srv.rejected > 0 and eng.stats.limit_cuts["overload"] >= 1  # it probed above C and backed off
    assert srv.peak_in_flight <= 9  # 1.5 * C, refused requests included
    assert 4 <= eng.stats.settled_limit <= 9, eng.limiter.trace  # type: ignore[union-attr]
    assert srv.rejected < 0.1 * 300  # a probe now and then, not a 429 every round trip


def test_a_server_with_room_is_driven_up_to_the_ceiling(tmp_path: Path) -> None:
    srv = LLMTestServer(latency_s=0.3).start()  # no limit: latency holds at any concurrency
    try:
        eng, results = run(srv, tmp_path, 150, warm=True, max_in_flight=12, initial_in_flight=2)
    finally:
        srv.stop()
    assert all(r.status == "ok" for r in results)
    assert eng.stats.peak_in_flight == 12 and eng.stats.concurrency_limit == 12
    assert not eng.stats.limit_cuts


def test_without_enough_work_the_limit_does_not_grow() -> None:
    async def main() -> AdaptiveLimit:
        lim = AdaptiveLimit(ceiling=64, initial=4)
        for _ in range(50):  # one request at a time: the limit never held anything back
            ticket = await lim.acquire()
            lim.release(ticket, "ok", 0.01, 10)
        return lim

    lim = asyncio.run(main())
    assert lim.capacity() == 4 and lim.peak_in_flight == 1


def simulate_queueing_provider(slots: int, service_s: float, n: int, ceiling: int = 8) -> AdaptiveLimit:
    """A provider that serves ``slots`` requests at once in ``service_s`` each and queues the rest (first come,
    first served), on a simulated clock: the controller alone, deterministic, with always more work waiting."""
    import heapq

    now = [0.0]
    lim = AdaptiveLimit(ceiling=ceiling, initial=1, clock=lambda: now[0])

    async def main() -> None:
        events: list = []
        free_at, sent, done = [0.0] * slots, 0, 0
        while done < n:
            while sent < n and lim.in_flight < lim.capacity():
                ticket = await lim.acquire()
                slot = min(range(slots), key=lambda k: free_at[k])
                free_at[slot] = max(now[0], free_at[slot]) + service_s
                heapq.heappush(events, (free_at[slot], sent, ticket))
                sent += 1
            end, _, ticket = heapq.heappop(events)
            now[0] = end
            lim.release(ticket, "ok", end - ticket.sent, 16)
            done += 1

    asyncio.run(main())
    return lim


@pytest.mark.parametrize("service_s", [0.5, 1.3, 2.0])
def test_after_a_queueing_cut_the_limit_grows_one_measured_step_at_a_time(service_s: float) -> None:
    """Behind 2 slots (a CPU llama.cpp server) the limit settles between 2 and 3: each step above what the provider
    serves is measured before the next. With +1 per round trip while the measurement lags it spent the second
    half at ~4 (4.1 and 3.9 in this simulation), and the real-server test saw 4.04."""
    lim = simulate_queueing_provider(slots=2, service_s=service_s, n=300)
    assert lim.cuts["queueing"] >= 3 and lim.cuts["overload"] == 0
    assert 1.8 <= lim.mean_limit(0.5) <= 3.3, lim.trace


def simulate_shared_provider(flows: int, slots: int, service_s: float, n: int, ceiling: int) -> list[AdaptiveLimit]:
    """``flows`` controllers (partition runs, sharded workers) on one provider that serves ``slots`` at once and
    queues the rest, first come first served, on a simulated clock; each flow always has more work."""
    import heapq

    now = [0.0]
    lims = [AdaptiveLimit(ceiling=ceiling, initial=8, clock=lambda: now[0]) for _ in range(flows)]

    async def main() -> None:
        events: list = []
        free_at, seq, done = [0.0] * slots, 0, 0
        while done < n:
            for k, lim in enumerate(lims):
                while lim.in_flight < lim.capacity():
                    ticket = await lim.acquire()
                    slot = min(range(slots), key=lambda j: free_at[j])
                    free_at[slot] = max(now[0], free_at[slot]) + service_s
                    heapq.heappush(events, (free_at[slot], seq, k, ticket))
                    seq += 1
            end, _, k, ticket = heapq.heappop(events)
            now[0] = end
            lims[k].release(ticket, "ok", end - ticket.sent, 16)
            done += 1

    asyncio.run(main())
    return lims


def test_several_controllers_on_one_queueing_provider_come_down_together() -> None:
    """Each controller sees only its own concurrency: when one of k equal flows doubles, a queueing provider's
    latency grows by 1 + 1/k (an elasticity of 0.58 for two flows, under the threshold; the bench's C = 96 ran to
    its ceiling of 256 per worker so). The backlog signal (latency at least twice the lowest seen) holds the total
    nearer the slots: three flows on 8 slots settle at 20.1 in all with it, 27.1 with the elasticity alone (in this
    lockstep simulation two flows still come down on elasticity). The lowest latency a flow sees is already that of
    all flows' initial 8, so the backlog holds the queue at about twice that, not at the slots."""
    lims = simulate_shared_provider(3, slots=8, service_s=0.2, n=8_000, ceiling=64)
    total = sum(lim.mean_limit(0.5) for lim in lims)
    assert all(lim.cuts["queueing"] >= 1 for lim in lims)
    assert 8 <= total <= 23, [lim.trace[-6:] for lim in lims]


def test_a_fixed_limit_when_adaptive_is_off(tmp_path: Path) -> None:
    srv = LLMTestServer(latency_s=0.05, max_concurrency=3).start()
    try:
        eng, _ = run(srv, tmp_path, 60, max_in_flight=10, adaptive=False)
    finally:
        srv.stop()
    assert eng.stats.peak_in_flight == 10 and not eng.stats.limit_cuts


# ------------------------------------------------------------------------------------------ answer shapes


def test_reasoning_content_stays_out_of_the_texts_but_its_tokens_are_counted(tmp_path: Path) -> None:
    """A reasoning model behind vLLM (gpt-oss): ``reasoning_content`` beside ``content``; ``extra_body``
    (``reasoning_effort``, ``chat_template_kwargs``) reaches the server as is."""
    srv = LLMTestServer(reasoning=True).start()
    extra = {"reasoning_effort": "low", "chat_template_kwargs": {"enable_thinking": False}}
    try:
        eng, results = run(srv, tmp_path, 3, params={"max_tokens": 900, "extra_body": extra})
        bodies = list(srv.bodies)
    finally:
        srv.stop()
    assert all(r.status == "ok" for r in results)
    assert not any("keep every text true" in json.dumps(r.texts) for r in results)  # the reasoning is not a text
    assert eng.stats.reasoning_tokens == 3 * REASONING_TOKENS
    assert eng.stats.completion_tokens == 3 * (200 + REASONING_TOKENS)  # counted, as the provider counts them
    assert all(
        b["reasoning_effort"] == "low" and b["chat_template_kwargs"] == {"enable_thinking": False} for b in bodies
    )


def test_extra_body_comes_from_the_resource_and_is_part_of_the_cache_key() -> None:
    from persona_assets.core.narratives.prompts import COMPACT, render_messages, request_key
    from persona_assets.narratives.resources import NarrativeLLM

    llm = NarrativeLLM(model=MODEL, extra_body={"reasoning_effort": "high"})
    params = llm.engine_settings(()).params
    assert params["extra_body"] == {"reasoning_effort": "high"} and llm.describe()["extra_body"] == params["extra_body"]
    plain = NarrativeLLM(model=MODEL).engine_settings(()).params
    msgs = render_messages(record(0))
    version = COMPACT.prompt_version
    assert request_key(MODEL, msgs, params, 0, version) != request_key(MODEL, msgs, plain, 0, version)


def test_an_answer_cut_at_max_tokens_is_asked_again_with_room(tmp_path: Path) -> None:
    srv = LLMTestServer(plan=lambda req, n: "length" if n == 1 else None).start()
    try:
        eng, results = run(srv, tmp_path, 2, params={"max_tokens": 400})
        bodies = list(srv.bodies)
    finally:
        srv.stop()
    assert all(r.status == "ok" and r.attempts == 2 for r in results)
    assert sorted(b["max_tokens"] for b in bodies) == [400, 400, 600, 600]  # 1.5 x the room after the cut
    assert eng.stats.truncated == 2 and eng.stats.retries == 0  # handled by the engine, not a transport retry


def test_an_answer_always_cut_fails_as_truncated_not_as_a_parse_error(tmp_path: Path) -> None:
    srv = LLMTestServer(plan=lambda req, n: "length").start()
    try:
        _, results = run(srv, tmp_path, 1, params={"max_tokens": 100}, max_attempts=3)
    finally:
        srv.stop()
    assert results[0].status == "failed" and results[0].reasons == ["truncated: answer cut at max_tokens=225"]


@pytest.mark.parametrize("mode", ["queue", "reject"])
def test_the_server_reports_its_overload_mode_and_peaks(mode: str) -> None:
    import urllib.request

    srv = LLMTestServer(max_concurrency=2, overload=mode).start()
    try:
        with urllib.request.urlopen(srv.base_url + "/stats", timeout=5) as resp:
            stats = json.load(resp)
    finally:
        srv.stop()
    assert stats["overload"] == mode and stats["rejected"] == 0 and stats["peak_in_flight"] == 0
    with pytest.raises(ValueError, match="overload"):
        LLMTestServer(overload="drop")


def test_the_limit_starts_at_the_embedded_servers_slots_and_at_8_for_a_remote_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The embedded server's slot count is known (we start it): a step fills it from its first call instead of
    climbing from 1, which cost make run's 4-record steps about two round trips of ~45 s each; the ceiling stays
    twice the slots, so the controller can still find that more only queues."""
    from persona_assets.narratives.resources import NarrativeLLM

    monkeypatch.delenv("SG_PERSONAS_LOCAL_SLOTS", raising=False)
    local = NarrativeLLM(model="local/qwen2.5-coder-1.5b-instruct").engine_settings(())
    assert (local.initial_in_flight, local.max_in_flight) == (4, 8)
    two = NarrativeLLM(model="local/qwen2.5-coder-1.5b-instruct", local_slots=2).engine_settings(())
    assert (two.initial_in_flight, two.max_in_flight) == (2, 4)
    capped = NarrativeLLM(model="local/qwen2.5-coder-1.5b-instruct", max_in_flight=3).engine_settings(())
    assert (capped.initial_in_flight, capped.max_in_flight) == (3, 3)
    remote = NarrativeLLM(model=MODEL).engine_settings(())
    assert remote.initial_in_flight == 8 and remote.max_in_flight > 8
    # a call to the embedded server may wait behind a full wave of fresh prompts: a longer limit than remote's
    assert (local.timeout_s, remote.timeout_s) == (1200.0, 300.0)
    assert NarrativeLLM(model=MODEL, timeout_s=10).engine_settings(()).timeout_s == 10
