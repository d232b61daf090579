"""Runs that an interrupted ``make dev`` left "in progress": mark them failed (``make dev`` calls this first).

Ctrl-C on ``dagster dev`` stops the code server together with the run workers it launched, so a run that was
executing never records its end and stays STARTED in the instance. Dagster's run monitoring cannot detect that for
the local ``DefaultRunLauncher`` (it has no run-worker health check), and a STARTED run keeps one of the run queue's
``max_concurrent_runs`` slots (dagster.yaml) until someone terminates it in the UI. So before ``dagster dev`` starts,
every STARTED or CANCELING run of ``$DAGSTER_HOME`` whose run worker (the process that logged its RUN_START event,
on this machine: the instance is local SQLite) no longer exists is reported failed, with an engine event saying why.
Runs whose worker is alive (``make run`` in another terminal, another ``dagster dev``) are left alone.

    python -m persona_assets.orphaned_runs      # prints what it marked
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

ORPHAN_STATUSES = [DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def process_alive_since(pid: int, since: float, slack_s: float = 5.0) -> bool:
    """Whether process ``pid`` exists and was already running at ``since`` (a reused pid started later is not the
    same process; the start-time check needs /proc, elsewhere existence alone decides)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    boot = _boot_time()
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            ticks = int(fh.read().rsplit(")", 1)[1].split()[19])  # field 22: starttime, in clock ticks after boot
    except (OSError, ValueError, IndexError):
        return True
    if boot is None:
        return True
    return boot + ticks / os.sysconf("SC_CLK_TCK") <= since + slack_s


def fail_orphaned_runs(
    instance: DagsterInstance, alive: Callable[[int, float], bool] = process_alive_since
) -> list[str]:
    """Report failed each STARTED/CANCELING run whose run worker is gone; returns their run ids."""
    failed = []
    for run in instance.get_runs(filters=RunsFilter(statuses=ORPHAN_STATUSES)):
        starts = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.RUN_START, limit=1).records
        if not starts:
            continue  # not started by a worker yet: run monitoring's start timeout covers it
        entry = starts[0].event_log_entry
        pid = entry.dagster_event.pid if entry.dagster_event else None
        if pid is None or alive(pid, entry.timestamp):
            continue
        instance.report_engine_event(
            f"The run worker (pid {pid}) is gone: the Dagster session that ran it was stopped (e.g. Ctrl-C on "
            "`make dev`) before the run finished. Marked failed so that it no longer holds a run-queue slot; "
            "re-execute it from the UI.",
            run,
        )
        instance.report_run_failed(run, message=f"Run worker (pid {pid}) ended without finishing the run.")
        failed.append(run.run_id)
    return failed


def main() -> int:
    if not os.environ.get("DAGSTER_HOME"):
        print("DAGSTER_HOME is not set: nothing to check", file=sys.stderr)
        return 0
    with DagsterInstance.get() as instance:
        failed = fail_orphaned_runs(instance)
    for run_id in failed:
        print(f"run {run_id} was left in progress by a stopped session: marked failed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
