"""The embedded narrative model: today's in-process provider against the local llama.cpp server, side by side.

Same records, model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M), prompts, schema, sampling and validation; every
configuration runs the narrative engine (``NarrativeEngine``: validation, repairs, resamples) on a fresh call cache:

- **in-process** (the baseline, the layout before the server): llama-cpp-python in 2 worker processes × 1 thread,
  one call in flight per process (``ShardedEngine`` + the ``inprocess/`` provider; needs the ``inprocess-llm``
  extra);
- **server, N slots** for N in ``--slots`` (default 1, 2, 4, 8): one ``llama-server`` with 2 threads and N
  parallel slots (continuous batching, prompt cache), the engine in this process with N calls in flight (fixed:
  the server is measured, not the controller), through litellm's ``openai/<name>`` provider.

Per configuration: records/hour (all finished records, and ok ones), calls per record, prompt and generation
tokens/s (the engine's usage counts, where prompt tokens include the cached prefix; for the server also what it
processed, from its Prometheus ``/metrics``), peak memory of all processes involved (sampled; ``peak_rss_mib`` sums
PSS so the shared, memory-mapped weights count once, ``peak_rss_sum_mib`` sums RSS), ok rate, and a replay
of every record through the cache (zero calls) that records each attempt: the first answer's reasons, repairs,
answers cut at ``max_tokens`` and completion tokens per call. ``ratio`` = best server ok records/hour ÷
in-process ok records/hour, measured in the same run.

    python benchmarks/bench_local_narration.py [--records 12] [--slots 1 2 4 8] [--threads 2] [--no-inprocess]
                                               [--residents DIR] [--max-tokens 900]

Records: ``--residents DIR`` (a folder of residents Parquet files, e.g. ``data/warehouse/sample/residents`` after
``make run``) takes the pipeline's own sample, one record per area in turn; without it, a fixed built-in set of 12
varied residents. Run it on a quiet machine only (``llama.cpp`` figures next to other work are meaningless); about
40-60 minutes for 12 records on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, lscpu, machine_info, now_iso, write_results

sys.path.insert(0, str(REPO_ROOT))

SCRIPT = "bench_local_narration"
MODEL = "qwen2.5-coder-1.5b-instruct"

#: a fixed, varied set of fictional residents (no pipeline run needed): sexes, ages, marital statuses, religions,
#: work statuses and areas the validator checks
BUILTIN = [
    ("Tan Wei Ming", "Wei Ming", "Tan", "Kelvin", 34, "Male", "Married", "Buddhism", "Chinese", "Professionals",
     "Bedok"),
    ("Siti Nurhaliza binte Osman", "Siti Nurhaliza", "Osman", None, 29, "Female", "Single", "Islam", "Malay",
     "Clerical Support Workers", "Woodlands"),
    ("Rajesh s/o Kumar", "Rajesh", "Kumar", None, 52, "Male", "Married", "Hinduism", "Tamil",
     "Plant & Machine Operators & Assemblers", "Jurong West"),
    ("Lim Mei Ling", "Mei Ling", "Lim", "Michelle", 67, "Female", "Widowed", "Taoism", "Chinese", "Retired",
     "Ang Mo Kio"),
    ("Muhammad Faizal bin Rahman", "Muhammad Faizal", "Rahman", None, 19, "Male", "Single", "Islam", "Malay",
     "Student", "Tampines"),
    ("Chua Hui Min", "Hui Min", "Chua", "Grace", 41, "Female", "Divorced/Separated", "Catholic", "English",
     "Managers & Administrators", "Bukit Timah"),
    ("Gurpreet Kaur", "Gurpreet", "Kaur", None, 36, "Female", "Married", "Sikhism", "Punjabi",
     "Associate Professionals & Technicians", "Queenstown"),
    ("Ong Boon Keat", "Boon Keat", "Ong", "Benny", 58, "Male", "Married", "No Religion", "Chinese",
     "Service & Sales Workers", "Hougang"),
    ("Nurul Ain binte Ismail", "Nurul Ain", "Ismail", None, 45, "Female", "Married", "Islam", "Malay", "Homemaker",
     "Pasir Ris"),
    ("Daniel Pereira", "Daniel", "Pereira", "Daniel", 27, "Male", "Single", "Other Christians", "English",
     "Professionals", "Toa Payoh"),
    ("Wong Siew Lan", "Siew Lan", "Wong", None, 73, "Female", "Married", "Buddhism", "Chinese", "Retired",
     "Bukit Merah"),
    ("Arun Pillai", "Arun", "Pillai", None, 31, "Male", "Married", "Other Christians", "English", "Unemployed",
     "Sengkang"),
]  # fmt: skip


def builtin_records() -> list[dict[str, Any]]:
    out = []
    for i, (full, first, last, english, age, sex, marital, religion, lang, occupation, area) in enumerate(BUILTIN):
        working = occupation not in ("Retired", "Student", "Homemaker", "Unemployed")
        out.append(
            {
                "uuid": f"bench-{i:02d}",
                "full_name": full,
                "first_name": first,
                "last_name": last,
                "preferred_english_name": english,
                "age": age,
                "sex": sex,
                "marital_status": marital,
                "religion": religion,
                "language_at_home": lang,
                "education_level": "University" if occupation in ("Professionals", "Managers & Administrators")
                else "Secondary",
                "labour_force_status": "Employed" if working else ("Unemployed" if occupation == "Unemployed"
                                                                   else "Outside Labour Force"),
                "occupation": occupation,
                "planning_area": area,
                "life_stage": "retired" if age >= 65 else ("young adult" if age < 30 else "mid-career"),
            }
        )  # fmt: skip
    return out


def warehouse_records(folder: Path, n: int) -> list[dict[str, Any]]:
    """``n`` residents of the pipeline's sample: the partitions' own narrative order, one area at a time."""
    import pandas as pd

    from persona_assets.core.narratives.partition import select_records

    per_area = [select_records(pd.read_parquet(p), n).to_dict("records") for p in sorted(folder.glob("*.parquet"))]
    per_area = [rows for rows in per_area if rows]
    out: list[dict[str, Any]] = []
    while len(out) < n and any(per_area):
        for rows in per_area:
            if rows and len(out) < n:
                out.append(rows.pop(0))
    return out


# ------------------------------------------------------------------------------------------------ measurement


class RssSampler:
    """Peak of the summed memory of some processes (this one, and ``pids()``), sampled every 0.25 s: proportional
    set size (PSS: pages shared between processes, like the memory-mapped weights of the in-process workers, are
    split between them rather than counted once per process), falling back to RSS where there is no PSS."""

    def __init__(self, pids: Any) -> None:
        self.pids = pids
        self.peak_mib = 0.0
        self.peak_rss_sum_mib = 0.0  # RSS summed: counts the shared, memory-mapped weights once per process
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def memory_mib(pid: int, key: str) -> float:
        path = f"/proc/{pid}/smaps_rollup" if key == "Pss:" else f"/proc/{pid}/status"
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = [os.getpid(), *self.pids()]
            self.peak_mib = max(
                self.peak_mib, sum(self.memory_mib(p, "Pss:") or self.memory_mib(p, "VmRSS:") for p in pids)
            )
            self.peak_rss_sum_mib = max(self.peak_rss_sum_mib, sum(self.memory_mib(p, "VmRSS:") for p in pids))
            self._stop.wait(0.25)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def server_metrics(base_url: str) -> dict[str, float]:
    """llama-server's Prometheus counters (``llamacpp:prompt_tokens_total`` …), by short name."""
    with urllib.request.urlopen(base_url.removesuffix("/v1") + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("llamacpp:"):
            name, _, value = line.partition(" ")
            out[name.removeprefix("llamacpp:")] = float(value)
    return out


def trace_attempts(records: list[dict[str, Any]], cache_path: Path, settings: Any) -> dict[str, Any]:
    """Replay every record through the cache (zero calls) and record each attempt: what the first answer broke,
    how many repairs/resamples followed, answers cut at max_tokens, completion tokens per call."""
    from persona_assets.core.narratives import engine as engine_mod
    from persona_assets.core.narratives.engine import CallCache, NarrativeEngine

    calls: list[dict[str, Any]] = []

    class Replay:
        async def complete(self, messages: list[dict[str, str]], params: dict[str, Any]) -> Any:
            raise RuntimeError("the replay found a call missing from the cache")

    original_validate, original_parse = engine_mod.validate_narrative, engine_mod.parse_answer

    def parse(text: str) -> Any:
        obj, err = original_parse(text)
        calls[-1]["parse_error"] = err
        return obj, err

    def validate(obj: Any, record: dict[str, Any], *args: Any, **kwargs: Any) -> list[str]:
        reasons = original_validate(obj, record, *args, **kwargs)
        calls[-1]["reasons"] = reasons
        return reasons

    class Tracing(NarrativeEngine):
        uuid = ""

        async def narrate(self, record: dict[str, Any]) -> Any:
            self.uuid = str(record["uuid"])  # cache hits never suspend: one record at a time
            return await super().narrate(record)

        async def _call(self, key: str, messages: list[dict[str, str]], params: dict[str, Any]) -> Any:
            done = await super()._call(key, messages, params)
            repair = "only these keys" in messages[-1]["content"]
            calls.append(
                {
                    "uuid": self.uuid,
                    "repair": repair,
                    "completion_tokens": done.completion_tokens,
                    "finish": done.finish_reason,
                }
            )
            return done

    engine_mod.validate_narrative, engine_mod.parse_answer = validate, parse
    cache = CallCache(cache_path)
    try:
        eng = Tracing(Replay(), cache, dataclasses.replace(settings, adaptive=False))
        results = asyncio.run(eng.run(records))
    finally:
        engine_mod.validate_narrative, engine_mod.parse_answer = original_validate, original_parse
        cache.close()
    first_reasons: Counter[str] = Counter()
    all_reasons: Counter[str] = Counter()
    for c in calls:
        for r in c.get("reasons") or ([c["parse_error"]] if c.get("parse_error") else []):
            all_reasons[r.split(":")[0]] += 1
    firsts = {}
    for c in calls:
        firsts.setdefault(c["uuid"], c)
    for first in firsts.values():
        for r in first.get("reasons") or ([first["parse_error"]] if first.get("parse_error") else []):
            first_reasons[r] += 1
    full = [c["completion_tokens"] for c in calls if not c["repair"]]
    repairs = [c["completion_tokens"] for c in calls if c["repair"]]
    return {
        "replayed_calls": eng.stats.cache_hits,
        "attempts_histogram": dict(Counter(r.attempts for r in results)),
        "ok_at_first_answer": sum(r.status == "ok" and r.attempts == 1 for r in results),
        "first_answer_reasons": dict(first_reasons.most_common(12)),
        "reasons_by_rule_all_calls": dict(all_reasons.most_common()),
        "cut_at_max_tokens": sum(c["finish"] == "length" for c in calls),
        "repair_calls": len(repairs),
        "full_calls": len(full),
        "completion_tokens_per_full_call": round(sum(full) / len(full), 1) if full else 0,
        "completion_tokens_per_repair_call": round(sum(repairs) / len(repairs), 1) if repairs else 0,
        "failed_reasons": dict(Counter(r for res in results if res.status == "failed" for r in res.reasons)),
    }


def figures(records: list[dict[str, Any]], results: list[Any], stats: Any, wall: float) -> dict[str, Any]:
    ok = sum(r.status == "ok" for r in results)
    return {
        "records": len(records),
        "ok": ok,
        "ok_rate": round(ok / len(records), 4),
        "wall_s": round(wall, 1),
        "records_per_hour": round(len(records) / wall * 3600, 2),
        "ok_records_per_hour": round(ok / wall * 3600, 2),
        "calls": stats.calls,
        "calls_per_record": round(stats.calls / len(records), 3),
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "prompt_tokens_per_s": round(stats.prompt_tokens / wall, 2),
        "generation_tokens_per_s": round(stats.completion_tokens / wall, 2),
        "truncated_answers": stats.truncated,
        "transport_errors": dict(stats.transport_errors),
        "top_failure_reasons": dict(Counter(r for res in results if res.status == "failed" for r in res.reasons)),
    }


def run_inprocess(records: list[dict[str, Any]], settings: Any, tmp: Path) -> dict[str, Any]:
    from persona_assets.core.narratives.inprocess_model import InprocessClientFactory
    from persona_assets.core.narratives.local_model import ensure_weights, local_model
    from persona_assets.core.narratives.sharded import ShardedEngine

    ensure_weights(local_model(MODEL))
    os.environ.update({"SG_PERSONAS_LOCAL_WORKERS": "1", "SG_PERSONAS_LOCAL_THREADS": "1"})
    cache = tmp / "inprocess.sqlite"
    fixed = dataclasses.replace(settings, model=f"inprocess/{MODEL}", max_in_flight=2, adaptive=False)
    eng = ShardedEngine(InprocessClientFactory(f"inprocess/{MODEL}"), cache, fixed, workers=2)
    with eng, RssSampler(lambda: [p.pid for p in eng._procs]) as rss:
        t0 = time.perf_counter()
        results = eng.run(records)
        wall = time.perf_counter() - t0
    out = figures(records, results, eng.stats, wall)
    out.update(
        layout="2 processes x 1 thread, 1 call in flight each",
        peak_rss_mib=round(rss.peak_mib, 1),
        peak_rss_sum_mib=round(rss.peak_rss_sum_mib, 1),
    )
    out["attempts"] = trace_attempts(records, cache, fixed)
    return out


def run_server(records: list[dict[str, Any]], settings: Any, tmp: Path, slots: int, threads: int) -> dict[str, Any]:
    from persona_assets.core.narratives.client import LiteLLMClient
    from persona_assets.core.narratives.engine import CallCache, NarrativeEngine
    from persona_assets.core.narratives.llama_server import ServerConfig, ServerProcess
    from persona_assets.core.narratives.local_model import ensure_weights, local_model

    cfg = ServerConfig(MODEL, slots=slots, threads=threads)
    cache_path = tmp / f"server-{slots}.sqlite"
    fixed = dataclasses.replace(settings, max_in_flight=slots, adaptive=False)
    t_start = time.perf_counter()
    with ServerProcess(cfg, ensure_weights(local_model(MODEL)), log=tmp / f"server-{slots}.log").start() as srv:
        load_s = time.perf_counter() - t_start
        client = LiteLLMClient(f"openai/{MODEL}", srv.base_url, "sk-local", request_timeout_s=settings.timeout_s)
        cache = CallCache(cache_path)
        before = server_metrics(srv.base_url)
        with RssSampler(lambda: [srv.proc.pid] if srv.proc else []) as rss:
            t0 = time.perf_counter()
            eng = NarrativeEngine(client, cache, fixed)
            results = asyncio.run(eng.run(records))
            wall = time.perf_counter() - t0
        after = server_metrics(srv.base_url)
        cache.close()
    out = figures(records, results, eng.stats, wall)
    processed = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    out.update(
        layout=f"llama-server, {slots} slots, {threads} threads, {slots} calls in flight",
        server_load_s=round(load_s, 1),
        peak_rss_mib=round(rss.peak_mib, 1),
        peak_rss_sum_mib=round(rss.peak_rss_sum_mib, 1),
        server_prompt_tokens_processed=int(processed.get("prompt_tokens_total", 0)),
        server_tokens_predicted=int(processed.get("tokens_predicted_total", 0)),
        server_prompt_tokens_per_s_busy=round(
            processed.get("prompt_tokens_total", 0) / max(1e-9, processed.get("prompt_seconds_total", 0)), 2
        ),
        server_generation_tokens_per_s_busy=round(
            processed.get("tokens_predicted_total", 0) / max(1e-9, processed.get("tokens_predicted_seconds_total", 0)),
            2,
        ),
    )
    out["attempts"] = trace_attempts(records, cache_path, fixed)
    return out


def main(argv: list[str] | None = None) -> int:
    from persona_assets.core.narratives.engine import EngineSettings
    from persona_assets.core.narratives.prompts import COMPACT
    from persona_assets.partitions import PLANNING_AREAS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=12)
    ap.add_argument("--slots", type=int, nargs="*", default=[1, 2, 4, 8])
    ap.add_argument("--threads", type=int, default=2, help="server threads")
    ap.add_argument("--no-inprocess", action="store_true", help="skip the in-process baseline (no ratio then)")
    ap.add_argument("--residents", type=Path, help="a folder of residents Parquet files (the pipeline's sample)")
    ap.add_argument("--max-tokens", type=int, default=900)
    ap.add_argument("--max-attempts", type=int, default=4)
    ap.add_argument("--smoke", action="store_true", help="label the result a smoke run (not a measurement)")
    args = ap.parse_args(argv)
    records = warehouse_records(args.residents, args.records) if args.residents else builtin_records()[: args.records]
    settings = EngineSettings(  # the resource's defaults (NarrativeLLM), as make run uses them
        model=f"local/{MODEL}",
        params={
            "temperature": 0.7,
            "top_p": 0.95,
            "max_tokens": args.max_tokens,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "persona_narratives", "schema": COMPACT.answer_schema()},
            },
        },
        max_attempts=args.max_attempts,
        timeout_s=1800.0,
        areas=tuple(PLANNING_AREAS),
    )
    load_before = os.getloadavg()
    configs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_inprocess:
            print("in-process: 2 processes x 1 thread ...", flush=True)
            configs["inprocess"] = run_inprocess(records, settings, Path(tmp))
            configs["inprocess"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
            print(json.dumps(_brief(configs["inprocess"])), flush=True)
        for slots in args.slots:
            print(f"server: {slots} slots x {args.threads} threads ...", flush=True)
            configs[f"server_{slots}"] = run_server(records, settings, Path(tmp), slots, args.threads)
            configs[f"server_{slots}"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
            print(json.dumps(_brief(configs[f"server_{slots}"])), flush=True)
    servers = {k: v for k, v in configs.items() if k.startswith("server_")}
    best = max(servers, key=lambda k: servers[k]["ok_records_per_hour"]) if servers else None
    base = configs.get("inprocess")
    ratio = None
    if best and base and base["ok_records_per_hour"] > 0:
        ratio = round(servers[best]["ok_records_per_hour"] / base["ok_records_per_hour"], 3)
    payload = {
        "script": SCRIPT,
        "date": now_iso(),
        "smoke": args.smoke,
        "ratio": ratio,
        "ratio_definition": "best server ok records/hour / in-process ok records/hour, same run, same records",
        "ratio_all_records": round(servers[best]["records_per_hour"] / base["records_per_hour"], 3)
        if best and base
        else None,
        "best_server": best,
        "target_ratio": 1.5,
        "model": MODEL,
        "records_source": str(args.residents) if args.residents else "builtin",
        "machine": {**machine_info(), "lscpu": lscpu()},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "settings": {"max_tokens": args.max_tokens, "max_attempts": args.max_attempts, "temperature": 0.7},
        "configs": configs,
    }
    path = write_results(SCRIPT if not args.smoke else f"{SCRIPT}_smoke", payload)
    print(f"ratio {ratio} (best: {best}); written to {path}")
    return 0


def _brief(f: dict[str, Any]) -> dict[str, Any]:
    keys = ("ok", "records", "wall_s", "ok_records_per_hour", "calls_per_record", "generation_tokens_per_s")
    return {k: f[k] for k in keys} | {"peak_rss_mib": f.get("peak_rss_mib")}


if __name__ == "__main__":
    raise SystemExit(main())
