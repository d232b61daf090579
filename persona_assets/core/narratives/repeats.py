"""Texts that repeat another record's: the texts of one field across the records of a run that are
near-duplicates (shingle Jaccard >= ``metrics.NEAR_DUPLICATE_JACCARD``, the person's own name masked, as the
narrative report measures it) of the same field of an *earlier* record. A small model writes the same sentence
for many people ("<name> and her husband have two children, one in primary school and one in secondary
school"); each such text is valid against its own record, so the validator cannot see it. The engine's revision
pass (``NarrativeEngine.run``) asks for these fields again; the first record of each group keeps its text.

Scope: the records of one planning area (one partition) of a run, in their order, so that a partition gets the
same texts whether it runs alone or in a backfill that groups several partitions into one run. Texts of other
partitions are not compared (the report, over all partitions, still counts those)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from persona_assets.core.narratives.metrics import field_text, find_repeats, list_name_tokens, split_words
from persona_assets.core.narratives.validate import NAME_COLUMNS
from persona_assets.core.schema import LLM_FIELDS

REPEAT_RULE = "near_duplicate"


#: What a text is compared with: the earlier records of its planning area (a partition: the pipeline's scope), or
#: of the whole run (a benchmark whose records stand in for one partition's)
SCOPES = ("planning_area", "run")


def find_repeated_fields(
    answers: Sequence[dict[str, Any] | None], records: Sequence[dict[str, Any]], scope: str = "planning_area"
) -> dict[int, list[str]]:
    """Per record index, a reason ``near_duplicate: <field>`` for each field whose text repeats the text of that
    field of an earlier record of the same planning area (``scope="run"``: of any record); records without an
    answer (``None``: failed) take no part. Deterministic: the same answers in the same order give the same
    reasons."""
    if len(answers) != len(records):
        raise ValueError(f"{len(answers)} answers for {len(records)} records")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, not {scope!r}")
    areas: dict[object, list[int]] = {}
    for i, a in enumerate(answers):
        if a is not None:
            areas.setdefault(records[i].get("planning_area") if scope == "planning_area" else None, []).append(i)
    out: dict[int, list[str]] = {}
    for present in areas.values():
        if len(present) < 2:
            continue
        names = [list_name_tokens(records[i].get(c) for c in NAME_COLUMNS) for i in present]
        for f in LLM_FIELDS:
            texts = [field_text(f, (answers[i] or {}).get(f)) for i in present]
            words = [split_words(t, nm) for t, nm in zip(texts, names, strict=True)]
            for k in np.flatnonzero(find_repeats(words)).tolist():
                out.setdefault(present[k], []).append(f"{REPEAT_RULE}: {f}")
    return dict(sorted(out.items()))
