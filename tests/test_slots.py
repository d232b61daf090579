"""The embedded server's slot gate (``core/narratives/slots.py``): at most ``slots`` requests out across processes,
and each placed on the slot that holds most of its prompt."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from persona_assets.core.narratives.slots import SlotGate, describe_prompt


def _messages(example: str, facts: str, repair: bool = False) -> list[dict[str, str]]:
    last = f"FACTS: {facts}\n" + (
        "Write a JSON object with only these keys: a." if repair else "Write the JSON object now."
    )
    return [
        {"role": "system", "content": "rules"},
        {"role": "user", "content": f"FACTS: {example}\nWrite the JSON object now."},
        {"role": "assistant", "content": "{}"},
        {"role": "user", "content": last},
    ]


def test_a_repair_has_the_record_and_prefix_of_its_first_request() -> None:
    first, repair = describe_prompt(_messages("ex1", '{"n": 1}')), describe_prompt(_messages("ex1", '{"n": 1}', True))
    assert first == repair
    other_record = describe_prompt(_messages("ex1", '{"n": 2}'))
    other_example = describe_prompt(_messages("ex2", '{"n": 1}'))
    assert other_record[0] == first[0] and other_record[1] != first[1]
    assert other_example[0] != first[0]


def test_no_more_requests_out_than_slots_across_gates(tmp_path: Path) -> None:
    """Two gates on one folder stand for two processes (flock excludes separate open files, as it does processes)."""
    a, b = SlotGate(tmp_path, 2, hold_s=0), SlotGate(tmp_path, 2, hold_s=0)
    try:
        s1 = a.try_take("p", "r1")
        s2 = b.try_take("p", "r2")
        assert {s1, s2} == {0, 1}
        assert a.try_take("p", "r3") is None and b.try_take("p", "r3") is None
        b.give(s2)
        assert a.try_take("p", "r3") == s2
    finally:
        a.close()
        b.close()


def test_a_request_goes_to_its_records_slot_then_its_prefixs_then_the_least_recently_used(tmp_path: Path) -> None:
    gate = SlotGate(tmp_path, 3, hold_s=0)
    try:
        placed = {}
        for record, prefix in (("r1", "ex1"), ("r2", "ex2"), ("r3", "ex1")):
            placed[record] = gate.try_take(prefix, record)
            time.sleep(0.01)
        for k in placed.values():
            gate.give(k)
        assert gate.try_take("ex2", "r2") == placed["r2"]  # its own slot
        gate.give(placed["r2"])
        assert gate.try_take("ex1", "r9") == placed["r1"]  # a slot that holds its example (of two, the older)
        assert gate.try_take("ex7", "r8") == placed["r3"]  # neither: the least recently used free slot (r2's is newer)
    finally:
        gate.close()


def test_a_freed_slot_waits_a_moment_for_its_records_repair(tmp_path: Path) -> None:
    gate, rival = SlotGate(tmp_path, 1, hold_s=0.3), SlotGate(tmp_path, 1, hold_s=0.3)
    try:
        k = gate.try_take("ex1", "r1")
        gate.give(k)
        assert rival.try_take("ex1", "r2") is None  # another record waits out the hold
        assert gate.try_take("ex1", "r1") == k  # the repair gets it at once
        gate.give(k)
        time.sleep(0.35)
        assert rival.try_take("ex1", "r2") == k
    finally:
        gate.close()
        rival.close()


def test_take_waits_for_a_free_slot(tmp_path: Path) -> None:
    gate = SlotGate(tmp_path, 1, poll_s=0.01, hold_s=0)

    async def scenario() -> tuple[int, float]:
        k = await gate.take(_messages("ex1", "1"))
        loop = asyncio.get_running_loop()
        loop.call_later(0.2, gate.give, k)
        t = time.monotonic()
        second = await gate.take(_messages("ex1", "2"))
        return second, time.monotonic() - t

    try:
        slot, waited = asyncio.run(scenario())
        assert slot == 0 and 0.15 < waited < 2 and gate.waits == 1
    finally:
        gate.close()


def test_a_killed_holder_frees_its_slot(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from persona_assets.core.narratives.slots import SlotGate; "
        f"g = SlotGate(Path({str(tmp_path)!r}), 1); assert g.try_take('p', 'r') == 0; print('held', flush=True); "
        "time.sleep(60)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    gate = SlotGate(tmp_path, 1, hold_s=0)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert gate.try_take("p", "x") is None
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        assert gate.try_take("p", "x") == 0
    finally:
        if holder.poll() is None:
            holder.kill()
        gate.close()
