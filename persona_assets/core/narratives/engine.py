"""The narrative engine: adaptive in-flight async calls (``concurrency.AdaptiveLimit``: it finds the provider's
limit, with ``max_in_flight`` as the ceiling), retries with backoff (honouring ``Retry-After``), an enforced timeout
for every provider, a durable cache of finished calls, validation and resampling.

Every record ends ``ok`` (texts accepted) or ``failed`` with reasons; nothing is dropped. Transport failures
that outlast the retries are *not* cached, so a re-run retries exactly those records; finished calls (accepted
or rejected by validation) are cached, so an unchanged re-run makes zero calls.

After every record of a run has an answer, a *revision pass* (``EngineSettings.revise_repeats`` rounds) asks
again for the texts that repeat an earlier record's (``repeats.find_repeated_fields``: near-duplicates, which the
per-record validator cannot see), as a repair of those fields; a revision that fails (a rule, a parse error, a
cut answer, the transport) leaves the record with its valid texts, and its rejection is recorded. Decided in
record order from the answers alone, so an unchanged re-run makes the same revisions -- from the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from persona_assets.core.narratives.concurrency import OVERLOAD_KINDS, AdaptiveLimit
from persona_assets.core.narratives.prompts import (
    COMPACT,
    PROFILES,
    field_of,
    render_messages,
    render_repair_messages,
    request_key,
)
from persona_assets.core.narratives.repeats import find_repeated_fields
from persona_assets.core.narratives.validate import parse_answer, validate_narrative


class TransientError(Exception):
    """Worth retrying: 429, 5xx, timeouts, connection errors, truncated or unreadable bodies."""

    def __init__(self, kind: str, retry_after: float | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.retry_after = retry_after


class PermanentError(Exception):
    """Not worth retrying (bad request, authentication)."""


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0  # including reasoning tokens, as providers count them
    cost: float = 0.0
    finish_reason: str | None = None  # "length": the answer was cut at max_tokens
    reasoning_tokens: int = 0  # of completion_tokens, spent on reasoning (gpt-oss, reasoning_content); not in text


class Client(Protocol):
    async def complete(self, messages: list[dict[str, str]], params: dict[str, Any]) -> Completion: ...


class CallCache:
    """Finished calls in SQLite (WAL; each call committed as it finishes, so SIGKILL loses no finished call)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._con = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._con.execute("PRAGMA busy_timeout=60000")  # several partition processes may share one cache
        self._con.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives the process being killed (SIGKILL); only an OS crash or power cut can
        # lose the last few, which are then simply requested again. FULL would add an fsync to every commit.
        self._con.execute("PRAGMA synchronous=NORMAL")
        self._con.execute(
            "CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, model TEXT, prompt_version TEXT, text TEXT, "
            "prompt_tokens INTEGER, completion_tokens INTEGER, cost REAL, created REAL, finish_reason TEXT, "
            "reasoning_tokens INTEGER)"
        )
        columns = {row[1] for row in self._con.execute("PRAGMA table_info(calls)")}
        for column, kind in (("finish_reason", "TEXT"), ("reasoning_tokens", "INTEGER")):  # caches of earlier versions
            if column not in columns:
                with contextlib.suppress(sqlite3.OperationalError):  # another process added it first
                    self._con.execute(f"ALTER TABLE calls ADD COLUMN {column} {kind}")
        # lookups on a connection of their own: in WAL mode a reader never waits for a writer, so the event loop's
        # lookups do not queue behind a commit (or a checkpoint) running on the engine's writer thread
        self._read_lock = threading.Lock()
        self._read = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._read.execute("PRAGMA busy_timeout=60000")

    def get(self, key: str) -> Completion | None:
        with self._read_lock:
            row = self._read.execute(
                "SELECT text, prompt_tokens, completion_tokens, cost, finish_reason, coalesce(reasoning_tokens, 0) "
                "FROM calls WHERE key = ?",
                (key,),
            ).fetchone()
        return Completion(*row) if row else None

    def put(self, key: str, model: str, completion: Completion, prompt_version: str = COMPACT.prompt_version) -> None:
        with self._lock:
            self._con.execute(
                "INSERT OR REPLACE INTO calls (key, model, prompt_version, text, prompt_tokens, completion_tokens, "
                "cost, created, finish_reason, reasoning_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    model,
                    prompt_version,
                    completion.text,
                    completion.prompt_tokens,
                    completion.completion_tokens,
                    completion.cost,
                    time.time(),
                    completion.finish_reason,
                    completion.reasoning_tokens,
                ),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._con.execute("SELECT count(*) FROM calls").fetchone()[0])

    def close(self) -> None:
        self._read.close()
        self._con.close()


@dataclass
class NarrativeResult:
    uuid: str
    status: str  # ok | failed
    texts: dict[str, Any] | None
    reasons: list[str]
    attempts: int  # generations, revisions of the revision pass included
    rejected: list[str] = field(default_factory=list)  # the reasons of every rejected answer, in order


@dataclass
class EngineStats:
    calls: int = 0  # calls sent to the provider (not cache hits)
    cache_hits: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    truncated: int = 0  # answers cut at max_tokens (finish_reason "length")
    cost: float = 0.0
    transport_errors: Counter[str] = field(default_factory=Counter)
    # the adaptive limit (summed over the workers of a sharded run: the total in flight)
    peak_in_flight: int = 0
    concurrency_limit: float = 0.0  # at the end of the run
    settled_limit: float = 0.0  # time-weighted mean over the second half of the run
    limit_cuts: Counter[str] = field(default_factory=Counter)  # overload / queueing
    revisions: int = 0  # records sent back by the revision pass (each round counts its own)


@dataclass
class EngineSettings:
    model: str
    params: dict[str, Any] = field(default_factory=dict)  # sampling parameters (temperature, top_p, max_tokens)
    max_in_flight: int = 4  # the ceiling of the adaptive limit (the limit itself when adaptive is off)
    adaptive: bool = True  # find the provider's concurrency (AIMD on overload and on queueing latency)
    initial_in_flight: int = 8  # the limit to start from; 1 measures the unloaded latency first (slower start)
    max_retries: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 20.0
    timeout_s: float = 180.0
    max_attempts: int = 3  # generations per record (1 + resamples) before it is failed
    areas: tuple[str, ...] = ()
    profile: str = COMPACT.name  # the prompt profile (``prompts.PROFILES``)
    truncation_room: float = 1.5  # after an answer cut at max_tokens, the next attempt gets this much more room
    max_tokens_cap: int = 4096
    revise_repeats: int = 2  # rounds of the revision pass over texts repeating another record's (0: none)
    repeat_scope: str = "planning_area"  # compared within a partition, or "run" (repeats.SCOPES)


def attempt_seed(uuid: str, attempt: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{uuid}/{attempt}".encode()).digest()[:4], "little")


class NarrativeEngine:
    def __init__(self, client: Client, cache: CallCache, settings: EngineSettings) -> None:
        self.client = client
        self.cache = cache
        self.settings = settings
        self.stats = EngineStats()
        self.limiter: AdaptiveLimit | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._rng = random.Random(0)

    async def _call(self, key: str, messages: list[dict[str, str]], params: dict[str, Any]) -> Completion:
        cached = self.cache.get(key)
        if cached is not None:
            self.stats.cache_hits += 1
            return cached
        s = self.settings
        limiter = self.limiter
        assert limiter is not None
        last: TransientError | None = None
        for retry in range(s.max_retries + 1):
            completion: Completion | None = None
            error: TransientError | None = None
            ticket = await limiter.acquire()  # a slot is a request at the provider: the commit below holds none
            self.stats.calls += 1
            try:
                async with asyncio.timeout(s.timeout_s):  # no extra task per call, unlike wait_for
                    completion = await self.client.complete(messages, params)
            except TimeoutError:
                error = TransientError("timeout")
            except TransientError as exc:
                error = exc
            finally:  # a permanent error or a cancellation tells nothing about load
                outcome = "ok" if completion else "overload" if error and error.kind in OVERLOAD_KINDS else "error"
                tokens = completion.completion_tokens if completion else 0
                limiter.release(ticket, outcome, limiter.clock() - ticket.sent, tokens)
            last = error or last
            if completion is not None:
                await self._store(key, completion)  # committed before the call counts as done
                self.stats.prompt_tokens += completion.prompt_tokens
                self.stats.completion_tokens += completion.completion_tokens
                self.stats.reasoning_tokens += completion.reasoning_tokens
                self.stats.truncated += completion.finish_reason == "length"
                self.stats.cost += completion.cost
                return completion
            assert last is not None
            self.stats.transport_errors[last.kind] += 1
            if retry == s.max_retries:
                break
            self.stats.retries += 1
            delay = last.retry_after if last.retry_after is not None else s.backoff_base_s * 2**retry
            await asyncio.sleep(min(s.backoff_max_s, delay) * (1 + 0.1 * self._rng.random()))
        assert last is not None
        raise last

    async def _store(self, key: str, completion: Completion) -> None:
        """Commit a finished call before it counts as done (so SIGKILL loses none), on the writer thread: SQLite
        releases the GIL while it writes, and lookups use their own connection, so the event loop keeps serving
        the other calls meanwhile."""
        version = PROFILES[self.settings.profile].prompt_version
        if self._writer is None:
            self.cache.put(key, self.settings.model, completion, version)
        else:
            await asyncio.get_running_loop().run_in_executor(
                self._writer, self.cache.put, key, self.settings.model, completion, version
            )

    def _params(self, uuid: str, attempt: int, fields: list[str] | None, room: float = 1.0) -> dict[str, Any]:
        params = {**self.settings.params, "seed": attempt_seed(uuid, attempt)}
        if room > 1.0 and params.get("max_tokens"):
            params["max_tokens"] = min(self.settings.max_tokens_cap, int(params["max_tokens"] * room))
        rf = params.get("response_format")
        if fields and isinstance(rf, dict) and rf.get("type") == "json_schema":
            params["response_format"] = {
                **rf,
                "json_schema": {
                    **rf.get("json_schema", {}),
                    "schema": PROFILES[self.settings.profile].answer_schema(fields),
                },
            }
        return params

    async def _ask(
        self, record: dict[str, Any], attempt: int, fields: list[str] | None, reasons: list[str], room: float = 1.0
    ) -> tuple[Completion, dict[str, Any]]:
        """One generation: the full request, or (``fields``) a repair of those fields for ``reasons``."""
        profile = PROFILES[self.settings.profile]
        if fields:
            messages = render_repair_messages(record, fields, reasons, profile)
        else:
            messages = render_messages(record, profile)
        params = self._params(str(record["uuid"]), attempt, fields, room)
        key = request_key(self.settings.model, messages, params, attempt, profile.prompt_version)
        return await self._call(key, messages, params), params

    def _judge(
        self,
        completion: Completion,
        params: dict[str, Any],
        record: dict[str, Any],
        base: dict[str, Any] | None,
        fields: list[str],
    ) -> tuple[dict[str, Any] | None, list[str]]:
        """An answer's texts -- for a repair (``base``: the texts so far), ``base`` with the repaired ``fields``
        merged in -- and what is wrong with them: ``(None, [reason])`` when the answer was cut at ``max_tokens``,
        is unparseable or lacks a repaired field, else the texts and the rules they break (none: accepted)."""
        if completion.finish_reason == "length":
            return None, [f"truncated: answer cut at max_tokens={params.get('max_tokens')}"]
        part, error = parse_answer(completion.text)
        if part is None:
            return None, [error or "parse: no JSON object"]
        if base is not None:
            missing = [f for f in fields if f not in part]
            if missing:
                return None, [f"parse: repair missing {missing[0]}"]
            part = {**base, **{f: part[f] for f in fields}}
        return part, validate_narrative(part, record, self.settings.areas, PROFILES[self.settings.profile])

    async def revise(self, record: dict[str, Any], result: NarrativeResult, reasons: list[str]) -> NarrativeResult:
        """Ask again, as a repair, for the fields of an ok ``result`` that ``reasons`` name (texts repeating
        another record's); the answer is validated with the rest of the texts like any repair. When it fails, the
        record keeps its texts (they were valid) and the rejection is recorded (with the transport's or provider's
        reason when the call itself failed). ``attempts`` counts revisions too, so it may exceed
        ``max_attempts``."""
        assert result.status == "ok" and result.texts is not None
        fields = sorted({f for r in reasons if (f := field_of(r))})
        attempt, rejected = result.attempts, [*result.rejected, *reasons]
        try:
            completion, params = await self._ask(record, attempt, fields, reasons)
        except TransientError as exc:
            return replace(result, rejected=[*rejected, f"transport: {exc.kind} after retries"])
        except PermanentError as exc:
            return replace(result, rejected=[*rejected, f"provider: {exc}"])
        candidate, broken = self._judge(completion, params, record, result.texts, fields)
        if candidate is None or broken:
            return replace(result, attempts=attempt + 1, rejected=[*rejected, *broken])
        return replace(result, texts=candidate, attempts=attempt + 1, rejected=rejected)

    async def narrate(self, record: dict[str, Any]) -> NarrativeResult:
        """Generate, validate, and then either *repair* (ask again for only the fields that broke a rule, when
        every reason names a field) or regenerate in full (unparseable answers, cross-field problems), up to
        ``max_attempts`` generations in all. An answer cut at ``max_tokens`` (``finish_reason: length``) is asked
        for again with ``truncation_room`` times the room; if the last attempt is cut too, the record fails with
        ``truncated: …`` (not a parse error)."""
        uuid = str(record["uuid"])
        reasons: list[str] = []
        rejected: list[str] = []
        obj: dict[str, Any] | None = None
        room = 1.0
        for attempt in range(self.settings.max_attempts):
            fields = sorted({f for r in reasons if (f := field_of(r))}) if obj is not None else []
            repair = bool(fields) and all(field_of(r) for r in reasons)
            try:
                completion, params = await self._ask(record, attempt, fields if repair else None, reasons, room)
            except TransientError as exc:
                reason = f"transport: {exc.kind} after retries"
                return NarrativeResult(uuid, "failed", None, [reason], attempt + 1, rejected)
            except PermanentError as exc:
                return NarrativeResult(uuid, "failed", None, [f"provider: {exc}"], attempt + 1, rejected)
            candidate, reasons = self._judge(completion, params, record, obj if repair else None, fields)
            if candidate is None:  # cut at max_tokens or unparseable
                rejected += reasons
                if completion.finish_reason == "length":
                    room *= self.settings.truncation_room
                if not repair:
                    obj = None
                continue
            obj = candidate
            if not reasons:
                return NarrativeResult(uuid, "ok", obj, [], attempt + 1, rejected)
            rejected += reasons
        return NarrativeResult(uuid, "failed", None, reasons, self.settings.max_attempts, rejected)

    def window(self) -> int:
        """Records in progress at once: enough to keep ``max_in_flight`` calls busy while others validate, back
        off or wait for the writer, without rendering, hashing and looking up every record of a large partition
        before the first call goes out."""
        return 2 * self.settings.max_in_flight + 8

    async def run(self, records: list[dict[str, Any]]) -> list[NarrativeResult]:
        """Narrate ``records``; one result per record, in their order. One run at a time per engine."""
        if self._writer is not None:
            raise RuntimeError("this NarrativeEngine is already running a batch; use one engine per concurrent run")
        s = self.settings
        self.limiter = AdaptiveLimit(s.max_in_flight, initial=s.initial_in_flight, adaptive=s.adaptive)
        results: list[NarrativeResult | None] = [None] * len(records)

        async def lanes(
            todo: list[tuple[int, Any]], step: Callable[[dict[str, Any], Any], Awaitable[NarrativeResult]]
        ) -> None:
            pending = iter(todo)

            async def lane() -> None:
                for i, job in pending:  # lanes share one iterator: each record is taken exactly once
                    results[i] = await step(records[i], job)

            async with asyncio.TaskGroup() as group:  # a lane that raises cancels the others: no orphaned calls
                for _ in range(min(self.window(), len(todo))):
                    group.create_task(lane())

        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="narrative-cache-writer")
        try:
            await lanes([(i, None) for i in range(len(records))], lambda record, _: self.narrate(record))
            for _ in range(s.revise_repeats):
                answers = [r.texts if r is not None and r.status == "ok" else None for r in results]
                repeats = find_repeated_fields(answers, records, s.repeat_scope)
                if not repeats:
                    break
                self.stats.revisions += len(repeats)
                todo = [(i, (results[i], reasons)) for i, reasons in sorted(repeats.items())]
                await lanes(todo, lambda record, job: self.revise(record, *job))
        except BaseExceptionGroup as group:
            raise group.exceptions[0] from group  # the first failure itself, not a group, for the caller
        finally:
            self._writer.shutdown(wait=True)  # a commit already queued still lands
            self._writer = None
            self._record_limit()
        done = [r for r in results if r is not None]
        if len(done) != len(records):
            raise RuntimeError(f"narrative engine lost {len(records) - len(done)} of {len(records)} records")
        return done

    def _record_limit(self) -> None:
        lim = self.limiter
        if lim is None:
            return
        self.stats.peak_in_flight = max(self.stats.peak_in_flight, lim.peak_in_flight)
        self.stats.concurrency_limit = float(lim.capacity())
        self.stats.settled_limit = round(lim.mean_limit(0.5), 3)
        self.stats.limit_cuts.update({k: v for k, v in lim.cuts.items() if v})


def summarise(results: list[NarrativeResult]) -> dict[str, Any]:
    reasons: Counter[str] = Counter()
    for r in results:
        reasons.update({x.split(":")[0] + ":" + x.split(":")[1].split()[0] if ":" in x else x for x in r.reasons})
    ok = sum(r.status == "ok" for r in results)
    return {
        "records": len(results),
        "ok": ok,
        "failed": len(results) - ok,
        "ok_rate": round(ok / len(results), 4) if results else 0.0,
        "top_failure_reasons": dict(reasons.most_common(5)),
    }
