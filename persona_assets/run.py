"""Materialise everything that exists, offline, into the Dagster instance at ``$DAGSTER_HOME`` (what ``make run``
calls). Runs are recorded in the instance, so ``make dev`` shows them in the UI afterwards.

    python -m persona_assets.run [--areas "Ang Mo Kio" "Bedok" ...] [--total-records N] [--seed S]
                                 [--narratives N|all] [--workers W]

The options set the ``dataset`` resource (``persona_assets/settings.py``) of every run, so all partitions of one
dataset share them. Narratives run one planning area per worker process (default: one per core, at least one per
slot of the embedded server). With the embedded model (the default), this process holds a lease on the local
llama.cpp server for the whole run, started in the background as the run begins (it loads while the census and
sample jobs run); every narrative run reuses it, and it stops shortly after this process ends, however it ends.
"""

import argparse
import contextlib
import multiprocessing as mp
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from dagster import DagsterInstance

from persona_assets.core.dataset_settings import (
    DEFAULT_BASE_SEED,
    DEFAULT_RECORDS_PER_PARTITION,
    DEFAULT_TOTAL_RECORDS,
)
from persona_assets.core.paths import default_data_root
from persona_assets.definitions import defs
from persona_assets.narratives.resources import NarrativeLLM, llm_from_env
from persona_assets.partitions import PLANNING_AREAS

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # every event still goes to the instance


def _instance() -> DagsterInstance:
    return DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()


def dataset_config(total_records: int, base_seed: int, records_per_partition: str) -> dict:
    """Run config that sets the ``dataset`` resource (the data root stays the default: ``$SG_PERSONAS_DATA_DIR``
    or ``data/``)."""
    settings = {"total_records": total_records, "base_seed": base_seed, "records_per_partition": records_per_partition}
    return {"resources": {"dataset": {"config": settings}}}


def _narrate_area(area: str, config: dict) -> tuple[str, bool, str]:
    """One ``narratives_job`` run (in a worker process)."""
    result = defs.resolve_job_def("narratives_job").execute_in_process(
        instance=_instance(), raise_on_error=False, run_config={**QUIET, **config}, partition_key=area
    )
    summary = ""
    for ev in result.get_asset_materialization_events():
        md = ev.step_materialization_data.materialization.metadata
        if "ok" in md:
            summary = f"{md['ok'].value}/{md['records'].value} ok, {md['calls'].value} calls"
    return area, result.success, summary


class ServerLease:
    """A lease on the embedded server for the whole run, taken in a background thread (the model loads meanwhile);
    released at exit. A start failure is reported by the narrative runs themselves."""

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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--areas", nargs="*", help="planning areas to sample (default: all 55)")
    ap.add_argument("--total-records", type=int, default=DEFAULT_TOTAL_RECORDS, help="records across all 55 areas")
    ap.add_argument("--seed", type=int, default=DEFAULT_BASE_SEED, help="base seed")
    ap.add_argument(
        "--narratives",
        default=DEFAULT_RECORDS_PER_PARTITION,
        help="residents per partition that get narratives: a count, 'all', or 0 to skip the stage",
    )
    ap.add_argument("--workers", type=int, default=0, help="narrative worker processes (0: cores, or the slots)")
    args = ap.parse_args(argv)
    llm = llm_from_env()
    narrate = str(args.narratives).strip() != "0"
    workers = args.workers or max(os.cpu_count() or 1, llm.server_config().slots if llm.is_local else 0)
    with contextlib.ExitStack() as stack:
        if narrate and llm.is_local:
            stack.callback(ServerLease(llm).close)
        return _run(args, narrate, workers)


def _run(args: argparse.Namespace, narrate: bool, workers: int) -> int:
    areas = args.areas or PLANNING_AREAS
    unknown = sorted(set(areas) - set(PLANNING_AREAS))
    if unknown:
        print(f"error: unknown planning area(s): {unknown}", file=sys.stderr)
        return 2
    instance = _instance()
    started = time.perf_counter()
    config = dataset_config(args.total_records, args.seed, str(args.narratives))
    root = default_data_root()

    def run(job_name: str, **kwargs: object) -> bool:
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=instance, raise_on_error=False, run_config={**QUIET, **config}, **kwargs
        )
        if not result.success:
            where = f" for {kwargs['partition_key']!r}" if "partition_key" in kwargs else ""
            print(f"error: {job_name} failed{where}; see the run in the Dagster UI (make dev)", file=sys.stderr)
        return result.success

    for job in ("census_tables_job", "model_job"):
        if not run(job):
            return 1
        print(f"{job}: ok ({time.perf_counter() - started:.1f} s)")
    sample_started = time.perf_counter()
    for area in areas:
        if not run("sample_job", partition_key=area):
            return 1
    print(f"sample_job: {len(areas)} partitions ok ({time.perf_counter() - sample_started:.1f} s)")
    if narrate:
        stage_started = time.perf_counter()
        failures = []
        # spawn: fresh interpreters (no forked llama.cpp/torch state); one model instance per worker process
        with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(_narrate_area, area, config) for area in areas]
            for fut in futures:
                area, ok, summary = fut.result()
                if not ok:
                    failures.append(area)
                elif summary and not summary.startswith("0/0"):
                    print(f"  narratives {area}: {summary} ({time.perf_counter() - stage_started:.0f} s)")
        if failures:
            print(f"error: narratives_job failed for {failures}; see the runs in the Dagster UI", file=sys.stderr)
            return 1
        print(f"narratives_job: {len(areas)} partitions ok ({time.perf_counter() - stage_started:.1f} s)")
    if set(areas) == set(PLANNING_AREAS):
        if not run("report_job"):
            return 1
        reports = root / "reports"
        print(
            f"report_job: ok ({reports / 'fit_report' / 'index.html'}, {reports / 'narrative_report' / 'index.html'})"
        )
        if not run("publish_job"):
            print("publication blocked or failed: the previous release (if any) is unchanged", file=sys.stderr)
            return 1
        print(f"publish_job: ok ({root / 'published' / 'README.md'}, {root / 'reports' / 'data_docs' / 'index.html'})")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
