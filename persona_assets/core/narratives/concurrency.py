"""Adaptive concurrency: the engine finds how many requests a provider serves at once instead of being told.

:class:`AdaptiveLimit` is an asyncio limiter whose limit moves (AIMD, like TCP congestion control):

- **increase** while the limit is what holds requests back (never while fewer are waiting than it allows): slow
  start (+1 per success, so new requests go out as answers come back, up to twice the limit the epoch began
  with; then the limit holds while a new epoch measures that level, and the next doubling waits for it) until
  the first congestion signal, then additive increase
  (+1 per round trip), slower near the limit of the last overload: each overload at the same level doubles the
  round trips per +1 there (up to 16), so a provider that refuses above C sees a probe above C now and then, not
  every round trip (and no quick climb back after a cut: with several clients on one provider, each process
  running its own controller, that would undo the cuts that share the provider out);
- **multiplicative decrease on overload**: a 429, a 503 or a timeout cuts the limit to ``overload_factor`` of
  what was in flight, at most once per congestion event (requests sent before the last cut do not cut again);
- **multiplicative decrease when the provider queues**: a saturated server that queues instead of refusing (vLLM,
  llama.cpp's server, most gateways) answers no 429 — its latency climbs instead. Completions are grouped into
  epochs (about one round trip each; only requests sent once the first request sent at the epoch's level is
  answered: the first wave after a change still finds the provider's queue as the old level left it); each
  epoch's median latency per completion token is compared with the *knee* among the recent epochs run at least
  ``ref_ratio`` times less concurrency: of those within ``ref_tolerance`` of the fastest, the one of most
  concurrency (against the least, a doubling past the knee reads as less than queueing). The
  *elasticity* ``e = Δln(latency) / Δln(concurrency)`` separates the cases: ``e ≈ 0`` when the provider has room
  (latency holds), ``0 < e < 1`` when it batches with some gain (llama.cpp on CPU: two sequences are slower each
  but faster in all), ``e ≈ 1`` when the extra requests only wait (throughput flat: queueing). Above
  ``queue_elasticity`` the limit is cut to the concurrency the provider actually serves: by Little's law the
  throughput is ``n / latency``, and served at the lowest latency seen it needs ``throughput × min latency``
  requests in flight — cut to that, but not below the reference epoch's concurrency (which still paid, e.g. the
  second slot of a CPU server) if that epoch was itself fast (at most ``ref_slowdown`` × the lowest latency) and
  ``queue_factor`` of the limit is not lower still. A slow start that overshot far is brought back in one step.
  After a queueing cut the limit grows **one step per measured epoch** (+1 when an epoch in which the limit held
  requests back closes without a queueing signal), not per success: above what a queueing provider serves, more
  in flight buys no throughput, so each step is measured before the next (the sawtooth over a 2-slot llama.cpp
  server is 2-3, not 2-5 as with +1 per round trip while the measurement lags);
- **the backlog** (TCP Vegas), for several controllers on one provider (each partition run, each
  ``ShardedEngine`` worker has its own): a flow sees only its own concurrency, so when one of k flows doubles the
  provider's latency grows by 1 + 1/k and the elasticity reads 0.58 for two flows, under the threshold. Of ``n``
  in flight, ``n * (1 - base / latency)`` wait rather than being served (``base``: the lowest epoch latency
  seen); when at least half do (and two), the limit is cut to what the provider serves at the base latency, by at
  most half.

Latency is normalised per completion token so that short repairs and full answers compare. ``ceiling`` (the
engine's ``max_in_flight``) bounds the limit; ``floor`` keeps at least one request going.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

#: transport error kinds (``TransientError.kind``) that mean "too much load": the limit is cut
OVERLOAD_KINDS = frozenset({"429", "503", "timeout"})


@dataclass(frozen=True)
class Ticket:
    sent: float  # clock time the request was let through
    in_flight: int  # requests in flight once it was (itself included)
    binding: bool  # whether the limit was what held requests back when it was sent


class AdaptiveLimit:
    def __init__(
        self,
        ceiling: int,
        initial: int = 8,
        floor: int = 1,
        adaptive: bool = True,
        overload_factor: float = 0.9,
        queue_factor: float = 0.8,
        queue_elasticity: float = 0.7,
        ref_ratio: float = 1.25,
        ref_slowdown: float = 1.5,
        ref_tolerance: float = 1.1,
        backlog_min: float = 2.0,
        backlog_share: float = 0.5,
        backlog_cut: float = 0.5,
        min_epoch: int = 4,
        history: int = 16,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ceiling = max(1, int(ceiling))
        self.floor = max(1, min(int(floor), self.ceiling))
        self.adaptive = adaptive
        self.limit = float(self.ceiling if not adaptive else min(self.ceiling, max(self.floor, initial)))
        self.overload_factor, self.queue_factor = overload_factor, queue_factor
        self.queue_elasticity, self.ref_ratio, self.ref_slowdown = queue_elasticity, ref_ratio, ref_slowdown
        self.ref_tolerance = ref_tolerance
        self.backlog_min, self.backlog_share, self.backlog_cut = backlog_min, backlog_share, backlog_cut
        self._base_latency = math.inf  # the lowest epoch median latency per token seen
        self.min_epoch = min_epoch
        self.clock = clock
        self.in_flight = 0
        self.peak_in_flight = 0
        self.slow_start = adaptive
        self.cuts: dict[str, int] = {"overload": 0, "queueing": 0}
        self.last_overload_limit: float | None = None
        self._last_cut = -math.inf
        self._epoch_start = -math.inf
        self._settle_from = -math.inf
        self._samples: list[tuple[int, float]] = []
        self._epoch_size = max(min_epoch, self.capacity())
        self._epoch_base = self.limit
        self._epoch_binding = False  # whether the limit held requests back in the current epoch
        self._ramping = False  # slow start: growing towards twice the epoch's base (else measuring the level)
        self._queueing = False  # the last congestion signal was latency (a queueing provider): grow per epoch
        self._probe_rtts = 1.0  # round trips per +1 near the last overload's limit
        self._history: deque[tuple[float, float]] = deque(maxlen=history)
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._started = clock()
        self.trace: list[tuple[float, float]] = [(0.0, self.limit)]  # (seconds since start, limit) at each change

    # ---------------------------------------------------------------------------------------------- the limiter

    def capacity(self) -> int:
        return max(self.floor, min(self.ceiling, int(self.limit)))

    def _grant(self) -> Ticket:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        return Ticket(self.clock(), self.in_flight, self.in_flight >= self.capacity() or bool(self._waiters))

    async def acquire(self) -> Ticket:
        """Wait for room under the limit (first come, first served)."""
        if self.in_flight < self.capacity() and not self._waiters:
            return self._grant()
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # granted as we were cancelled: give the slot back
                self.in_flight -= 1
                self._wake()
            else:
                self._waiters.remove(fut)
            raise
        return Ticket(self.clock(), self.in_flight, True)

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.capacity():
            fut = self._waiters.popleft()
            if fut.done():
                continue
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            fut.set_result(None)

    def release(self, ticket: Ticket, outcome: str, latency_s: float = 0.0, completion_tokens: int = 0) -> None:
        """A request is done: ``outcome`` is ``"ok"``, ``"overload"`` (429/503/timeout) or ``"error"`` (anything
        else: no signal about load)."""
        # the concurrency the request ran at: the larger of the counts at its start and at its end (a burst sent
        # at once counts 1, 2, ... n at the start, but ran n at once)
        concurrency = max(ticket.in_flight, self.in_flight)
        self.in_flight -= 1
        if self.adaptive:
            if outcome == "overload":
                if ticket.sent >= self._last_cut:  # one cut per congestion event
                    same_level = (
                        self.last_overload_limit is not None and abs(self.limit - self.last_overload_limit) < 1.5
                    )
                    self._probe_rtts = min(16.0, self._probe_rtts * 2) if same_level else 1.0
                    self.last_overload_limit = self.limit
                    self._cut(self.overload_factor, "overload", base=min(self.limit, self.in_flight + 1))
            elif outcome == "ok":
                if ticket.binding:
                    self._increase()
                if self._epoch_start == math.inf and ticket.sent >= self._settle_from:
                    self._epoch_start = self.clock()  # the first answer to a request sent at this level: settled
                if ticket.sent >= self._epoch_start:
                    self._epoch_binding = self._epoch_binding or ticket.binding
                    per_token = latency_s / completion_tokens if completion_tokens > 0 else latency_s
                    self._samples.append((concurrency, per_token))
                    if len(self._samples) >= self._epoch_size:
                        self._close_epoch()
        self._wake()

    # ---------------------------------------------------------------------------------------------- the control law

    def _set(self, value: float) -> None:
        value = max(float(self.floor), min(float(self.ceiling), value))
        if int(value) != int(self.limit):
            self.trace.append((round(self.clock() - self._started, 3), value))
        self.limit = value

    def _increase(self) -> None:
        last = self.last_overload_limit
        if self.slow_start:
            if self._ramping and self.limit < 2 * self._epoch_base:
                self._set(self.limit + 1.0)
                if self.limit >= 2 * self._epoch_base:
                    self._new_epoch()  # doubled: measure this level from requests sent at it before the next
            return
        if self._queueing:
            return  # one step per measured epoch (in _close_epoch)
        if last is not None and 0.9 * last <= self.limit < last + 2:
            step = 1.0 / (max(1.0, self.limit) * self._probe_rtts)  # near the last overload: probe slowly
        else:
            step = 1.0 / max(1.0, self.limit)  # +1 per round trip
        self._set(self.limit + step)

    def _cut(self, factor: float, why: str, base: float | None = None) -> None:
        self.cuts[why] += 1
        self.slow_start = False
        self._queueing = why == "queueing"
        self._last_cut = self.clock()
        self._set((self.limit if base is None else base) * factor)
        self._new_epoch()

    def _new_epoch(self) -> None:
        self._ramping = False  # slow start holds the limit until this epoch is measured
        self._samples.clear()
        # the epoch counts requests sent once the first one sent at this level is answered: the first wave after a
        # change still finds the provider's queue as the old level left it (half of it unqueued after a doubling)
        self._settle_from, self._epoch_start = self.clock(), math.inf
        self._epoch_size = max(self.min_epoch, self.capacity())
        self._epoch_base = self.limit
        self._epoch_binding = False

    def _close_epoch(self) -> None:
        n = statistics.fmean(s[0] for s in self._samples)
        m = statistics.median(s[1] for s in self._samples)
        binding = self._epoch_binding
        self._new_epoch()
        if self._observe_epoch(n, m):
            return
        if self._queueing and binding:
            self._set(self.limit + 1.0)  # measured without queueing at this level: one step up
            self._new_epoch()
        elif self.slow_start:
            self._ramping = True  # measured without queueing: slow start may double again

    def _observe_epoch(self, n: float, m: float) -> bool:
        """Record an epoch (mean concurrency ``n``, median latency per token ``m``); cut and return True if the
        provider queues."""
        eligible = [h for h in self._history if h[0] * self.ref_ratio <= n]
        ref = None
        if eligible:  # the knee: the most concurrency run at about the fastest latency (a cold first epoch is no ref)
            quick = min(h[1] for h in eligible) * self.ref_tolerance
            ref = max((h for h in eligible if h[1] <= quick), key=lambda h: h[0])
        self._history.append((n, m))
        if m <= 0:
            return False
        self._base_latency = min(self._base_latency, m)
        if ref is None or ref[1] <= 0 or math.log(m / ref[1]) / math.log(n / ref[0]) <= self.queue_elasticity:
            return self._observe_backlog(n, m)
        fastest = min(h[1] for h in self._history)
        served = n / m * fastest  # in flight needed for this throughput, unqueued
        floor = min(ref[0], self.limit * self.queue_factor) if ref[1] <= self.ref_slowdown * fastest else 0.0
        self._cut(1.0, "queueing", base=float(round(max(served, floor))))  # whole requests: 1.95 serves 2, not 1
        return True

    def _observe_backlog(self, n: float, m: float) -> bool:
        """The signal that holds with several controllers on one provider (partition runs, ``ShardedEngine``
        workers): each sees its own concurrency only, so when one of k equal flows doubles, the provider's total
        grows by 1 + 1/k and a queueing provider's latency by that: e = ln(1.5) / ln 2 = 0.58 for two flows, under
        the threshold (the bench's C = 96 ran to the ceiling so). The backlog (TCP Vegas) needs no one else's
        figures: of ``n`` in flight, ``n * (1 - base / m)`` are waiting rather than served, ``base`` being the
        lowest latency seen. When at least ``backlog_share`` of them (and ``backlog_min``) wait, the latency is
        ``1 / (1 - backlog_share)`` times the base or more: cut to what the provider serves at the base latency,
        but at most by ``backlog_cut`` (a batching CPU server is slower per request at 2 than 1 yet pays)."""
        backlog = n * (1.0 - self._base_latency / m)
        if backlog < max(self.backlog_min, self.backlog_share * n):
            return False
        target = float(round(max(n * self._base_latency / m, self.backlog_cut * n)))
        if target >= self.capacity():
            return False
        self._cut(1.0, "queueing", base=target)
        return True

    # ---------------------------------------------------------------------------------------------- reporting

    def mean_limit(self, since: float = 0.0) -> float:
        """Time-weighted mean of the limit from ``since`` (a fraction of the time so far: 0.5 = the second half)."""
        end = self.clock() - self._started
        start = since * end
        total, weighted = 0.0, 0.0
        points = [*self.trace, (end, self.limit)]
        for (t0, v), (t1, _) in zip(points, points[1:], strict=False):
            lo, hi = max(t0, start), min(t1, end)
            if hi > lo:
                total += hi - lo
                weighted += (hi - lo) * min(self.ceiling, max(self.floor, int(v)))
        return weighted / total if total > 0 else float(self.capacity())
