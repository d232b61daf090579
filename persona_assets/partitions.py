"""The 55 planning-area partitions, defined once from the snapshot's URA Master Plan 2019 list (the record
schema's ``planning_area`` value set), how a backfill groups them into runs, and the checks evaluated per partition.

The backfill policy: a run costs a few seconds of start-up (a fresh process imports the code location), more than
sampling one area takes, so a backfill (``make run``, *Materialize all* in the UI) puts several partitions in one
run: at most ``$SG_PERSONAS_PARTITIONS_PER_RUN`` (default 28: the 55 areas in two runs, one per run slot of
``dagster.yaml`` on 2 cores). ``census/area_population``, ``residents`` and ``persona_narratives`` share the policy,
so the backfill runs them together, an area's narratives in the run that sampled it (Dagster puts a child in its
parent's run only when both have the same policy); the LLM pool of ``dagster.yaml`` then holds each narratives step
until its endpoint is free, without holding up the sampling of the other run. An asset handles every partition of
its run (``context.partition_keys``) and returns one frame with a ``planning_area`` column; the warehouse IO
manager writes one file per partition.

Dagster's backfill daemon counts the materialisations of runs still in progress, so a child asset can be
requested for the part of a multi-partition parent already written (a second, smaller run): the policy is a bound
on the partitions per run, not an exact grouping.
"""

import os
import warnings
from collections.abc import Iterator, Mapping

import pandas as pd
from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    Output,
    PreviewWarning,
    StaticPartitionsDefinition,
)

from persona_assets.core.schema import PLANNING_AREAS as _AREAS

PLANNING_AREAS: list[str] = list(_AREAS)

planning_area_partitions = StaticPartitionsDefinition(PLANNING_AREAS)

#: ``backfill_policy=`` on ``@asset`` is marked beta in Dagster 1.13 (a warning per asset at every import of the code
#: location, in every run worker); the feature is what backfills have used since 1.5.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy` of function `asset` is currently in beta")

PARTITIONS_PER_RUN_ENV = "SG_PERSONAS_PARTITIONS_PER_RUN"


def read_partitions_per_run(default: int = 28) -> int:
    value = os.environ.get(PARTITIONS_PER_RUN_ENV) or str(default)
    try:
        n = int(value)
    except ValueError:
        raise ValueError(
            f"${PARTITIONS_PER_RUN_ENV} must be a whole number of partitions per run, not {value!r}"
        ) from None
    if n < 1:
        raise ValueError(f"${PARTITIONS_PER_RUN_ENV} must be at least 1 (got {n})")
    return n


#: The backfill policy of every planning-area asset.
AREA_BACKFILL_POLICY = BackfillPolicy.multi_run(read_partitions_per_run())


def concat_partitions(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The frames of several partitions as one (one frame is returned as it is); empty partitions contribute no
    rows and no column types."""
    if len(frames) == 1:
        return frames[0]
    rows = [f for f in frames if len(f)] or frames[:1]
    return pd.concat(rows, ignore_index=True)


def split_by_area(frame: pd.DataFrame, areas: list[str]) -> dict[str, pd.DataFrame]:
    """Per planning area, its rows of ``frame`` (several partitions loaded at once) in their stored order, indexed
    from 0 as when the partition is loaded alone."""
    if len(areas) == 1:
        return {areas[0]: frame}
    return {a: frame[frame["planning_area"] == a].reset_index(drop=True) for a in areas}


def build_partition_check_spec(name: str, asset: str, *, blocking: bool, description: str) -> AssetCheckSpec:
    """A check evaluated per planning area: its results carry their partition, so the UI's check history lists
    which area each result is about (a check without partitions on a partitioned asset shows "Partition —").
    Partitioned checks are a Dagster preview feature (1.13); its warning is expected and silenced here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        return AssetCheckSpec(
            name, asset=asset, blocking=blocking, description=description, partitions_def=planning_area_partitions
        )


def yield_partition_check_results(
    context: AssetExecutionContext, results: Mapping[str, AssetCheckResult]
) -> Iterator[AssetCheckResult | AssetCheckEvaluation | Output]:
    """One check's results, one per planning area of the run (``results``: area → result, every result of the
    same check). A run of one partition yields its result as it is (Dagster attaches the partition). A run of
    several (a backfill policy's range) yields each area's evaluation with its partition, then the check's output
    once: Dagster 1.13 attaches no partition to an ``AssetCheckResult`` of a range run, and a check may have only one
    output per step. A failed blocking evaluation still fails the step, as a result would."""
    if context.has_partition_key:
        yield from results.values()
        return
    names = {r.check_name for r in results.values()}
    if len(names) != 1:
        raise ValueError(f"one check per call, not {sorted(map(str, names))}")
    name = names.pop()
    output, spec = next((o, s) for o, s in context.assets_def.check_specs_by_output_name.items() if s.name == name)
    for area, result in results.items():
        yield AssetCheckEvaluation(
            asset_key=spec.asset_key if isinstance(spec.asset_key, AssetKey) else AssetKey(spec.asset_key),
            check_name=name,
            passed=result.passed,
            metadata=result.metadata,
            severity=result.severity,
            description=result.description,
            blocking=spec.blocking,
            partition=area,
        )
    yield Output(None, output_name=output)
