"""One narrative run spread over several worker processes.

litellm costs several ms of CPU per call in the calling process (see ``benchmarks/README.md``), so one process
cannot keep more than about 150 calls/s in flight whatever its ``max_in_flight``. :class:`ShardedEngine` runs ``N``
spawned worker processes, each with its own :class:`NarrativeEngine` and ``max_in_flight / N`` calls in flight on
its share of the records (every ``N``-th record), all sharing one SQLite :class:`CallCache` (WAL, with a busy
timeout: each process commits every finished call as it finishes). The results come back in the order of the
records, one per record, and the workers' stats are merged.

The workers are started once and reused for every :meth:`ShardedEngine.run` (each keeps its imports, its client and
its connection pool), so use it as a context manager or call :meth:`close`::

    with ShardedEngine(LiteLLMClientFactory(model, api_base, key), cache_path, settings, workers=2) as eng:
        results = eng.run(records)
        eng.stats.calls
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import multiprocessing as mp
import os
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from persona_assets.core.narratives.engine import (
    CallCache,
    Client,
    EngineSettings,
    EngineStats,
    NarrativeEngine,
    NarrativeResult,
)

ClientFactory = Callable[[], Client]  # picklable (a module-level class or function, or an instance with __call__)
CacheFactory = Callable[[Path], CallCache]  # picklable too; default: CallCache itself

#: fewer calls in flight per process than this is not worth a process of its own
MIN_IN_FLIGHT_PER_WORKER = 8


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_workers(max_in_flight: int, cpus: int | None = None) -> int:
    """One worker per usable CPU, but at least :data:`MIN_IN_FLIGHT_PER_WORKER` calls in flight per worker."""
    cpus = usable_cpus() if cpus is None else cpus
    return max(1, min(cpus, max_in_flight // MIN_IN_FLIGHT_PER_WORKER))


def split_in_flight(max_in_flight: int, workers: int) -> list[int]:
    """``max_in_flight`` shared out over ``workers`` (differing by at most one; every share at least 1)."""
    n = max(1, min(workers, max_in_flight))
    return [max_in_flight // n + (1 if i < max_in_flight % n else 0) for i in range(n)]


def split_settings(settings: EngineSettings, workers: int) -> list[EngineSettings]:
    """Each worker's settings: its share of ``max_in_flight`` and of the adaptive limit's start
    (``initial_in_flight``): N workers starting at 8 each would send 8N at once to a provider that may take 8 (the
    bench's refusing server of C = 8 saw 13 in flight so, over its 1.5 C). The revision pass over repeated texts
    is off in the workers (``revise_repeats=0``): a worker sees only its shard, so what it found would depend on
    the number of workers; a sharded run does not revise."""
    ceilings = split_in_flight(settings.max_in_flight, workers)
    initial = split_in_flight(max(len(ceilings), settings.initial_in_flight), len(ceilings))
    return [
        dataclasses.replace(settings, max_in_flight=c, initial_in_flight=min(c, i), revise_repeats=0)
        for c, i in zip(ceilings, initial, strict=True)
    ]


def merge_stats(parts: Iterable[EngineStats]) -> EngineStats:
    """Field-wise sum of engine stats (counters are added key by key)."""
    out = EngineStats()
    for part in parts:
        for f in dataclasses.fields(EngineStats):
            mine, theirs = getattr(out, f.name), getattr(part, f.name)
            if isinstance(mine, Counter):
                mine.update(theirs)
            else:
                setattr(out, f.name, mine + theirs)
    return out


def _worker_main(conn: Connection, client_factory: ClientFactory, cache_factory: CacheFactory, cache_path: str) -> None:
    """A worker: builds its client once, then runs one shard per request until told to stop."""
    try:
        client = client_factory()
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        conn.send(("error", f"client factory failed: {type(exc).__name__}: {exc}", traceback.format_exc()))
        return
    conn.send(("ready",))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if msg[0] == "stop":
            return
        _, records, settings = msg
        try:
            cpu0 = time.process_time()
            cache = cache_factory(Path(cache_path))
            try:
                engine = NarrativeEngine(client, cache, settings)
                results = asyncio.run(engine.run(records))
            finally:
                cache.close()
            conn.send(("ok", results, engine.stats, time.process_time() - cpu0))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
            conn.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
            if isinstance(exc, KeyboardInterrupt):
                return


class ShardedEngineError(RuntimeError):
    pass


class ShardedEngine:
    """``workers`` processes, each a :class:`NarrativeEngine` with its share of ``settings.max_in_flight``."""

    def __init__(
        self,
        client_factory: ClientFactory,
        cache_path: Path | str,
        settings: EngineSettings,
        workers: int | None = None,
        start_timeout_s: float = 120.0,
        cache_factory: CacheFactory = CallCache,
    ) -> None:
        self.client_factory = client_factory
        self.cache_factory = cache_factory
        self.cache_path = Path(cache_path)
        self.settings = settings
        self.workers = len(split_in_flight(settings.max_in_flight, workers or default_workers(settings.max_in_flight)))
        self.start_timeout_s = start_timeout_s
        self.stats = EngineStats()  # all runs of this engine, like NarrativeEngine.stats
        self.last_run_stats = EngineStats()
        self.last_run_worker_cpu_s: list[float] = []  # CPU seconds each worker spent on the last run
        self._procs: list[Any] = []
        self._conns: list[Connection] = []

    def __enter__(self) -> ShardedEngine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Spawn the workers and wait until each has built its client (idempotent)."""
        if self._procs:
            return
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        self.cache_factory(self.cache_path).close()  # create the database (and WAL mode) before the workers race for it
        ctx = mp.get_context("spawn")  # fresh interpreters: no forked event loop, sockets or SQLite handles
        try:
            for i in range(self.workers):
                parent, child = ctx.Pipe()
                proc = ctx.Process(
                    target=_worker_main,
                    args=(child, self.client_factory, self.cache_factory, str(self.cache_path)),
                    name=f"narrative-shard-{i}",
                    daemon=True,
                )
                proc.start()
                child.close()
                self._procs.append(proc)
                self._conns.append(parent)
            for conn in self._conns:
                self._expect(conn, "ready", self.start_timeout_s)
        except BaseException:
            self.close()
            raise

    def _expect(self, conn: Connection, kind: str, timeout_s: float | None) -> tuple[Any, ...]:
        if timeout_s is not None and not conn.poll(timeout_s):
            raise ShardedEngineError(f"a narrative worker did not answer within {timeout_s:.0f} s")
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            raise ShardedEngineError("a narrative worker died (no result)") from None
        if msg[0] == "error":
            raise ShardedEngineError(f"a narrative worker failed: {msg[1]}\n{msg[2]}")
        if msg[0] != kind:
            raise ShardedEngineError(f"unexpected message from a narrative worker: {msg[0]!r}")
        return msg

    def run(self, records: list[dict[str, Any]]) -> list[NarrativeResult]:
        """Narrate ``records`` across the workers; one result per record, in the records' order."""
        if not records:
            self.last_run_stats, self.last_run_worker_cpu_s = EngineStats(), []
            return []
        self.start()
        shares = split_settings(self.settings, min(self.workers, len(records)))
        n = len(shares)
        try:
            for i, settings in enumerate(shares):
                self._conns[i].send(("run", records[i::n], settings))
            replies = [self._expect(self._conns[i], "ok", None) for i in range(n)]
        except (BrokenPipeError, ConnectionResetError):
            self.close()
            raise ShardedEngineError("a narrative worker died (its pipe is closed)") from None
        except BaseException:
            self.close()  # the other workers' replies would otherwise be read as the next run's
            raise
        out: list[NarrativeResult | None] = [None] * len(records)
        for i, (_, results, _stats, _cpu) in enumerate(replies):
            expected = len(range(i, len(records), n))
            if len(results) != expected:
                raise ShardedEngineError(f"worker {i} returned {len(results)} results for {expected} records")
            out[i::n] = results
        self.last_run_stats = merge_stats(r[2] for r in replies)
        self.last_run_worker_cpu_s = [r[3] for r in replies]
        self.stats = merge_stats([self.stats, self.last_run_stats])
        return [r for r in out if r is not None]

    def close(self) -> None:
        """Stop the workers (a worker that does not stop within a few seconds is terminated)."""
        for conn in self._conns:
            with contextlib.suppress(OSError, ValueError):  # a dead worker's pipe
                conn.send(("stop",))
        deadline = time.monotonic() + 10.0
        for proc in self._procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.terminate()
                proc.join(5.0)
        for conn in self._conns:
            conn.close()
        self._procs, self._conns = [], []


def run_sharded(
    records: list[dict[str, Any]],
    client_factory: ClientFactory,
    cache_path: Path | str,
    settings: EngineSettings,
    workers: int | None = None,
) -> tuple[list[NarrativeResult], EngineStats]:
    """One-shot :class:`ShardedEngine`: start the workers, narrate ``records``, stop them."""
    with ShardedEngine(client_factory, cache_path, settings, workers) as engine:
        results = engine.run(records)
        return results, engine.stats


__all__ = [
    "CacheFactory",
    "ClientFactory",
    "ShardedEngine",
    "ShardedEngineError",
    "default_workers",
    "merge_stats",
    "run_sharded",
    "split_in_flight",
    "split_settings",
    "usable_cpus",
]
