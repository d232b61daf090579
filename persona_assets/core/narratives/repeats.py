"""Texts that repeat another record's: the texts of one field across the records of a run that are
near-duplicates (shingle Jaccard >= ``metrics.NEAR_DUPLICATE_JACCARD``, the person's own name masked, as the
narrative report measures it) of the same field of an *earlier* record. A small model writes the same sentence
for many people ("<name> and her husband have two children, one in primary school and one in secondary
school"); each such text is valid against its own record, so the validator cannot see it. The engine's revision
pass (``NarrativeEngine.run``) asks for these fields again; the first record of each group keeps its text.

Scope: the records of one engine run (one partition, or the partitions a backfill groups into one run), in their
order; texts of other runs are not compared (the report, over all partitions, still counts those)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from persona_assets.core.narratives.metrics import field_text, find_repeats, list_name_tokens, split_words
from persona_assets.core.narratives.validate import NAME_COLUMNS
from persona_assets.core.schema import LLM_FIELDS

REPEAT_RULE = "near_duplicate"


def find_repeated_fields(
    answers: Sequence[dict[str, Any] | None], records: Sequence[dict[str, Any]]
) -> dict[int, list[str]]:
    """Per record index, a reason ``near_duplicate: <field>`` for each field whose text repeats an earlier record's
    text of that field; records without an answer (``None``: failed) take no part. Deterministic: the same
    answers in the same order give the same reasons."""
    if len(answers) != len(records):
        raise ValueError(f"{len(answers)} answers for {len(records)} records")
    present = [i for i, a in enumerate(answers) if a is not None]
    if len(present) < 2:
        return {}
    names = [list_name_tokens(records[i].get(c) for c in NAME_COLUMNS) for i in present]
    out: dict[int, list[str]] = {}
    for f in LLM_FIELDS:
        words = [split_words(field_text(f, answers[i].get(f)), nm) for i, nm in zip(present, names, strict=True)]  # type: ignore[union-attr]
        for k in np.flatnonzero(find_repeats(words)).tolist():
            out.setdefault(present[k], []).append(f"{REPEAT_RULE}: {f}")
    return out
