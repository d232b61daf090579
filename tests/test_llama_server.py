"""The embedded inference server: llama.cpp's ``llama-server`` (built by ``make install``) with the tiny Gemma
model, started by the tests on 127.0.0.1.

- lifecycle: one server shared by successive leases, stopped after the linger; no orphan after a SIGKILL of the
  run (the lease holder) or of the supervisor;
- integration through litellm's OpenAI-compatible provider: structured output (``response_format``), usage
  tokens, ``finish_reason: length`` (``failed: truncated``, never a parse error), an unchanged re-run makes zero
  calls, the server killed mid-run (restarted by its supervisor; every record ends ok or failed with a reason);
- the adaptive concurrency controller finds a ``-np 2`` server's two slots.

Kept short: tiny ``max_tokens`` (Gemma cannot write a narrative anyway; these test the path, not the texts)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from persona_assets.core.narratives.client import LiteLLMClient
from persona_assets.core.narratives.engine import CallCache, EngineSettings, NarrativeEngine
from persona_assets.core.narratives.llama_server import (
    LlamaServerError,
    LocalServerClient,
    ServerConfig,
    ServerProcess,
    acquire,
    find_binary,
    pid_alive,
    read_state,
    server_command,
)
from persona_assets.core.narratives.local_model import LOCAL_MODELS, ensure_weights
from persona_assets.core.narratives.prompts import COMPACT

ROOT = Path(__file__).resolve().parents[1]
GEMMA = "gemma-3-270m"
CFG = ServerConfig(GEMMA, slots=2, threads=2, ctx_per_slot=1536)
SCHEMA_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "persona_narratives", "schema": COMPACT.answer_schema()},
}


def test_server_command_is_loopback_only_with_slots_threads_and_a_context_per_slot() -> None:
    cmd = server_command(Path("/x/llama-server"), Path("/m.gguf"), 8123, ServerConfig(GEMMA, slots=3, threads=2))
    arg = dict(zip(cmd[1::2], cmd[2::2], strict=False))
    assert arg["--host"] == "127.0.0.1" and arg["--port"] == "8123" and arg["--parallel"] == "3"
    assert arg["--threads"] == "2" and int(arg["--ctx-size"]) == 3 * ServerConfig(GEMMA).ctx_per_slot
    assert arg["--alias"] == GEMMA and "--no-webui" in cmd


def _require_server() -> None:
    try:
        find_binary()
        LOCAL_MODELS[GEMMA].chunks()
    except (LlamaServerError, ImportError) as exc:
        pytest.skip(f"the embedded server or the Gemma weights are not installed (make install): {exc}")


def _gone(pids: list[int], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(pid_alive(p) for p in pids):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_one_server_is_shared_by_successive_leases_and_stops_after_the_linger(tmp_path: Path) -> None:
    _require_server()
    with acquire(CFG, linger_s=3.0, root=tmp_path) as first:
        state = dict(first.state)
        with acquire(CFG, linger_s=3.0, root=tmp_path) as second:  # a concurrent run: the same server
            assert second.base_url == first.base_url and second.state["server_pid"] == state["server_pid"]
    assert state["slots"] == 2 and state["sha256"] == LOCAL_MODELS[GEMMA].sha256
    with acquire(CFG, linger_s=3.0, root=tmp_path) as later:  # the next run of a backfill, within the linger
        assert later.state["server_pid"] == state["server_pid"]
    pids = [state["pid"], state["server_pid"]]
    assert _gone(pids, 15.0), "the supervisor and its server must stop after the linger"
    assert read_state(Path(first.folder)) is None


_HOLDER = """
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from persona_assets.core.narratives.llama_server import ServerConfig, acquire
lease = acquire(ServerConfig({model!r}, slots=2, threads=2, ctx_per_slot=1536), linger_s=2.0, root=Path({tmp!r}))
print(lease.state["pid"], lease.state["server_pid"], flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_no_orphan_survives_a_sigkill_of_the_run_or_of_the_supervisor(tmp_path: Path) -> None:
    _require_server()
    code = _HOLDER.format(root=str(ROOT), model=GEMMA, tmp=str(tmp_path))
    run = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    supervisor, server = map(int, run.stdout.readline().split())  # type: ignore[union-attr]
    assert pid_alive(supervisor) and pid_alive(server)
    os.kill(run.pid, signal.SIGKILL)  # the run dies without any clean-up: its lease ends with it
    run.wait()
    assert _gone([supervisor, server], 15.0), "server or supervisor outlived the killed run"

    run = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        supervisor, server = map(int, run.stdout.readline().split())  # type: ignore[union-attr]
        os.kill(supervisor, signal.SIGKILL)  # the supervisor itself: its server gets SIGKILL from the kernel
        assert _gone([server], 10.0), "llama-server outlived its supervisor"
    finally:
        run.kill()
        run.wait()


# ------------------------------------------------------------------------------------------ through the engine


@pytest.fixture(scope="module")
def lease(tmp_path_factory):
    _require_server()
    with acquire(CFG, linger_s=1.0, root=tmp_path_factory.mktemp("servers")) as held:
        yield held


def _record(i: int) -> dict:
    return {
        "uuid": f"g{i}",
        "full_name": f"Lim Mei Ling {i}",
        "first_name": "Mei Ling",
        "sex": "Female",
        "age": 40,
        "marital_status": "Married",
        "religion": "Buddhism",
        "occupation": "Professionals",
        "planning_area": "Tampines",
    }


@pytest.mark.slow
def test_structured_output_parses_and_usage_is_counted(lease) -> None:
    schema = {
        "type": "object",
        "properties": {"hobby": {"type": "string", "maxLength": 24}, "years": {"type": "integer"}},
        "required": ["hobby", "years"],
        "additionalProperties": False,
    }
    client = LiteLLMClient(f"openai/{GEMMA}", lease.base_url, "sk-local")
    messages = [{"role": "user", "content": 'FACTS: {"name": "Tan Ah Kow"}\nWrite the JSON object now.'}]
    params = {"max_tokens": 48, "temperature": 0.7, "seed": 1}
    done = asyncio.run(client.complete(messages, {**params, "response_format": _format(schema)}))
    obj = json.loads(done.text)  # the server turned the schema into a grammar
    assert set(obj) == {"hobby", "years"} and isinstance(obj["years"], int)
    assert done.prompt_tokens > 0 and 0 < done.completion_tokens <= 48 and done.finish_reason == "stop"


def _format(schema: dict) -> dict:
    return {"type": "json_schema", "json_schema": {"name": "t", "schema": schema}}


@pytest.mark.slow
def test_an_answer_cut_at_max_tokens_fails_as_truncated_after_a_retry_with_room_and_reruns_make_no_call(
    lease, tmp_path: Path
) -> None:
    settings = EngineSettings(
        model=f"local/{GEMMA}",
        params={"max_tokens": 24, "temperature": 0.7, "response_format": SCHEMA_FORMAT},
        max_in_flight=2,
        max_attempts=2,
        timeout_s=120,
    )
    cache = CallCache(tmp_path / "c.sqlite")
    client = LiteLLMClient(f"openai/{GEMMA}", lease.base_url, "sk-local")
    engine = NarrativeEngine(client, cache, settings)
    results = asyncio.run(engine.run([_record(i) for i in range(2)]))
    assert [r.status for r in results] == ["failed", "failed"]
    assert all(r.reasons == ["truncated: answer cut at max_tokens=36"] for r in results), [r.reasons for r in results]
    assert engine.stats.calls == 4 and engine.stats.truncated == 4  # 24 tokens, then 1.5 × 24 = 36: both cut
    assert engine.stats.prompt_tokens > 0 and engine.stats.completion_tokens == 2 * (24 + 36)
    again = NarrativeEngine(client, cache, settings)
    rerun = asyncio.run(again.run([_record(i) for i in range(2)]))
    assert again.stats.calls == 0 and again.stats.cache_hits == 4  # unchanged: zero calls
    assert [r.reasons for r in rerun] == [r.reasons for r in results]  # the cached finish_reason says "truncated"


@pytest.mark.slow
def test_the_server_killed_mid_run_is_restarted_and_every_record_ends_with_a_reason(tmp_path: Path) -> None:
    _require_server()
    settings = EngineSettings(
        model=f"local/{GEMMA}",
        params={"max_tokens": 16, "response_format": SCHEMA_FORMAT},
        max_in_flight=2,
        max_attempts=1,
        max_retries=6,
        backoff_base_s=0.5,
        timeout_s=60,
    )
    client = LocalServerClient(CFG, linger_s=1.0, root=tmp_path)
    engine = NarrativeEngine(client, CallCache(tmp_path / "c.sqlite"), settings)
    killed: list[int] = []

    def kill_when_busy() -> None:  # SIGKILL the server once a few calls have finished
        while engine.stats.calls < 3:
            time.sleep(0.05)
        killed.append(int(client.lease.state["server_pid"]))  # type: ignore[union-attr]
        os.kill(killed[0], signal.SIGKILL)

    killer = threading.Thread(target=kill_when_busy, daemon=True)
    killer.start()
    try:
        results = asyncio.run(engine.run([_record(i) for i in range(10)]))
        state = read_state(client.lease.folder)  # type: ignore[union-attr]
    finally:
        client.close()
    killer.join(1)
    assert killed and len(results) == 10 and {r.uuid for r in results} == {f"g{i}" for i in range(10)}
    assert all(r.status in ("ok", "failed") and (r.status == "ok" or r.reasons) for r in results)
    assert state is not None and state["restarts"] >= 1 and state["server_pid"] != killed[0]
    assert sum(engine.stats.transport_errors.values()) >= 1  # calls in flight at the kill failed and were retried
    assert all(r.reasons[0].startswith("truncated") for r in results)  # none lost to the kill: all got an answer


@pytest.mark.slow
def test_the_adaptive_limit_finds_the_two_slots_of_a_local_server(tmp_path: Path) -> None:
    """Against ``llama-server -np 2`` (a server of its own, 2 threads): starting from 1 with a ceiling of 8, the
    engine's controller settles near 2 in flight — more only queues at the server (latency up, throughput flat)."""
    _require_server()
    weights = ensure_weights(LOCAL_MODELS[GEMMA])
    settings = EngineSettings(
        model=f"local/{GEMMA}",
        params={"max_tokens": 16, "response_format": SCHEMA_FORMAT},
        max_in_flight=8,
        initial_in_flight=1,
        max_attempts=1,
        timeout_s=120,
    )
    with ServerProcess(CFG, weights, log=tmp_path / "server.log").start() as server:
        client = LiteLLMClient(f"openai/{GEMMA}", server.base_url, "sk-local")
        warm = NarrativeEngine(
            client, CallCache(tmp_path / "warm.sqlite"), dataclasses.replace(settings, adaptive=False)
        )
        asyncio.run(warm.run([_record(100 + i) for i in range(2)]))  # both slots hold the shared prompt prefix now
        engine = NarrativeEngine(client, CallCache(tmp_path / "c.sqlite"), settings)
        asyncio.run(engine.run([_record(i) for i in range(48)]))
    stats, trace = engine.stats, engine.limiter.trace  # type: ignore[union-attr]
    assert stats.limit_cuts["queueing"] >= 1, trace  # it went past 2, saw only latency grow, and came back
    assert 1.5 <= stats.settled_limit <= 4.0, (stats.settled_limit, trace)  # near 2, well below the ceiling 8
