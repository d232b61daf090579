"""Narratives for one partition of residents: choose the records, run the engine, and lay the results out as a
table (one row per chosen record, ``ok`` or ``failed`` with its reasons; nothing is dropped). ``rejected_reasons``
keeps the reasons of every answer the validator rejected on the way (what the narrative report counts per
rule)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import pandas as pd

from persona_assets.core.narratives.engine import CallCache, Client, EngineSettings, NarrativeEngine, summarise
from persona_assets.core.narratives.prompts import PROFILES
from persona_assets.core.schema import LIST_FIELDS, LLM_FIELDS

COLUMNS = (
    "uuid",
    "planning_area",
    "status",
    "attempts",
    "failure_reasons",
    "rejected_reasons",
    *LLM_FIELDS,
    "model",
    "prompt_version",
)


def select_records(residents: pd.DataFrame, budget: int | None) -> pd.DataFrame:
    """The residents that get narratives: a simple random sample of ``budget`` records, drawn by ordering on a
    hash of each uuid (partitions are stored in subzone × age × sex order, so the first rows would all be
    15-year-olds). Deterministic: a re-run asks for exactly the same records, and a larger budget keeps the
    records of a smaller one."""
    if budget is None or budget >= len(residents):
        return residents
    rank = residents["uuid"].astype(str).map(lambda u: hashlib.sha256(u.encode()).hexdigest())
    return residents.loc[rank.sort_values(kind="stable").index[:budget]]


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS}).astype({"attempts": "int64"})


def narrate_partition(
    residents: pd.DataFrame, client: Client, cache: CallCache, settings: EngineSettings
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run the engine over ``residents`` (already selected); return the table and a summary for metadata."""
    started = time.perf_counter()
    if residents.empty:
        return empty_frame(), {**summarise([]), "calls": 0, "cache_hits": 0, "wall_s": 0.0}
    records = residents.to_dict("records")
    engine = NarrativeEngine(client, cache, settings)
    results = asyncio.run(engine.run(records))
    rows = []
    for rec, res in zip(records, results, strict=True):
        row: dict[str, Any] = {
            "uuid": res.uuid,
            "planning_area": rec["planning_area"],
            "status": res.status,
            "attempts": res.attempts,
            "failure_reasons": list(res.reasons),
            "rejected_reasons": list(res.rejected),
            "model": settings.model,
            "prompt_version": PROFILES[settings.profile].prompt_version,
        }
        for f in LLM_FIELDS:
            value = (res.texts or {}).get(f) if res.status == "ok" else None
            row[f] = [str(x).strip() for x in value] if f in LIST_FIELDS and value is not None else value
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    s = engine.stats
    summary = {
        **summarise(results),
        "calls": s.calls,
        "cache_hits": s.cache_hits,
        "retries": s.retries,
        "transport_errors": dict(s.transport_errors),
        "prompt_tokens": s.prompt_tokens,
        "completion_tokens": s.completion_tokens,
        "reasoning_tokens": s.reasoning_tokens,
        "truncated_answers": s.truncated,
        "cost_usd": round(s.cost, 6),
        "peak_in_flight": s.peak_in_flight,
        "settled_concurrency": s.settled_limit,
        "limit_cuts": dict(s.limit_cuts),
        "revisions": s.revisions,
        "wall_s": round(time.perf_counter() - started, 2),
    }
    return frame, summary
