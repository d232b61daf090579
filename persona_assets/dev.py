"""``make dev``: the Dagster UI and daemon (``dagster dev``) plus the report server, started and stopped together.

``python -m persona_assets.dev --host H --port P --reports-port R``:

- serves ``<data>/reports/`` and ``<data>/published/`` on ``http://H:R`` (``persona_assets/core/reports.py``)
  and passes that address to the code server as ``$SG_PERSONAS_REPORTS_URL`` (unless set), so the report links
  assets record point at it;
- runs ``dagster dev`` in its own session (process group) and stops it on SIGINT, SIGTERM or SIGHUP however this
  process was started. A process backgrounded by a non-interactive shell (``setsid make dev &``) inherits SIGINT
  *ignored*, and ``dagster dev`` then ignores SIGTERM too (it maps SIGTERM to its SIGINT handler): here the three
  signals get handlers (which also resets them to the default in ``dagster dev`` across exec), and a signal is
  forwarded to the whole group as SIGINT, then SIGTERM, then SIGKILL to whatever is left of the group and of the
  process tree (``stop_process_group``): SIGINT gets ``STOP_GRACE_S``, SIGTERM half of it, so every child is gone
  within about 16 s even on a loaded machine (where ``dagster dev``'s own graceful stop can take longer than that;
  a run it cut off is marked failed at the next start, ``persona_assets.orphaned_runs``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from persona_assets.core.paths import REPO_ROOT, default_data_root
from persona_assets.core.reports import DEFAULT_REPORTS_PORT, REPORTS_URL_ENV, ReportServer
from persona_assets.testing.dagster_dev import stop_process_group

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_GRACE_S = 10.0  # SIGINT, then SIGTERM for half as long, then SIGKILL: all gone within ~16 s


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--reports-port", type=int, default=DEFAULT_REPORTS_PORT)
    parser.add_argument("--workspace", default="workspace.yaml")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        stop.set()

    for sig in STOP_SIGNALS:  # before anything starts: an inherited SIG_IGN is replaced
        signal.signal(sig, on_signal)
    reports = ReportServer(default_data_root(), args.host, args.reports_port).start()
    env = {**os.environ, REPORTS_URL_ENV: os.environ.get(REPORTS_URL_ENV) or reports.url}
    dagster_bin = Path(sys.executable).with_name("dagster")
    cmd = [str(dagster_bin) if dagster_bin.exists() else "dagster", "dev", "-w", args.workspace]
    print(f"reports: {reports.url}/ (serving {reports.root}/reports and /published)", flush=True)
    proc = subprocess.Popen(
        [*cmd, "--host", args.host, "--port", str(args.port)], cwd=REPO_ROOT, env=env, start_new_session=True
    )
    try:
        while not stop.is_set() and proc.poll() is None:
            stop.wait(0.5)
    finally:
        stop_process_group(proc, grace_s=STOP_GRACE_S)
        reports.stop()
    if received:
        print(f"stopped on {signal.Signals(received[0]).name}", flush=True)
        return 128 + received[0]
    return proc.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
