"""The Dagster daemon of ``make run``: Dagster's own ``dagster-daemon run`` (run queue, backfill daemon, run
monitoring, and the code server through which the run launcher starts each run), with two differences:

1. **The backfill tick.** Dagster 1.13's backfill daemon evaluates backfills every 30 s, a constant with no
   setting (``dagster._daemon.controller.DEFAULT_DAEMON_INTERVAL_SECONDS``). A backfill of the whole graph moves in
   waves (census and model → sample → narratives → reports and publication), each waiting for a tick, so this
   daemon ticks every ``$SG_PERSONAS_BACKFILL_TICK_S`` seconds (default 2) instead. It is the same daemon code; the
   one line that sets the constant is tested (``tests/test_make_run.py``), so a Dagster upgrade that moves it fails
   there. ``make dev``'s daemon keeps Dagster's 30 s.
2. **Its lifetime.** ``start_daemon()`` starts ``python -m persona_assets.daemon supervise`` as the leader of a new
   process group (so the terminal's Ctrl-C reaches only ``make run``, which then stops it in order). The
   supervisor starts the daemon in its group (the daemon's code server and the run workers it launches stay in the
   group too) and asks the kernel to signal it when ``make run`` dies (``PR_SET_PDEATHSIG``). On SIGINT it stops
   the daemon gracefully, then kills whatever is left of the group; on SIGTERM (``make run`` killed, even by
   SIGKILL) it kills the group at once. No process outlives ``make run``; runs it cut off stay STARTED in the
   instance and the next ``make run`` (or ``make dev``) marks them failed (``orphaned_runs.py``).

    python -m persona_assets.daemon supervise --parent PID --log FILE -- [dagster-daemon run options]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from persona_assets.core.paths import REPO_ROOT
from persona_assets.procfs import pids_with_env

TICK_ENV = "SG_PERSONAS_BACKFILL_TICK_S"
DEFAULT_TICK_S = 2.0
PR_SET_PDEATHSIG = 1
GRACE_S = 15.0


def backfill_tick_s() -> float:
    return float(os.environ.get(TICK_ENV) or DEFAULT_TICK_S)


def set_backfill_tick(seconds: float) -> None:
    """Make the backfill daemon of this process tick every ``seconds`` (read when its loop starts)."""
    from dagster._daemon import controller

    if not hasattr(controller, "DEFAULT_DAEMON_INTERVAL_SECONDS"):
        raise RuntimeError("dagster._daemon.controller.DEFAULT_DAEMON_INTERVAL_SECONDS is gone: re-check daemon.py")
    controller.DEFAULT_DAEMON_INTERVAL_SECONDS = seconds


def run_daemon(args: Sequence[str]) -> int:
    """``dagster-daemon run ARGS`` in this process, with the backfill tick of ``$SG_PERSONAS_BACKFILL_TICK_S``."""
    set_backfill_tick(backfill_tick_s())
    from dagster._daemon.cli import cli

    cli.main(args=["run", *args], prog_name="dagster-daemon", standalone_mode=False, obj={})
    return 0


def _die_with_parent(parent: int) -> None:
    """SIGTERM to this process when ``parent`` ends (Linux ``prctl``; elsewhere the supervisor polls)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent ended before prctl took effect
        os.killpg(0, signal.SIGKILL)


def supervise(parent: int, log: Path, args: Sequence[str]) -> int:
    """Lead this process group: run the daemon, stop it on SIGINT, kill the group on SIGTERM or when ``parent``
    dies."""
    requests: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: requests.append(signum))
    signal.signal(signal.SIGTERM, lambda signum, frame: requests.append(signum))
    _die_with_parent(parent)
    with open(log, "wb") as out:  # one log per make run
        child = subprocess.Popen(
            [sys.executable, "-m", "persona_assets.daemon", "run", "--", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
    deadline: float | None = None
    while True:
        if child.poll() is not None and deadline is None:
            break  # the daemon ended by itself: take the group down with it
        if signal.SIGTERM in requests or os.getppid() != parent:
            break
        if signal.SIGINT in requests and deadline is None:
            child.send_signal(signal.SIGINT)  # the daemon shuts its threads and code server down
            deadline = time.monotonic() + GRACE_S
        if deadline is not None and (child.poll() is not None or time.monotonic() > deadline):
            break
        time.sleep(0.2)
    os.killpg(0, signal.SIGKILL)  # whatever is left of the group (run workers, code server), this process last
    return 0


def find_running_daemon(dagster_home: Path) -> int | None:
    """The pid of a Dagster daemon already serving the instance ``dagster_home`` (``make dev``'s, or a
    ``dagster-daemon run`` of its own), if any: ``make run`` then submits its backfill to that one."""
    spellings = {str(dagster_home), str(Path(dagster_home).resolve()), os.environ.get("DAGSTER_HOME", "")} - {""}
    for pid in sorted({p for home in spellings for p in pids_with_env("DAGSTER_HOME", home)}):
        if pid == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # dagster-daemon run; dagster dev's daemon (python -m dagster._daemon run); another make run's
        if any(f"{name} run" in cmdline for name in ("dagster-daemon", "dagster._daemon", "persona_assets.daemon")):
            return pid
    return None


@dataclass
class Daemon:
    """A started daemon group (see ``start_daemon``)."""

    process: subprocess.Popen
    log_path: Path

    @property
    def pgid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no daemon log)"

    def stop(self, grace_s: float = GRACE_S + 5) -> None:
        """SIGINT to the supervisor (graceful), SIGKILL to the group if it lingers; reaps the supervisor."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace_s)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


@dataclass
class RunningDaemon:
    """A daemon ``make run`` did not start (``find_running_daemon``): followed, never stopped."""

    pid: int

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True

    def log_tail(self, lines: int = 40) -> str:
        return f"(the daemon, pid {self.pid}, was not started by make run: see its own output)"


@contextlib.contextmanager
def start_daemon(
    log_path: Path, workspace: Path = REPO_ROOT / "workspace.yaml", env: dict[str, str] | None = None
) -> Iterator[Daemon]:
    """The daemon for the duration of the block (its instance is ``$DAGSTER_HOME``; output to ``log_path``)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "persona_assets.daemon",
        "supervise",
        "--parent",
        str(os.getpid()),
        "--log",
        str(log_path),
        "--",
        "-w",
        str(workspace),
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the terminal's Ctrl-C goes to make run only
    )
    daemon = Daemon(proc, log_path)
    try:
        yield daemon
    finally:
        daemon.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    sup = sub.add_parser("supervise", help="lead a process group that runs the daemon (what start_daemon starts)")
    sup.add_argument("--parent", type=int, required=True, help="pid whose death kills the group")
    sup.add_argument("--log", type=Path, required=True, help="file for the daemon's output")
    sup.add_argument("args", nargs="*", help="dagster-daemon run options (after --)")
    run = sub.add_parser("run", help="dagster-daemon run with the backfill tick of $SG_PERSONAS_BACKFILL_TICK_S")
    run.add_argument("args", nargs="*", help="dagster-daemon run options (after --)")
    ns = ap.parse_args(argv)
    if ns.command == "supervise":
        return supervise(ns.parent, ns.log, ns.args)
    return run_daemon(ns.args)


if __name__ == "__main__":
    raise SystemExit(main())
