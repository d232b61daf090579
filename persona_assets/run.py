"""``make run``: one Dagster asset backfill of the whole graph, executed by Dagster's own daemon, run queue and
run launcher in the instance at ``$DAGSTER_HOME``, so ``make dev`` shows it afterwards as one backfill with every
run and materialisation.

    python -m persona_assets.run [--areas "Ang Mo Kio" "Bedok" ...] [--total-records N] [--seed S]
                                 [--narratives N|all|0] [--all]

It starts a Dagster daemon in a process group of its own (``daemon.py``), submits the backfill of every asset
partition that is not up to date (on a fresh instance: every asset and partition, what *Materialize all* launches;
``--all``: everything regardless), prints the partitions done per stage until the backfill ends, names the runs
that failed, and stops the daemon (Ctrl-C cancels the backfill first; a second Ctrl-C stops at once). Run again
after an interruption (Ctrl-C, SIGKILL): only what did not finish runs again, and the narratives' call cache
answers the calls already made. How many runs at a time, and one narrative run per LLM endpoint, is
``dagster.yaml``'s business; how partitions group into runs, the assets' backfill policies (``partitions.py``).

The options set the ``dataset`` resource of every run (``persona_assets/settings.py``): ``--total-records``,
``--seed``, ``--narratives`` (residents per partition that get narratives; ``0`` leaves out the narratives and the
publication, which needs them). With ``--areas`` only those partitions are sampled and narrated, and the reports
and the publication (which need every area) are left out.

With the embedded model (the default), this process holds a lease on the local llama.cpp server while the backfill
runs (``ServerLease``): taken in the background as the backfill starts, so the model loads while the census and
sample runs work; each narratives step takes a lease of its own on the same server, so every run of the backfill
shares one server, and it stops shortly after the last lease ends, however this process ends (SIGKILL included:
``core/narratives/llama_server.py``).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path

from dagster import AssetKey, DagsterInstance

from persona_assets import backfill as bf
from persona_assets.core.dataset_settings import (
    DEFAULT_BASE_SEED,
    DEFAULT_RECORDS_PER_PARTITION,
    DEFAULT_TOTAL_RECORDS,
    parse_budget,
)
from persona_assets.daemon import RunningDaemon, find_running_daemon, start_daemon
from persona_assets.narratives.resources import NarrativeLLM, configured_llm_model
from persona_assets.partitions import PLANNING_AREAS
from persona_assets.settings import DatasetSettings


def dataset_config(total_records: int, base_seed: int, records_per_partition: str) -> dict:
    """Run config that sets the ``dataset`` resource of every run of the backfill (the data and storage roots stay
    the defaults: ``$SG_PERSONAS_DATA_DIR`` or ``data/``, ``$SG_PERSONAS_STORAGE_URL`` or the data root)."""
    settings = {"total_records": total_records, "base_seed": base_seed, "records_per_partition": records_per_partition}
    return {"resources": {"dataset": {"config": settings}}}


def wanted_settings(settings: DatasetSettings) -> dict[AssetKey, dict]:
    """Per asset that records them, the settings its partitions must have been made with to count as done."""
    return {
        AssetKey("residents"): settings.residents_settings(),
        AssetKey("persona_narratives"): settings.narratives_settings(),
    }


@contextmanager
def exclusive(home: Path) -> Iterator[None]:
    """One ``make run`` per instance at a time (an exclusive ``flock`` on ``$DAGSTER_HOME/make_run.lock``)."""
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "make_run.lock", "a+") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"error: another make run is using the instance {home}") from None
        yield


class Interrupts:
    """Counts SIGINT/SIGTERM instead of raising, so the backfill is cancelled and the daemon stopped in order."""

    def __init__(self) -> None:
        self.count = 0
        self._previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}

    def _handle(self, signum: int, frame: object) -> None:
        self.count += 1

    def restore(self) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)


class ServerLease:
    """A lease on the embedded server for the whole backfill, taken in a background thread (the model loads
    meanwhile); released at exit. A start failure is reported by the narrative runs themselves."""

    def __init__(self, llm: NarrativeLLM) -> None:
        self.lease = None
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._take, args=(llm,), name="llama-server-lease", daemon=True)
        self._thread.start()

    def _take(self, llm: NarrativeLLM) -> None:
        from persona_assets.core.narratives.llama_server import acquire

        try:
            self.lease = acquire(llm.server_config(), llm.local_linger_s)
        except Exception as exc:  # noqa: BLE001 - reported when the narratives run
            self.error = exc

    def close(self) -> None:
        self._thread.join()
        if self.lease is not None:
            self.lease.release()
        elif self.error is not None:
            print(f"note: the run's lease on the embedded server failed: {self.error}", file=sys.stderr)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--areas", nargs="*", help="planning areas to sample and narrate (default: all 55)")
    ap.add_argument("--total-records", type=int, default=DEFAULT_TOTAL_RECORDS, help="records across all 55 areas")
    ap.add_argument("--seed", type=int, default=DEFAULT_BASE_SEED, help="base seed")
    ap.add_argument(
        "--narratives",
        default=DEFAULT_RECORDS_PER_PARTITION,
        help="residents that get narratives: a count per partition, 'all', 'N in all' (N over the dataset, spread "
        "over the areas, most populous first), or 0 (no narratives, no publication)",
    )
    ap.add_argument("--all", action="store_true", help="materialise everything, up to date or not (Materialize all)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    unknown = sorted(set(args.areas or []) - set(PLANNING_AREAS))
    if unknown:
        print(f"error: unknown planning area(s): {unknown}", file=sys.stderr)
        return 2
    try:
        narrate = not parse_budget(args.narratives).is_zero
        settings = DatasetSettings(
            total_records=args.total_records, base_seed=args.seed, records_per_partition=str(args.narratives)
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not os.environ.get("DAGSTER_HOME"):
        print("error: set DAGSTER_HOME to the Dagster instance (make run sets .dagster_home/)", file=sys.stderr)
        return 2
    home = Path(os.environ["DAGSTER_HOME"]).resolve()
    from persona_assets.definitions import defs

    asset_graph = defs.resolve_asset_graph()
    with exclusive(home), DagsterInstance.get() as instance:
        for note in bf.close_interrupted(instance):
            print(f"note: {note}")
        targets = bf.plan_backfill(
            instance, asset_graph, wanted_settings(settings), args.areas or None, narrate, everything=args.all
        )
        total = len(bf.list_candidates(asset_graph, args.areas or None, narrate))
        if not targets:
            print(f"everything is up to date ({total} asset partitions); `--all` materialises them again")
            return 0
        stages = bf.count_by_stage(asset_graph, targets)
        print(
            f"make run: a backfill of {len(targets)} of {total} asset partitions ("
            + ", ".join(f"{s} {stages[s]}" for s in bf.STAGES if stages[s])
            + f") with total_records={settings.total_records}, base_seed={settings.base_seed}, "
            f"records_per_partition={settings.records_per_partition}"
        )
        config = dataset_config(settings.total_records, settings.base_seed, settings.records_per_partition)
        with ExitStack() as stack:
            # plain values: the resource's EnvVar fields only resolve inside a run
            llm = NarrativeLLM(model=configured_llm_model())
            if llm.is_local and any(t.asset_key == AssetKey("persona_narratives") for t in targets):
                stack.callback(ServerLease(llm).close)
            return run_backfill(instance, asset_graph, targets, config, home)


def run_backfill(instance: DagsterInstance, asset_graph, targets, config: dict, home: Path) -> int:
    """Start the daemon, submit the backfill, follow it to its end, stop the daemon; the exit status."""
    interrupts = Interrupts()
    log = home / "logs" / "make_run_daemon.log"
    running = find_running_daemon(home)
    if running is not None:  # e.g. make dev's: two daemons must not serve one instance
        print(f"a Dagster daemon already serves {home} (pid {running}, make dev?): the backfill goes to it")
    try:
        with nullcontext(RunningDaemon(running)) if running is not None else start_daemon(log) as daemon:
            backfill_id = bf.submit_backfill(instance, bf.to_subset(asset_graph, targets), config)
            where = "its daemon's output" if running is not None else f"daemon log {log}"
            print(f"backfill {backfill_id} submitted (make dev: Overview → Backfills); {where}", flush=True)
            outcome = bf.follow_backfill(
                instance, asset_graph, backfill_id, sys.stdout, alive=daemon.alive, interrupted=lambda: interrupts.count
            )
            if not outcome.interrupted and outcome.status == bf.BulkActionStatus.FAILED and not daemon.alive():
                print(daemon.log_tail(), file=sys.stderr)
    finally:
        interrupts.restore()
    failures = bf.describe_failures(instance, backfill_id)
    for line in failures:
        print(f"error: {line}", file=sys.stderr)
    if outcome.interrupted:
        print(f"interrupted after {outcome.seconds:.0f} s: run make run again to finish what is left", file=sys.stderr)
        return 130
    if outcome.status != bf.BulkActionStatus.COMPLETED_SUCCESS:
        print(
            f"backfill {backfill_id} ended {outcome.status.value} after {outcome.seconds:.0f} s"
            + ("; see the failed runs in the UI (make dev)" if failures else ""),
            file=sys.stderr,
        )
        return 1
    root = DatasetSettings().root
    print(f"done in {outcome.seconds:.1f} s: {outcome.progress.line()}")
    if any(t.asset_key == AssetKey("personas_dataset") for t in targets):
        print(f"release: {root / 'published' / 'README.md'}; reports: {root / 'reports'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
