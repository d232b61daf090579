"""The records a narration run has finished so far, read back from its call cache alone (no model, no server).

A run that is still going (or was stopped) has its finished calls in the cache (``CallCache``, committed as each
call finishes) but writes its table only at the end. Replaying it with a client that answers nothing re-runs the
engine's loop over the cached answers: every request of a finished record is found in the cache, so the record
ends exactly as in the run (same answers, same validation, same attempts); a record whose next request is not in
the cache is unfinished and left out. Use it with the code that made the calls (their request keys must match),
e.g. for the "before" run of issue 13, main at c873492::

    PYTHONPATH=/path/to/checkout-of-c873492 python benchmarks/replay_narratives.py \\
        --chosen BEFORE/chosen.parquet --cache BEFORE/calls.sqlite --out REPLAY

The engine settings are those of that run (the lead's ``before_gen.py``: model
``openai/qwen2.5-coder-1.5b-instruct``, temperature 0.7, top_p 0.95, max_tokens 900, the narrative JSON schema as
``response_format``, 4 attempts). Writes ``REPLAY/results.parquet`` (uuid, planning_area, status, attempts,
failure_reasons, texts as JSON: the shape ``before_gen.py`` writes) and ``REPLAY/chosen.parquet``. The cache is
read from a consistent copy (SQLite's backup API), so a run writing to it meanwhile is not disturbed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
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


def replay(chosen: pd.DataFrame, cache_file: Path, model: str, max_attempts: int) -> pd.DataFrame:
    schema = getattr(prompts, "NARRATIVE_SCHEMA", None)  # main at c873492; this branch's profiles have their own
    if schema is None:
        schema = prompts.COMPACT.answer_schema()
    settings = EngineSettings(
        model=model,
        params={
            "temperature": 0.7,
            "top_p": 0.95,
            "max_tokens": 900,
            "response_format": {"type": "json_schema", "json_schema": {"name": "persona_narratives", "schema": schema}},
        },
        max_in_flight=4,
        timeout_s=1800,
        max_attempts=max_attempts,
        areas=tuple(PLANNING_AREAS),
    )
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "calls.sqlite"
        copy_cache(cache_file, copy)
        cache = CallCache(copy)
        results = asyncio.run(NarrativeEngine(CacheOnlyClient(), cache, settings).run(chosen.to_dict("records")))
        cache.close()
    rows = []
    for rec, res in zip(chosen.to_dict("records"), results, strict=True):
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
    return pd.DataFrame(rows, columns=["uuid", "planning_area", "status", "attempts", "failure_reasons", "texts"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chosen", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", default="openai/qwen2.5-coder-1.5b-instruct")
    ap.add_argument("--max-attempts", type=int, default=4)
    args = ap.parse_args(argv)
    chosen = pd.read_parquet(args.chosen)
    done = replay(chosen, args.cache, args.model, args.max_attempts)
    args.out.mkdir(parents=True, exist_ok=True)
    chosen.to_parquet(args.out / "chosen.parquet", index=False)
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
