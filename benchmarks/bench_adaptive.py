"""Adaptive concurrency: does the engine find a provider's limit by itself?

The test server (``persona_assets/testing/llm_server.py``, in its own process) serves at most C requests at once,
each taking L seconds, so C/L requests per second is the most any client can get. C is not told to the engine:
it runs **untuned** (``EngineSettings`` defaults: the adaptive limit starts at 8 with a ceiling of 256, the
resource's default for a remote provider), spread over worker processes as the pipeline does (``ShardedEngine``,
one per usable CPU, each with its own controller, as each partition run has). Cases:

- C = 8 and 32 at L = 0.2 s, C = 96 at L = 1 s (C/L within what a 2-core client drives);
- ``queue``: above C the server queues, like vLLM (no 429: only the latency tells);
- ``reject``: above C it answers 429 at once, like a gateway.

Each run narrates ``ceil(C/L × duration)`` records (what C/L allows in ``duration``), so a run lasts about
``duration`` seconds at best; share = achieved requests/s ÷ C/L. Targets: share ≥ 0.90 in every case, at most
1.5·C requests at the 429 server at any moment (its ``peak_in_flight``, refused ones included), and no record
lost (one result per record, every one ok).

    python benchmarks/bench_adaptive.py [--duration 60] [--cases 8:0.2 32:0.2 96:1] [--modes queue reject]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, busy_cpu_seconds, lscpu, machine_info, now_iso, write_results

sys.path.insert(0, str(REPO_ROOT))

SCRIPT = "bench_adaptive"
MODEL = "openai/test-model"
TARGET_SHARE = 0.90
MAX_OVERSHOOT = 1.5


class Server:
    def __init__(self, latency: float, concurrency: int, overload: str) -> None:
        cmd = [sys.executable, "-m", "persona_assets.testing.llm_server", "--latency", str(latency)]
        cmd += ["--max-concurrency", str(concurrency), "--overload", overload]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT)
        self.base_url = self.proc.stdout.readline().strip()  # type: ignore[union-attr]

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.base_url}/stats", timeout=10) as resp:
            return dict(json.load(resp))

    def cpu_seconds(self) -> float:
        """The server process's CPU time so far (``/proc/<pid>/stat``: utime + stime)."""
        with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def records(n: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "uuid": f"{prefix}{i}",
            "full_name": f"Lim Mei Ling {prefix}{i}",
            "first_name": f"Mei Ling {prefix}{i}",
            "sex": "Female",
            "age": 40,
            "marital_status": "Married",
            "religion": "Buddhism",
            "occupation": "Professionals",
            "planning_area": "Tampines",
        }
        for i in range(n)
    ]


def measure(concurrency: int, latency: float, overload: str, duration: float, tag: str) -> dict[str, Any]:
    from persona_assets.core.narratives.client import LiteLLMClientFactory
    from persona_assets.core.narratives.engine import EngineSettings
    from persona_assets.core.narratives.sharded import ShardedEngine, default_workers
    from persona_assets.narratives.resources import REMOTE_CEILING

    bound = concurrency / latency
    todo = records(math.ceil(bound * duration), tag)
    settings = EngineSettings(model=MODEL, max_in_flight=REMOTE_CEILING, timeout_s=60.0)  # untuned: the defaults
    server = Server(latency, concurrency, overload)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            factory = LiteLLMClientFactory(MODEL, server.base_url, "sk-benchmark")
            workers = default_workers(settings.max_in_flight)
            with ShardedEngine(factory, Path(tmp) / "calls.sqlite", settings, workers=workers) as eng:
                eng.run(records(4 * workers, "warm-" + tag))  # litellm's import, off the clock
                before = server.stats()
                busy0, server0, t0 = busy_cpu_seconds(), server.cpu_seconds(), time.perf_counter()
                results = eng.run(todo)
                wall = time.perf_counter() - t0
                busy, server_cpu = busy_cpu_seconds() - busy0, server.cpu_seconds() - server0
                after = server.stats()
                stats = eng.last_run_stats
    finally:
        server.close()
    served = after["requests"] - before["requests"] - (after["rejected"] - before["rejected"])
    share = served / wall / bound
    out = {
        "concurrency": concurrency,
        "latency_s": latency,
        "overload": overload,
        "share": round(share, 4),
        "bound_requests_per_s": bound,
        "requests_per_s": round(served / wall, 2),
        "wall_s": round(wall, 2),
        "records": len(todo),
        "results": len(results),
        "records_ok": sum(r.status == "ok" for r in results),
        "records_failed_reasons": sorted({x for r in results if r.status != "ok" for x in r.reasons}),
        "engine_workers": workers,
        "server_peak_in_flight": after["peak_in_flight"],
        "server_peak_served": after["peak_active"],
        "rejected_429": after["rejected"] - before["rejected"],
        "engine_peak_in_flight_sum_of_workers": stats.peak_in_flight,
        "engine_settled_limit_sum_of_workers": stats.settled_limit,
        "engine_final_limit_sum_of_workers": stats.concurrency_limit,
        "limit_cuts": dict(stats.limit_cuts),
        "retries": stats.retries,
        # is the client the bottleneck? the machine's busy cores over the run (of os.cpu_count()), the server's share
        "machine_busy_cores_mean": round(busy / wall, 2),
        "server_process_cores_mean": round(server_cpu / wall, 2),
        "cpu_count": os.cpu_count(),
    }
    out["checks"] = {
        "share_at_least_target": share >= TARGET_SHARE,
        "no_record_lost": len(results) == len(todo) and out["records_ok"] == len(todo),
        "in_flight_at_most_1.5C": overload != "reject" or after["peak_in_flight"] <= MAX_OVERSHOOT * concurrency,
    }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per run at C/L")
    ap.add_argument("--cases", nargs="*", default=["8:0.2", "32:0.2", "96:1"], help="C:L pairs")
    ap.add_argument("--modes", nargs="*", default=["queue", "reject"], choices=["queue", "reject"])
    ap.add_argument("--smoke", action="store_true", help="label the result a smoke run (not a measurement)")
    args = ap.parse_args(argv)
    load_before = os.getloadavg()
    results = []
    for case in args.cases:
        c, latency = int(case.split(":")[0]), float(case.split(":")[1])
        for mode in args.modes:
            r = measure(c, latency, mode, args.duration, f"{mode[0]}{c}-")
            results.append(r)
            print(
                f"C={c} L={latency}s {mode}: {r['requests_per_s']} req/s = {r['share']:.1%} of C/L in {r['wall_s']} s; "
                f"server peak {r['server_peak_in_flight']} in flight ({r['rejected_429']} refused); engine limit "
                f"settled at {r['engine_settled_limit_sum_of_workers']} (cuts {r['limit_cuts']}); ok "
                f"{r['records_ok']}/{r['records']}; checks {r['checks']}",
                flush=True,
            )
    payload = {
        "script": SCRIPT,
        "date": now_iso(),
        "smoke": args.smoke,
        "duration_s": args.duration,
        "target_share": TARGET_SHARE,
        "max_in_flight_vs_c_for_429": MAX_OVERSHOOT,
        "untuned_settings": "EngineSettings defaults: initial limit 8, ceiling 256 (NarrativeLLM's remote default)",
        "results": results,
        "share_min_by_concurrency": {
            str(c): min(r["share"] for r in results if r["concurrency"] == c)
            for c in {r["concurrency"] for r in results}
        },
        "all_checks_passed": all(all(r["checks"].values()) for r in results),
        "machine": {**machine_info(), "lscpu": lscpu()},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    path = write_results(SCRIPT if not args.smoke else f"{SCRIPT}_smoke", payload)
    print(f"all checks passed: {payload['all_checks_passed']}; written to {path}")
    return 0 if payload["all_checks_passed"] or args.smoke else 1


if __name__ == "__main__":
    raise SystemExit(main())
