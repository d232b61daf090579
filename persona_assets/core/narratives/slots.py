"""Which of the embedded server's slots a request runs on, and never more requests at the server than it has slots.

On 2 cores the embedded model spends most of a call reading its prompt, not writing: ~37 prompt tokens/s against
~22 generated (4 slots, 2 threads), and a compact-profile request is ~1,500 prompt tokens for ~300 generated.
llama.cpp keeps each slot's last prompt (its KV cache) and reads again only what differs after the longest common
prefix, so where a request runs decides what it costs. Measured on one slot (``llama-server`` 0c1e570, Qwen2.5-Coder
1.5B Q4_K_M, 2 threads): 41 s for a prompt read from nothing, 20 s when the slot last held another record with
another worked example (the ~775-token system prompt is kept), 6 s with the same worked example, and a repair
(the same prompt up to the facts) ~5 s on its own slot.

Left to itself the server queues what exceeds its slots and gives a freed slot to the oldest waiting request,
usually another record's: the repair of the record that just finished then lands elsewhere and reads its ~1,300
tokens of example and facts again. Its host-memory prompt cache does not rescue this case: it is consulted only
when the chosen slot would keep less than half its prompt, and a shared system prompt keeps about half.

So the client places requests itself (``id_slot``, a llama.cpp request field), through :class:`SlotGate`:

- at most ``slots`` requests at the server from **all** processes that lease it (each narratives step of a backfill
  is a process of its own): one lock file per slot, ``flock``-ed while a request is out (the kernel drops the lock
  of a process that dies, however it dies);
- a free slot is chosen by what it last held, written in its lock file: first the slot this record's last request
  ran on (a repair finds its whole prompt up to the last message), then one that last held the same prefix (system
  prompt and worked example), else the free slot least recently used;
- a slot just freed is kept for ``hold_s`` (0.5 s) for the record that used it: its repair follows within
  milliseconds, and without the hold a request already waiting would take the slot first.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any


def describe_prompt(messages: list[dict[str, str]]) -> tuple[str, str]:
    """(prefix, record): digests of everything before the last message (system prompt and worked example, shared by
    the records shown the same example) and of the last message's first line (the record's ``FACTS``, the same in
    its first request and its repairs)."""
    prefix = json.dumps(messages[:-1], sort_keys=True, ensure_ascii=False)
    record = messages[-1].get("content", "").split("\n", 1)[0] if messages else ""
    return hashlib.sha256(prefix.encode()).hexdigest()[:16], hashlib.sha256(record.encode()).hexdigest()[:16]


class SlotGate:
    """A cross-process semaphore over a server's ``slots`` that also chooses the slot (see the module docstring).
    ``take`` waits (polling every ``poll_s``) until a slot is free; ``give`` frees it."""

    def __init__(self, folder: Path, slots: int, poll_s: float = 0.02, hold_s: float = 0.5) -> None:
        if slots < 1:
            raise ValueError(f"a server has at least one slot, not {slots}")
        self.poll_s, self.hold_s = poll_s, hold_s
        self._paths = [folder / f"slot-{k}.lock" for k in range(slots)]
        self._fds = [os.open(p, os.O_RDWR | os.O_CREAT, 0o644) for p in self._paths]
        self._held: set[int] = set()  # flock does not exclude two holders of one open file in this process
        self.waits = 0  # takes that found no slot free at first

    @property
    def slots(self) -> int:
        return len(self._fds)

    def _read(self, k: int) -> dict[str, Any]:
        try:
            return dict(json.loads(os.pread(self._fds[k], 4096, 0) or b"{}"))
        except (ValueError, OSError):
            return {}

    def _try_lock(self, k: int) -> bool:
        if k in self._held:
            return False
        try:
            fcntl.flock(self._fds[k], fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._held.add(k)
        return True

    def try_take(self, prefix: str, record: str) -> int | None:
        """A free slot, chosen by what it last held; ``None`` when all are busy. The slot's file then names this
        request's prompt."""
        free = [k for k in range(self.slots) if self._try_lock(k)]
        last = {k: self._read(k) for k in free}
        now = time.time()
        for k in list(free):  # just freed: kept a moment for its record's repair, which follows within milliseconds
            if last[k].get("record") != record and now - last[k].get("released", 0.0) < self.hold_s:
                free.remove(k)
                self._release(k)
        if not free:
            return None

        def rank(k: int) -> tuple[int, float]:
            held = last[k]
            return (
                2 if held.get("record") == record else 1 if held.get("prefix") == prefix else 0,
                -held.get("t", 0.0),
            )

        chosen = max(free, key=rank)
        for k in free:
            if k != chosen:
                self._release(k)
        note = json.dumps({"prefix": prefix, "record": record, "t": time.time()}).encode()
        os.ftruncate(self._fds[chosen], 0)
        os.pwrite(self._fds[chosen], note, 0)
        return chosen

    async def take(self, messages: list[dict[str, str]]) -> int:
        prefix, record = describe_prompt(messages)
        k = self.try_take(prefix, record)
        if k is None:
            self.waits += 1
        while k is None:
            await asyncio.sleep(self.poll_s)
            k = self.try_take(prefix, record)
        return k

    def _release(self, k: int) -> None:
        fcntl.flock(self._fds[k], fcntl.LOCK_UN)
        self._held.discard(k)

    def give(self, k: int) -> None:
        if k in self._held:
            note = json.dumps({**self._read(k), "released": time.time()}).encode()
            os.ftruncate(self._fds[k], 0)
            os.pwrite(self._fds[k], note, 0)
            self._release(k)

    def close(self) -> None:
        for fd in self._fds:
            os.close(fd)  # drops any lock still held
        self._fds, self._held = [], set()
