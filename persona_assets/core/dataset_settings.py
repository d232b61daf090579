"""The settings a dataset is made with, as every partition records them.

A residents partition depends on ``total_records`` (the allocation over the 55 areas) and ``base_seed``; a
narratives partition on ``records_per_partition`` (which residents get texts: ``NarrativeBudget``). Each partition
stores the values it was made with in its Parquet file's key-value metadata (``SETTINGS_KEY``, canonical JSON), so
the file itself says how it was made, empty partitions included. Publication reads them back and refuses a dataset
whose partitions disagree (``check_uniform_settings``), naming the partitions of each variant.

Pure Python (no Dagster); the Dagster resource that holds the settings is ``persona_assets/settings.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from persona_assets.core.model.allocation import allocate_areas

DEFAULT_TOTAL_RECORDS = 148_000
DEFAULT_BASE_SEED = 20251125
#: Sized for `make run` on 2 cores with the embedded model: 8 residents in all, one in each of the 8 most populous
#: areas. The embedded server narrates 46.9 records an hour there (4 slots, 2 threads;
#: benchmarks/results/bench_local_narration.json), which put 8 at ~10 minutes; timed from a clean clone the whole
#: `make run` took ~18 minutes (1,070 s and 1,091 s; narration 953 s in two sequential steps of 4 records, 605 s
#: and 348 s); with the two steps on the server at once and the limit starting at its slots, 872 s (18 calls for 8
#: records, narration ~720 s of it), and 711-916 s in five runs of variants tried on top and dropped; 2,021 s once on
#: a slow day of the shared machine (README; issue 12). One per populated area (42, the default before) took most
#: of an hour. Use "all" with a hosted endpoint.
DEFAULT_RECORDS_PER_PARTITION = "8 in all"

#: The settings each partitioned asset depends on (and records).
RESIDENTS_SETTINGS = ("total_records", "base_seed")
NARRATIVES_SETTINGS = ("records_per_partition",)

#: Parquet key-value metadata key of a partition's settings.
SETTINGS_KEY = "sg_personas.dataset_settings"


@dataclass(frozen=True)
class NarrativeBudget:
    """Which residents get narratives (``records_per_partition``): ``per_partition`` residents of each partition
    (``None``: all of them), or, written ``"N in all"``, ``in_all`` residents over the whole dataset spread over the
    planning areas in proportion to their residents aged 15+ (largest remainder, as the residents themselves are
    allocated: a small budget goes to the most populous areas, one each, before any area gets two)."""

    per_partition: int | None = None
    in_all: int | None = None

    @property
    def is_zero(self) -> bool:
        return self.per_partition == 0 or self.in_all == 0

    @property
    def is_all(self) -> bool:
        return self.per_partition is None and self.in_all is None

    def allocate(self, population_15plus: Mapping[str, float]) -> dict[str, int | None]:
        """Residents to narrate per planning area (``None``: all of the area's)."""
        population = pd.Series(population_15plus, dtype=float)  # a dict or a Series indexed by area
        if self.in_all is None:
            return dict.fromkeys(population.index, self.per_partition)
        return {area: int(n) for area, n in allocate_areas(population, self.in_all).items()}


_BUDGET = re.compile(r"^(\d+)(\s+in\s+all)?$")


def parse_budget(value: str | int) -> NarrativeBudget:
    """``records_per_partition``: a non-negative count per partition, ``"all"``, or ``"N in all"`` (N residents
    over the whole dataset, spread over the areas)."""
    text = " ".join(str(value).strip().lower().split())
    if text == "all":
        return NarrativeBudget()
    m = _BUDGET.match(text)
    if m is None:
        raise ValueError(
            f"records_per_partition must be a whole number, 'all' or 'N in all' (e.g. '12 in all'), not {value!r}"
        )
    n = int(m.group(1))
    return NarrativeBudget(in_all=n) if m.group(2) else NarrativeBudget(per_partition=n)


class MixedSettingsError(ValueError):
    """Partitions of one dataset were made with different settings (or without recorded settings)."""


def encode_settings(settings: Mapping[str, Any]) -> str:
    """Canonical JSON of ``settings`` (sorted keys), as stored in a partition file."""
    return json.dumps(dict(settings), sort_keys=True, separators=(",", ":"))


def decode_settings(text: str | bytes | None) -> dict[str, Any] | None:
    return None if text is None else json.loads(text)


def check_uniform_settings(by_partition: Mapping[str, Mapping[str, Any] | None], what: str) -> dict[str, Any]:
    """The one set of settings every partition of ``what`` was made with.

    Raises ``MixedSettingsError`` naming the partitions of each variant when they differ, or when a partition
    recorded none (written before settings were recorded).
    """
    variants: dict[str, list[str]] = {}
    for partition, settings in sorted(by_partition.items()):
        key = "(no settings recorded)" if settings is None else encode_settings(settings)
        variants.setdefault(key, []).append(partition)
    if len(variants) == 1 and "(no settings recorded)" not in variants:
        return json.loads(next(iter(variants)))
    if not variants:
        raise MixedSettingsError(f"{what}: no partitions")
    lines = [f"{what}: the partitions do not share one set of recorded settings; re-materialise them alike:"]
    for key, partitions in sorted(variants.items(), key=lambda kv: -len(kv[1])):
        shown = ", ".join(partitions[:12]) + (f" and {len(partitions) - 12} more" if len(partitions) > 12 else "")
        lines.append(f"- {key}: {len(partitions)} partition(s): {shown}")
    raise MixedSettingsError("\n".join(lines))
