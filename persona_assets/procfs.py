"""What Linux's ``/proc`` says about the processes of this machine: for stopping whole process trees (``make run``'s
daemon group, the test harnesses) and finding a daemon that already serves an instance. Elsewhere it sees none."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

PROC = Path("/proc")


def iter_processes() -> Iterator[tuple[Path, list[str]]]:
    """(``/proc/<pid>``, the fields of its ``stat`` after the command name: state, ppid, pgrp, …) per process."""
    if not PROC.is_dir():
        return
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces/parentheses: split after the last ')'
        yield entry, stat[stat.rfind(")") + 2 :].split()


def pids_with_env(name: str, value: str) -> list[int]:
    """Live processes (not zombies) whose environment has ``name=value``."""
    wanted = f"{name}={value}".encode()
    out = []
    for entry, fields in iter_processes():
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in environ and fields and fields[0] != "Z":
            out.append(int(entry.name))
    return out
