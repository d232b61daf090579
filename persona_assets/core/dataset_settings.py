"""The settings a dataset is made with, as every partition records them.

A residents partition depends on ``total_records`` (the allocation over the 55 areas) and ``base_seed``; a
narratives partition on ``records_per_partition`` (which residents get texts). Each partition stores the values
it was made with in its Parquet file's key-value metadata (``SETTINGS_KEY``, canonical JSON), so the file itself
says how it was made, empty partitions included. Publication reads them back and refuses a dataset whose
partitions disagree (``check_uniform_settings``), naming the partitions of each variant.

Pure Python (no Dagster); the Dagster resource that holds the settings is ``persona_assets/settings.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

DEFAULT_TOTAL_RECORDS = 148_000
DEFAULT_BASE_SEED = 20251125
#: Sized for `make run` on 2 cores with the embedded model: one resident per populated partition. Use "all" with a
#: hosted endpoint.
DEFAULT_RECORDS_PER_PARTITION = "1"

#: The settings each partitioned asset depends on (and records).
RESIDENTS_SETTINGS = ("total_records", "base_seed")
NARRATIVES_SETTINGS = ("records_per_partition",)

#: Parquet key-value metadata key of a partition's settings.
SETTINGS_KEY = "sg_personas.dataset_settings"


def parse_budget(value: str | int) -> int | None:
    """``records_per_partition``: a non-negative count, or ``"all"`` (returns None)."""
    text = str(value).strip().lower()
    if text == "all":
        return None
    try:
        n = int(text)
    except ValueError:
        raise ValueError(f"records_per_partition must be a whole number or 'all', not {value!r}") from None
    if n < 0:
        raise ValueError(f"records_per_partition must not be negative (got {n})")
    return n


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
