"""Narration with the code of an earlier commit, and its finished records read back from its call cache.

Two modes, both run with the code that makes (or made) the calls, so that request keys, prompts and validation are
that commit's — e.g. the "before" run of issue 13, main at c873492::

    git worktree add /tmp/before c873492
    # narrate: cache misses go to an OpenAI-compatible server (``bench_narrative_quality.py serve`` starts the
    # embedded model's llama-server); the table is rewritten after every chunk, so a stopped run keeps its records
    PYTHONPATH=/tmp/before python benchmarks/replay_narratives.py --chosen BEFORE/chosen.parquet \
        --cache BEFORE/calls.sqlite --out BEFORE --api-base http://127.0.0.1:PORT/v1 --in-flight 2
    # replay: no server; every request must be in the cache
    PYTHONPATH=/tmp/before python benchmarks/replay_narratives.py \
        --chosen BEFORE/chosen.parquet --cache BEFORE/calls.sqlite --out REPLAY

Replaying re-runs the engine's loop with a client that answers nothing: every request of a finished record is found
in the cache, so the record ends exactly as in the run (same answers, same validation, same attempts); a record
whose next request is not in the cache is unfinished and left out. The cache is read from a consistent copy
(SQLite's backup API), so a run writing to it meanwhile is not disturbed.

The engine settings are those of the lead's ``before_gen.py`` (the first before run): model
``openai/qwen2.5-coder-1.5b-instruct``, temperature 0.7, top_p 0.95, max_tokens 900, the narrative JSON schema as
``response_format``, 4 attempts, 1,800 s per call. Writes ``OUT/results.parquet`` (uuid, planning_area, status,
attempts, failure_reasons, texts as JSON), ``OUT/chosen.parquet`` and ``OUT/summary.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from persona_assets.core.narratives import prompts
from persona_assets.core.narratives.engine import CallCache, EngineSettings, NarrativeEngine, PermanentError
from persona_assets.partitions import PLANNING_AREAS

UNFINISHED = "not in the call cache (unfinished)"


class CacheOnlyClient:
    """Answers nothing: every request that is not in the cache fails permanently."""

    async def complete(self, messages: list[dict[str, str]], params: dict[str, Any]) -> Any:
        raise PermanentError(UNFINISHED)


def copy_cache(src: Path, dst: Path) -> None:
    with sqlite3.connect(f"file:{src}?mode=ro", uri=True) as source, sqlite3.connect(dst) as target:
        source.backup(target)


def engine_settings(model: str, max_attempts: int, in_flight: int) -> EngineSettings:
    schema = getattr(prompts, "NARRATIVE_SCHEMA", None)  # main at c873492; this branch's profiles have their own
    if schema is None:
        schema = prompts.COMPACT.answer_schema()
    return EngineSettings(
        model=model,
        params={
            "temperature": 0.7,
            "top_p": 0.95,
            "max_tokens": 900,
            "response_format": {"type": "json_schema", "json_schema": {"name": "persona_narratives", "schema": schema}},
        },
        max_in_flight=in_flight,
        timeout_s=1800,
        max_attempts=max_attempts,
        areas=tuple(PLANNING_AREAS),
    )


RESULT_COLUMNS = ["uuid", "planning_area", "status", "attempts", "failure_reasons", "texts"]


def result_rows(records: list[dict[str, Any]], results: list[Any]) -> list[dict[str, Any]]:
    """One row per finished record (a record with an unfinished request is left out)."""
    rows = []
    for rec, res in zip(records, results, strict=True):
        if any(UNFINISHED in r for r in res.reasons):
            continue
        rows.append(
            {
                "uuid": res.uuid,
                "planning_area": rec["planning_area"],
                "status": res.status,
                "attempts": res.attempts,
                "failure_reasons": list(res.reasons),
                "texts": json.dumps(res.texts or {}, ensure_ascii=False),
            }
        )
    return rows


def replay(chosen: pd.DataFrame, cache_file: Path, model: str, max_attempts: int) -> pd.DataFrame:
    settings = engine_settings(model, max_attempts, in_flight=4)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "calls.sqlite"
        copy_cache(cache_file, copy)
        cache = CallCache(copy)
        records = chosen.to_dict("records")
        results = asyncio.run(NarrativeEngine(CacheOnlyClient(), cache, settings).run(records))
        cache.close()
    return pd.DataFrame(result_rows(records, results), columns=RESULT_COLUMNS)


def narrate(
    chosen: pd.DataFrame, cache_file: Path, out: Path, api_base: str, model: str, max_attempts: int, in_flight: int,
    chunk: int,
) -> dict[str, Any]:  # fmt: skip
    """Narrate ``chosen`` in its order, ``chunk`` records per engine run, through an OpenAI-compatible server
    (cache hits first); after each chunk ``results.parquet`` and ``summary.json`` are rewritten."""
    from persona_assets.core.narratives.client import LiteLLMClient

    settings = engine_settings(model, max_attempts, in_flight)
    client = LiteLLMClient(model, api_base, request_timeout_s=settings.timeout_s)
    cache = CallCache(cache_file)
    rows: list[dict[str, Any]] = []
    totals = {"calls": 0, "cache_hits": 0, "retries": 0, "prompt_tokens": 0, "completion_tokens": 0}
    earlier_s, sessions = 0.0, 1
    if (out / "results.parquet").exists():  # resume: a table from an earlier session keeps its records
        rows = pd.read_parquet(out / "results.parquet").to_dict("records")
        chosen = chosen[~chosen["uuid"].astype(str).isin({str(r["uuid"]) for r in rows})]
        before = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
        totals = {k: int(before.get(k, 0)) for k in totals}
        earlier_s, sessions = float(before.get("wall_s", 0.0)), int(before.get("sessions", 1)) + 1
        print(f"resuming: {len(rows)} records done, {len(chosen)} to go", flush=True)
    total = len(rows) + len(chosen)
    started = time.perf_counter()
    summary: dict[str, Any] = {}
    for start in range(0, len(chosen), chunk):
        records = chosen.iloc[start : start + chunk].to_dict("records")
        engine = NarrativeEngine(client, cache, settings)
        rows += result_rows(records, asyncio.run(engine.run(records)))
        for k in totals:
            totals[k] += int(getattr(engine.stats, k))
        done = pd.DataFrame(rows, columns=RESULT_COLUMNS)
        done.to_parquet(out / "results.parquet", index=False)
        summary = {
            "name": "narrative_quality_before",
            "model": model,
            "prompt_version": getattr(prompts, "PROMPT_VERSION", None),
            "records": total,
            "records_done": len(done),
            "ok": int((done["status"] == "ok").sum()),
            "wall_s": round(earlier_s + time.perf_counter() - started, 1),
            "sessions": sessions,
            **totals,
            "in_flight": in_flight,
            "api_base": api_base,
        }
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
        print(f"{len(done)}/{total} records, {summary['ok']} ok, {summary['wall_s']:.0f} s", flush=True)
    cache.close()
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chosen", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", default="openai/qwen2.5-coder-1.5b-instruct")
    ap.add_argument("--max-attempts", type=int, default=4)
    ap.add_argument("--api-base", help="narrate: send cache misses to this OpenAI-compatible server")
    ap.add_argument("--in-flight", type=int, default=4, help="narrate: requests in flight")
    ap.add_argument("--chunk", type=int, default=8, help="narrate: records per engine run")
    args = ap.parse_args(argv)
    chosen = pd.read_parquet(args.chosen)
    args.out.mkdir(parents=True, exist_ok=True)
    if (args.out / "chosen.parquet").resolve() != args.chosen.resolve():
        chosen.to_parquet(args.out / "chosen.parquet", index=False)
    if args.api_base:
        summary = narrate(
            chosen, args.cache, args.out, args.api_base, args.model, args.max_attempts, args.in_flight, args.chunk
        )
        print(json.dumps(summary))
        return 0
    done = replay(chosen, args.cache, args.model, args.max_attempts)
    done.to_parquet(args.out / "results.parquet", index=False)
    summary = {
        "records": len(chosen),
        "records_done": len(done),
        "ok": int((done["status"] == "ok").sum()),
        "replayed_from": str(args.cache),
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
