"""One asset backfill of the graph, as ``make run`` submits and follows it (``persona_assets/run.py`` is the CLI).

- **What it targets** (``plan_backfill``): every asset and every partition (what *Materialize all* in the UI
  launches), less what is already done: an asset partition that is materialised, whose blocking checks passed in
  the run that materialised it, that Dagster's stale-status resolver calls fresh (code versions and input data
  versions: what the UI shows) and, for ``residents`` and ``persona_narratives``, that was made with the
  requested dataset settings. Everything downstream of a targeted partition is targeted too. On a fresh instance
  that is the whole graph; after an interrupted ``make run`` it is what did not finish (the narratives' call cache
  then answers the calls already made).
- **How it runs**: ``PartitionBackfill.from_asset_graph_subset`` into the instance, the form the UI's
  ``launchPartitionBackfill`` creates; the daemon's backfill loop then requests runs (grouped by the assets'
  backfill policies, ``partitions.py``), the run queue launches them within ``dagster.yaml``'s limits, and the
  run launcher starts each in a process of its own.
- **Following it** (``follow_backfill``): partitions done / targeted per stage (asset group), from the backfill's
  own record, until it ends; then the runs that failed, with their first error.
- **After an interruption** (``close_interrupted``): a ``make run`` killed before its backfill ended leaves the
  backfill REQUESTED and its runs QUEUED or STARTED; the next one cancels that backfill and its queued runs and
  marks runs whose worker is gone failed and frees the pool slots they held, so they hold no queue or pool slot and
  are re-planned.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from dagster import AssetKey, AssetRecordsFilter, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.definitions.assets.graph.asset_graph_subset import AssetGraphSubset
from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.definitions.events import AssetKeyPartitionKey
from dagster._core.execution.backfill import BulkActionsFilter, BulkActionStatus, PartitionBackfill
from dagster._core.storage.tags import BACKFILL_ID_TAG
from dagster._core.utils import make_new_backfill_id

from persona_assets.io_managers import SETTINGS_METADATA
from persona_assets.orphaned_runs import fail_orphaned_runs

#: Stages in graph order: the asset groups of ``definitions.py``.
STAGES = ("census", "names", "model", "sample", "narratives", "publish")
#: The tag every run of a ``make run`` backfill carries (with the backfill's own ``dagster/backfill``).
LAUNCHED_BY_TAG = "sg_personas/launched_by"
LAUNCHED_BY = "make run"
#: Assets whose partitions record the dataset settings they were made with.
SETTINGS_ASSETS = (AssetKey("residents"), AssetKey("persona_narratives"))
#: What needs narratives (skipped with ``--narratives 0``).
NARRATIVE_ASSETS = (AssetKey("persona_narratives"), AssetKey("personas_candidate"), AssetKey("personas_dataset"))
TERMINAL = {
    BulkActionStatus.COMPLETED,
    BulkActionStatus.COMPLETED_SUCCESS,
    BulkActionStatus.COMPLETED_FAILED,
    BulkActionStatus.FAILED,
    BulkActionStatus.CANCELED,
}


# --------------------------------------------------------------------------- what to run
def list_candidates(
    asset_graph: BaseAssetGraph, areas: Iterable[str] | None = None, narratives: bool = True
) -> set[AssetKeyPartitionKey]:
    """Every materialisable asset partition (``areas``: only those partitions, and no unpartitioned asset downstream
    of a partitioned one: reports and publication need every area; ``narratives`` False: no narratives, no
    publication)."""
    out: set[AssetKeyPartitionKey] = set()
    chosen = set(areas) if areas is not None else None
    for key in asset_graph.materializable_asset_keys:
        if not narratives and (
            key in NARRATIVE_ASSETS or NARRATIVE_ASSETS[0] in asset_graph.get_ancestor_asset_keys(key)
        ):  # the narratives and everything downstream of them (the narrative report, publication)
            continue
        node = asset_graph.get(key)
        if node.partitions_def is None:
            if chosen is not None and any(
                asset_graph.get(up).is_partitioned for up in asset_graph.get_ancestor_asset_keys(key)
            ):
                continue
            out.add(AssetKeyPartitionKey(key, None))
        else:
            keys = node.partitions_def.get_partition_keys()
            out.update(AssetKeyPartitionKey(key, p) for p in keys if chosen is None or p in chosen)
    return out


def _latest_materialisations(
    instance: DagsterInstance, asset_graph: BaseAssetGraph, key: AssetKey
) -> dict[str | None, Any]:
    """Partition (None: unpartitioned) -> the latest materialisation record."""
    if not asset_graph.get(key).is_partitioned:
        records = instance.fetch_materializations(AssetRecordsFilter(asset_key=key), limit=1).records
        return {None: records[0]} if records else {}
    ids = instance.event_log_storage.get_latest_storage_id_by_partition(key, DagsterEventType.ASSET_MATERIALIZATION)
    latest: dict[str | None, Any] = {}
    storage_ids = sorted(ids.values())
    for start in range(0, len(storage_ids), 1000):
        chunk = storage_ids[start : start + 1000]
        filt = AssetRecordsFilter(asset_key=key, storage_ids=chunk)
        for record in instance.fetch_materializations(filt, limit=len(chunk)).records:
            latest[record.partition_key] = record
    return latest


def _recorded_settings(record: Any) -> dict[str, Any] | None:
    value = record.asset_materialization.metadata.get(SETTINGS_METADATA)
    return None if value is None else dict(value.value)


def _passed_blocking_checks(instance: DagsterInstance, run_ids: set[str]) -> dict[str, set[Any]]:
    """Per run, the keys of the asset checks that passed in it."""
    out: dict[str, set[Any]] = {}
    for run_id in run_ids:
        records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION, limit=10_000)
        out[run_id] = {
            r.event_log_entry.dagster_event.event_specific_data.asset_check_key
            for r in records.records
            if r.event_log_entry.dagster_event is not None
            and r.event_log_entry.dagster_event.event_specific_data.passed
        }
    return out


def find_up_to_date(
    instance: DagsterInstance,
    asset_graph: BaseAssetGraph,
    candidates: set[AssetKeyPartitionKey],
    settings: Mapping[AssetKey, Mapping[str, Any]],
) -> set[AssetKeyPartitionKey]:
    """The candidates that need no run: materialised, with every blocking check of the asset passed in the run that
    materialised it (a run cut off between the two left it unfinished), fresh (Dagster's stale-status resolver:
    code versions and input data versions), and made with ``settings`` (per asset, where given)."""
    from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView, TemporalContext
    from dagster._time import get_current_datetime

    view = AssetGraphView(
        temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=None),
        instance=instance,
        asset_graph=asset_graph,
    )
    resolver = CachingStaleStatusResolver(instance=instance, asset_graph=asset_graph, loading_context=view)
    keys = {c.asset_key for c in candidates}
    records = {key: _latest_materialisations(instance, asset_graph, key) for key in keys}
    blocking = {
        key: {ck for ck in asset_graph.get_check_keys_for_assets({key}) if asset_graph.get(ck).blocking} for key in keys
    }
    checked_runs = {r.run_id for key in keys if blocking[key] for r in records[key].values()}
    passed = _passed_blocking_checks(instance, checked_runs)
    done = set()
    for candidate in candidates:
        record = records[candidate.asset_key].get(candidate.partition_key)
        if record is None:
            continue
        if not blocking[candidate.asset_key] <= passed.get(record.run_id, set()):
            continue
        wanted = settings.get(candidate.asset_key)
        if wanted is not None and _recorded_settings(record) != dict(wanted):
            continue
        if resolver.get_status(candidate.asset_key, candidate.partition_key) != StaleStatus.FRESH:
            continue
        done.add(candidate)
    return done


def add_downstream(
    asset_graph: BaseAssetGraph, targets: set[AssetKeyPartitionKey], candidates: set[AssetKeyPartitionKey]
) -> set[AssetKeyPartitionKey]:
    """``targets`` and every candidate downstream of them (same partition for a partitioned child of a partitioned
    parent; every partition for a partitioned child of an unpartitioned one)."""
    by_key: dict[AssetKey, set[str | None]] = defaultdict(set)
    for c in candidates:
        by_key[c.asset_key].add(c.partition_key)
    out, todo = set(targets), list(targets)
    while todo:
        parent = todo.pop()
        for child in asset_graph.get(parent.asset_key).child_keys:
            child_partitioned = asset_graph.get(child).is_partitioned
            if not child_partitioned:
                wanted: Iterable[str | None] = [None]
            elif parent.partition_key is None:
                wanted = by_key.get(child, set())
            else:
                wanted = [parent.partition_key]
            for p in wanted:
                ap = AssetKeyPartitionKey(child, p)
                if p in by_key.get(child, set()) and ap not in out:
                    out.add(ap)
                    todo.append(ap)
    return out


def plan_backfill(
    instance: DagsterInstance,
    asset_graph: BaseAssetGraph,
    settings: Mapping[AssetKey, Mapping[str, Any]],
    areas: Iterable[str] | None = None,
    narratives: bool = True,
    everything: bool = False,
) -> set[AssetKeyPartitionKey]:
    """The asset partitions the backfill must materialise (see the module docstring); ``everything``: all
    candidates, as *Materialize all* does."""
    candidates = list_candidates(asset_graph, areas, narratives)
    if everything:
        return candidates
    stale = candidates - find_up_to_date(instance, asset_graph, candidates, settings)
    return add_downstream(asset_graph, stale, candidates)


def to_subset(asset_graph: BaseAssetGraph, targets: set[AssetKeyPartitionKey]) -> AssetGraphSubset:
    return AssetGraphSubset.from_asset_partition_set(targets, asset_graph)


def count_by_stage(asset_graph: BaseAssetGraph, targets: Iterable[AssetKeyPartitionKey]) -> Counter[str]:
    return Counter(asset_graph.get(t.asset_key).group_name or "default" for t in targets)


# --------------------------------------------------------------------------- submit and follow
def submit_backfill(
    instance: DagsterInstance,
    subset: AssetGraphSubset,
    run_config: Mapping[str, Any],
    title: str = LAUNCHED_BY,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """Add the asset backfill to the instance (REQUESTED: the daemon's backfill loop takes it from there)."""
    backfill_id = make_new_backfill_id()
    backfill = PartitionBackfill.from_asset_graph_subset(
        backfill_id=backfill_id,
        backfill_timestamp=time.time(),
        tags={LAUNCHED_BY_TAG: LAUNCHED_BY, **(tags or {})},
        dynamic_partitions_store=instance,
        asset_graph_subset=subset,
        title=title,
        description=description,
        run_config=dict(run_config),
    )
    instance.add_backfill(backfill)
    return backfill_id


@dataclass
class Progress:
    """Asset partitions per stage: targeted, materialised, failed (or skipped below a failure)."""

    targeted: Counter[str] = field(default_factory=Counter)
    done: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        parts = []
        for stage in [*STAGES, *sorted(set(self.targeted) - set(STAGES))]:
            if self.targeted[stage]:
                failed = f" ({self.failed[stage]} failed)" if self.failed[stage] else ""
                parts.append(f"{stage} {self.done[stage]}/{self.targeted[stage]}{failed}")
        return "  ".join(parts)


def read_progress(asset_graph: BaseAssetGraph, backfill: PartitionBackfill) -> Progress:
    data = backfill.get_asset_backfill_data(asset_graph)
    progress = Progress()

    def count(subset: AssetGraphSubset) -> Counter[str]:
        return count_by_stage(asset_graph, subset.iterate_asset_partitions())

    progress.targeted = count(data.target_subset)
    progress.done = count(data.materialized_subset)
    progress.failed = count(data.failed_and_downstream_subset)
    return progress


def runs_of(instance: DagsterInstance, backfill_id: str) -> list[Any]:
    return list(instance.get_runs(filters=RunsFilter(tags={BACKFILL_ID_TAG: backfill_id})))


@dataclass
class Outcome:
    status: BulkActionStatus
    progress: Progress
    runs: Counter[str]
    seconds: float
    interrupted: bool = False


def follow_backfill(
    instance: DagsterInstance,
    asset_graph: BaseAssetGraph,
    backfill_id: str,
    out: TextIO,
    alive: Callable[[], bool] = lambda: True,
    interrupted: Callable[[], int] = lambda: 0,
    poll_s: float = 1.0,
    cancel_wait_s: float = 60.0,
) -> Outcome:
    """Poll the backfill until it ends, printing a progress line whenever it changes. ``alive``: whether the daemon
    still runs (a dead daemon ends the wait as FAILED). ``interrupted``: the number of interrupts so far: the first
    cancels the backfill (the daemon cancels its runs; up to ``cancel_wait_s``), the second stops waiting."""
    started = time.monotonic()
    last, cancel_requested, canceled_at = "", False, 0.0
    while True:
        backfill = instance.get_backfill(backfill_id)
        assert backfill is not None, f"backfill {backfill_id} vanished"
        progress = read_progress(asset_graph, backfill)
        runs = Counter(r.status.value for r in runs_of(instance, backfill_id))
        line = f"{progress.line()}  |  runs: " + ", ".join(f"{n} {s.lower()}" for s, n in sorted(runs.items()))
        if line != last:
            print(f"[{time.monotonic() - started:6.1f} s] {line}", file=out, flush=True)
            last = line
        interrupts = interrupted()
        if backfill.status in TERMINAL:
            return Outcome(backfill.status, progress, runs, time.monotonic() - started, cancel_requested)
        if interrupts >= 2 or (cancel_requested and time.monotonic() - canceled_at > cancel_wait_s):
            return Outcome(backfill.status, progress, runs, time.monotonic() - started, True)
        if interrupts and not cancel_requested:
            print("interrupted: cancelling the backfill and its runs (Ctrl-C again to stop now)", file=out, flush=True)
            instance.update_backfill(backfill.with_status(BulkActionStatus.CANCELING))
            cancel_requested, canceled_at = True, time.monotonic()
        if not alive():
            print("error: the Dagster daemon stopped before the backfill ended", file=out, flush=True)
            return Outcome(BulkActionStatus.FAILED, progress, runs, time.monotonic() - started, cancel_requested)
        time.sleep(poll_s)


def describe_failures(instance: DagsterInstance, backfill_id: str) -> list[str]:
    """One line per failed run of the backfill: run id, assets, partitions, first error."""
    lines = []
    for run in runs_of(instance, backfill_id):
        if run.status != DagsterRunStatus.FAILURE:
            continue
        assets = ", ".join(sorted(k.to_user_string() for k in run.asset_selection or []))
        tags = run.tags
        partitions = tags.get("dagster/partition") or (
            f"{tags['dagster/asset_partition_range_start']} … {tags['dagster/asset_partition_range_end']}"
            if "dagster/asset_partition_range_start" in tags
            else ""
        )
        lines.append(
            f"run {run.run_id} failed: {assets}"
            + (f" [{partitions}]" if partitions else "")
            + f": {first_error(instance, run.run_id)}"
        )
    return lines


def first_error(instance: DagsterInstance, run_id: str) -> str:
    for event_type in (DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE):
        records = instance.get_records_for_run(run_id, of_type=event_type, limit=1).records
        if records:
            entry = records[0].event_log_entry
            data = entry.dagster_event.event_specific_data if entry.dagster_event else None
            error = getattr(data, "error", None)
            step = entry.step_key or "run"
            text = error.message.strip().splitlines()[0] if error is not None else entry.message
            return f"{step}: {text[:300]}"
    return "no failure event recorded"


# --------------------------------------------------------------------------- after an interrupted make run
def close_interrupted(instance: DagsterInstance) -> list[str]:
    """Close what an interrupted ``make run`` left (see the module docstring); returns what it did, one line each."""
    notes = []
    for run_id in fail_orphaned_runs(instance):
        # a step cut off inside a concurrency pool (the narratives' LLM pool) still holds its slot: free it now
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        notes.append(f"run {run_id}: its worker is gone, marked failed, its pool slots freed")
    open_statuses = [BulkActionStatus.REQUESTED, BulkActionStatus.CANCELING, BulkActionStatus.FAILING]
    for backfill in instance.get_backfills(filters=BulkActionsFilter(statuses=open_statuses)):
        if backfill.tags.get(LAUNCHED_BY_TAG) != LAUNCHED_BY:
            continue
        for run in runs_of(instance, backfill.backfill_id):
            if run.status in (DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED):
                instance.report_run_canceled(run, message="The make run that queued this run was interrupted.")
        instance.update_backfill(backfill.with_status(BulkActionStatus.CANCELED))
        notes.append(f"backfill {backfill.backfill_id}: left open by an interrupted make run, canceled")
    return notes
