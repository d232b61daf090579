"""The 55 planning-area partitions, defined once from the snapshot's URA Master Plan 2019 list (the record
schema's ``planning_area`` value set), and how a backfill groups them into runs.

Backfill policies: a run costs a few seconds of start-up (a fresh process imports the code location), which is more
than sampling one area takes, so a backfill (``make run``, *Materialize all* in the UI) puts several partitions in
one run. ``census/area_population`` and ``residents`` share one policy (so they run together), at most
``$SG_PERSONAS_SAMPLE_PARTITIONS_PER_RUN`` (default 28: the 55 areas in two runs, one per run slot of
``dagster.yaml`` on 2 cores) per run; ``persona_narratives`` has its own, at most
``$SG_PERSONAS_NARRATIVE_PARTITIONS_PER_RUN`` (default 14) per run: a different policy keeps narratives out of the
sample runs, so the LLM pool of ``dagster.yaml`` limits narrative runs without holding up sampling. An asset
handles every partition of its run (``context.partition_keys``) and returns one frame with a ``planning_area``
column; the warehouse IO manager writes one file per partition.
"""

import os
import warnings

import pandas as pd
from dagster import BackfillPolicy, StaticPartitionsDefinition

from persona_assets.core.schema import PLANNING_AREAS as _AREAS

PLANNING_AREAS: list[str] = list(_AREAS)

planning_area_partitions = StaticPartitionsDefinition(PLANNING_AREAS)

#: ``backfill_policy=`` on ``@asset`` is marked beta in Dagster 1.13 (a warning per asset at every import of the code
#: location, in every run worker); the feature is what backfills have used since 1.5.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy` of function `asset` is currently in beta")

SAMPLE_PARTITIONS_ENV = "SG_PERSONAS_SAMPLE_PARTITIONS_PER_RUN"
NARRATIVE_PARTITIONS_ENV = "SG_PERSONAS_NARRATIVE_PARTITIONS_PER_RUN"


def read_partitions_per_run(var: str, default: int) -> int:
    value = os.environ.get(var) or str(default)
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"${var} must be a whole number of partitions per run, not {value!r}") from None
    if n < 1:
        raise ValueError(f"${var} must be at least 1 (got {n})")
    return n


SAMPLE_BACKFILL_POLICY = BackfillPolicy.multi_run(read_partitions_per_run(SAMPLE_PARTITIONS_ENV, 28))
NARRATIVES_BACKFILL_POLICY = BackfillPolicy.multi_run(read_partitions_per_run(NARRATIVE_PARTITIONS_ENV, 14))
if SAMPLE_BACKFILL_POLICY == NARRATIVES_BACKFILL_POLICY:
    raise ValueError(
        f"${SAMPLE_PARTITIONS_ENV} and ${NARRATIVE_PARTITIONS_ENV} must differ: with one policy a backfill runs "
        "narratives in the sample runs, and the LLM pool would then hold up sampling"
    )


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
