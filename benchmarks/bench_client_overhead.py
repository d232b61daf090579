"""Where a narration call's client CPU goes: the floor under the full path's non-LLM overhead.

At 148,000 records the narratives stage is ~200,000 calls, so each millisecond of client CPU per call is ~100 s on
2 cores. This measures, against the test server (``persona_assets.testing.llm_server`` in its own process,
latency 0, so its CPU is not counted) and one call at a time, the CPU time per call of each layer a narration
call goes through, with the messages and params the full-scale path sends (``llm_for_test_server``'s
settings, structured output included):

- ``openai_sdk``: the OpenAI SDK's ``AsyncOpenAI.chat.completions.create`` alone (HTTP, JSON, response models);
- ``litellm``: ``litellm.acompletion`` (what the pipeline calls: the SDK plus litellm's parameter mapping,
  logging object, cost lookup and success handlers);
- ``client``: the project's ``LiteLLMClient.complete`` (litellm plus error mapping and ``Completion``);
- ``validate``: ``validate_narrative`` on the answers the test server gave (every rule, every field);
- ``engine``: ``NarrativeEngine.run`` over records, all in (render, key, cache lookup and commit, limiter,
  client, parse, validate), per call.

Layers run interleaved, ``--rounds`` times; figures are medians over rounds (the machine is shared and noisy).

    python benchmarks/bench_client_overhead.py [--calls 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, machine_info, now_iso, write_results

sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

SCRIPT = "bench_client_overhead"
MODEL = "openai/test-model"


_SURNAMES = ("Tan", "Lim", "Lee", "Ng", "Ong", "Wong", "Goh", "Chua", "Chan", "Koh", "Teo", "Ang", "Yeo", "Tay", "Ho")
_GIVEN = ("Wei", "Hui", "Jia", "Xin", "Kai", "Min", "Yi", "Jun", "Li", "Mei", "Hao", "Zhi", "Ying", "Shu", "Ming")


def _record(i: int) -> dict[str, Any]:
    """A record whose name differs from its neighbours' (as every sampled record's does: rules that read the
    person's names must not be measured on one name, whose per-name work would be done once)."""
    last = _SURNAMES[i % len(_SURNAMES)]
    first = f"{_GIVEN[(i // len(_SURNAMES)) % len(_GIVEN)]} {_GIVEN[(i // 7) % len(_GIVEN)]}"
    return {
        "uuid": f"bench-{i}",
        "full_name": f"{last} {first}",
        "first_name": first,
        "last_name": last,
        "sex": "Male",
        "age": 34,
        "marital_status": "Married",
        "religion": "Buddhism",
        "occupation": "Professionals",
        "industry": "Financial and Insurance Services",
        "education_level": "Degree",
        "dwelling_type": "HDB 4-Room Flats",
        "planning_area": "Bedok",
    }


def _cpu_ms_per(n: int, started: float) -> float:
    return 1000 * (time.process_time() - started) / n


async def measure_round(base: str, calls: int, offset: int) -> dict[str, float]:
    import openai

    from persona_assets.core.narratives.client import LiteLLMClient, _litellm
    from persona_assets.core.narratives.engine import CallCache, NarrativeEngine
    from persona_assets.core.narratives.prompts import PROFILES, render_messages
    from persona_assets.core.narratives.validate import parse_answer, validate_narrative
    from persona_assets.testing.full_scale import llm_for_test_server

    litellm = _litellm()
    pipeline = llm_for_test_server(base).engine_settings(("Bedok",))  # what the full-scale path sends
    settings = dataclasses.replace(pipeline, max_in_flight=8, adaptive=False)  # one process, a fixed window
    params = dict(settings.params)
    records = [_record(offset + i) for i in range(calls)]
    profile = PROFILES[settings.profile]
    messages = [render_messages(r, profile) for r in records]
    out: dict[str, float] = {}

    sdk = openai.AsyncOpenAI(base_url=base, api_key="sk-test-not-a-secret")
    t = time.process_time()
    for m in messages:
        await sdk.chat.completions.create(model="test-model", messages=m, **params)  # type: ignore[arg-type]
    out["openai_sdk"] = _cpu_ms_per(calls, t)

    t = time.process_time()
    for m in messages:
        await litellm.acompletion(model=MODEL, api_base=base, api_key="sk-test-not-a-secret", messages=m, **params)
    out["litellm"] = _cpu_ms_per(calls, t)

    client = LiteLLMClient(MODEL, base, "sk-test-not-a-secret")
    answers = []
    t = time.process_time()
    for m in messages:
        answers.append(await client.complete(m, params))
    out["client"] = _cpu_ms_per(calls, t)

    parsed = [(parse_answer(a.text)[0], r) for a, r in zip(answers, records, strict=True)]
    t = time.process_time()
    for obj, r in parsed:
        validate_narrative(obj, r, settings.areas, profile)
    out["validate"] = _cpu_ms_per(calls, t)

    with tempfile.TemporaryDirectory() as tmp:
        cache = CallCache(Path(tmp) / "calls.sqlite")
        engine = NarrativeEngine(client, cache, settings)
        t = time.process_time()
        await engine.run([_record(offset + calls + i) for i in range(calls)])
        out["engine"] = _cpu_ms_per(max(engine.stats.calls, 1), t)
        out["engine_calls_per_record"] = engine.stats.calls / calls
        cache.close()
    await sdk.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    cmd = [sys.executable, "-m", "persona_assets.testing.llm_server"]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
    try:
        base = server.stdout.readline().strip()  # type: ignore[union-attr]
        asyncio.run(measure_round(base, 20, 10**6))  # warm-up: imports, connection pools, caches
        rounds = [asyncio.run(measure_round(base, args.calls, i * 10 * args.calls)) for i in range(args.rounds)]
    finally:
        server.kill()
        server.wait()
    layers = list(rounds[0])
    medians = {k: round(statistics.median(r[k] for r in rounds), 2) for k in layers}
    out = {
        "script": SCRIPT,
        "date": now_iso(),
        "machine": machine_info(),
        "loadavg_after": os.getloadavg(),
        "calls_per_round": args.calls,
        "rounds": args.rounds,
        "cpu_ms_per_call_median": medians,
        "cpu_ms_per_call_rounds": [{k: round(v, 2) for k, v in r.items()} for r in rounds],
        "litellm_over_openai_sdk_ms": round(medians["litellm"] - medians["openai_sdk"], 2),
        "share_of_engine": {
            k: round(medians[k] / medians["engine"], 3) for k in ("openai_sdk", "litellm", "client", "validate")
        },
        "notes": [
            "CPU time of this process only: the test server runs in its own process at latency 0",
            "engine: per call sent (the canned answers pass first time, so about one call per record)",
        ],
    }
    path = write_results(SCRIPT, out)
    print(f"wrote {path}: {medians}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
