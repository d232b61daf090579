"""Narrative engine throughput against the local OpenAI-compatible test server.

With a fixed server latency L and the engine's in-flight limit C, no client can exceed C/L requests per second;
the target (SPEC section 7) is at least 90% of that bound. Also checks that an unchanged re-run makes zero calls.

    python benchmarks/bench_engine.py [--latency 0.2] [--concurrency 32] [--requests 960]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from _common import machine_info, now_iso, write_results

SCRIPT = "bench_engine"
TARGET = 0.90


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from persona_assets.core.narratives.client import LiteLLMClient
    from persona_assets.core.narratives.engine import CallCache, EngineSettings, NarrativeEngine

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--requests", type=int, default=960)
    args = ap.parse_args(argv)

    records = [
        {
            "uuid": f"b{i}",
            "full_name": f"Lim Mei Ling {i}",
            "first_name": f"Mei Ling {i}",
            "sex": "Female",
            "age": 40,
            "marital_status": "Married",
            "religion": "Buddhism",
            "occupation": "Professionals",
            "planning_area": "Tampines",
        }
        for i in range(args.requests)
    ]
    # The server runs in its own process so that it does not share the engine's GIL (as a real provider would not).
    import subprocess

    proc = subprocess.Popen(
        [sys.executable, "-m", "persona_assets.testing.llm_server", "--latency", str(args.latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    base_url = proc.stdout.readline().strip()  # type: ignore[union-attr]
    model = "openai/test-model"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cache = CallCache(Path(tmp) / "cache.sqlite")
            settings = EngineSettings(model=model, max_in_flight=args.concurrency, timeout_s=30.0)
            client = LiteLLMClient(model, base_url, "sk-benchmark")
            # warm-up (imports, connection pool) outside the timed run
            asyncio.run(NarrativeEngine(client, CallCache(Path(tmp) / "warm.sqlite"), settings).run(records[:8]))
            engine = NarrativeEngine(client, cache, settings)
            t0 = time.perf_counter()
            results = asyncio.run(engine.run(records))
            wall = time.perf_counter() - t0
            sent = engine.stats.calls
            rerun = NarrativeEngine(client, cache, settings)
            asyncio.run(rerun.run(records))
            rerun_calls = rerun.stats.calls
    finally:
        proc.kill()
        proc.wait()
    bound = args.concurrency / args.latency
    achieved = sent / wall
    ok = sum(r.status == "ok" for r in results)
    figures = {
        "latency_s": args.latency,
        "concurrency": args.concurrency,
        "requests": sent,
        "wall_s": round(wall, 3),
        "requests_per_s": round(achieved, 2),
        "bound_c_over_l": bound,
        "fraction_of_bound": round(achieved / bound, 4),
        "target_fraction": TARGET,
        "records_ok": ok,
        "unchanged_rerun_calls": rerun_calls,
    }
    write_results(SCRIPT, {"script": SCRIPT, "date": now_iso(), "machine": machine_info(), "figures": figures})
    print(
        f"{sent} requests in {wall:.2f} s = {achieved:.1f} req/s; bound C/L = {bound:.0f} req/s -> "
        f"{achieved / bound:.1%} (target >= {TARGET:.0%}); unchanged re-run: {rerun_calls} calls; "
        f"ok {ok}/{len(results)}"
    )
    return 0 if achieved / bound >= TARGET and rerun_calls == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
