"""Frames the Great Expectations suites validate: the data plus ``check__*`` columns that turn row-level rules GX
cannot express directly (a hash lookup in the name register, a regex over every text, list shapes) into plain
columns. The rules themselves live in the suites (``expectations/*.json``)."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from persona_assets.core.names import register_matches
from persona_assets.core.schema import LIST_FIELDS, TEXT_FIELDS

#: Strings that look like credentials: provider API keys, bearer tokens, cloud keys, private keys.
SECRET_PATTERNS = (
    r"\bsk-[A-Za-z0-9_-]{16,}",  # OpenAI-style keys
    r"\bnvapi-[A-Za-z0-9_-]{16,}",  # NVIDIA API keys
    r"\bhf_[A-Za-z0-9]{20,}",  # Hugging Face tokens
    r"\bgh[pousr]_[A-Za-z0-9]{20,}",  # GitHub tokens
    r"\bAKIA[0-9A-Z]{16}\b",  # AWS access key ids
    r"\bAIza[0-9A-Za-z_-]{30,}",  # Google API keys
    r"\bxox[abpr]-[A-Za-z0-9-]{10,}",  # Slack tokens
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    r"\bBearer\s+[A-Za-z0-9._~+/-]{20,}",
)
SECRET_RE = re.compile("|".join(SECRET_PATTERNS))

#: The ok-rate the narratives gate asks of the model: publication is refused when the sample shows, at 95%
#: confidence, that the model's ok-rate is below this (see :func:`compute_min_ok_share`).
MIN_OK_RATE = 0.7
#: one-sided 95% normal quantile of the ok-rate gate's score (Wilson) bound
OK_RATE_Z = 1.645

#: The derived columns each frame adds (the suites name them; ``core/record_suites.py``).
NARRATIVE_CHECK_COLUMNS = (
    "check__min_text_chars",
    "check__max_text_chars",
    *(f"check__{f}_items" for f in LIST_FIELDS),
    "check__lists_valid",
    "check__failed_without_reason",
)
PERSONA_CHECK_COLUMNS = ("check__register_full_name", "check__secret_like", "check__lists_valid")


def _is_str_list(value: Any) -> bool:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return isinstance(value, list) and all(isinstance(x, str) and x.strip() for x in value)


def _len(value: Any) -> float:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    return float(len(value))


def add_narrative_checks(narratives: pd.DataFrame) -> pd.DataFrame:
    """The narratives table with the derived columns ``expectations/narratives.json`` checks (texts and lists are
    measured on ok rows only; failed rows carry nulls there)."""
    out = narratives.drop(
        columns=[c for c in ("failure_reasons", "rejected_reasons", *LIST_FIELDS) if c in narratives]
    ).copy()
    ok = narratives["status"] == "ok"
    lengths = narratives[list(TEXT_FIELDS)].apply(lambda col: col.map(_len))
    out["check__min_text_chars"] = lengths.min(axis=1).where(ok)
    out["check__max_text_chars"] = lengths.max(axis=1).where(ok)
    for f in LIST_FIELDS:
        out[f"check__{f}_items"] = narratives[f].map(_len).where(ok)
    valid = narratives[list(LIST_FIELDS)].apply(lambda col: col.map(_is_str_list)).all(axis=1)
    out["check__lists_valid"] = valid.where(ok, other=True).astype(bool)
    reasons = narratives["failure_reasons"].map(lambda r: 0 if r is None else len(r))
    out["check__failed_without_reason"] = (narratives["status"] == "failed") & (reasons == 0)
    return out


def compute_min_ok_share(n_records: int, target: float = MIN_OK_RATE, z: float = OK_RATE_Z) -> float:
    """The least share of ok records that ``n_records`` may show without refusal: the sample is refused when the
    one-sided 95% Wilson (score) upper bound of its ok-rate is below ``target``, i.e. when the sample is evidence
    that the model's ok-rate is below ``target``. The score bound equals ``target`` where the share is
    ``target - z * sqrt(target * (1 - target) / n)``, so that is the threshold: about 43% of 8 records (4 of 8),
    62% of 100, 69.8% of 148,000. A point threshold (70% of any sample) refuses a model that is ok 83% of the time
    in about one 8-record run in six, on noise alone."""
    if n_records <= 0:
        return 0.0
    share = target - z * math.sqrt(target * (1.0 - target) / n_records)
    return min(1.0, max(0.0, share))


def build_narrative_suite_parameters(narratives: pd.DataFrame) -> dict[str, Any]:
    """The parameters of ``expectations/narratives.json`` for this table (the ok-rate gate's threshold)."""
    return {"min_ok_share": round(compute_min_ok_share(len(narratives)), 6)}


def _searchable_text(value: Any) -> str | None:
    """A value's text as the secret search reads it: a string, or a list's items one per line (None: no text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | np.ndarray) and len(value):
        return "\n".join(str(x) for x in value)
    return None


def find_secret_like(frame: pd.DataFrame) -> pd.Series:
    """Per row: does any string (or list of strings) look like a credential? The row's texts are searched joined
    by newlines, gathered column by column rather than row by row (a ``DataFrame.apply`` over rows built a Series
    per row: ~0.5 ms a row, over a minute at 148,000 records)."""
    columns = [[_searchable_text(v) for v in frame[c].to_numpy(dtype=object)] for c in frame.columns]
    found = [bool(SECRET_RE.search("\n".join(t for t in row if t is not None))) for row in zip(*columns, strict=True)]
    return pd.Series(found if columns else [False] * len(frame), index=frame.index, dtype=bool)


def add_persona_checks(personas: pd.DataFrame, register_hashes: pd.DataFrame) -> pd.DataFrame:
    """The published personas with the derived columns ``expectations/personas_dataset.json`` checks. The register
    check uses every name form of ``core.names.register_matches`` (with and without the English name)."""
    out = personas.copy()
    exact, _near = register_matches(personas["full_name"], register_hashes, personas.get("preferred_english_name"))
    out["check__register_full_name"] = np.asarray(exact, dtype=bool)
    out["check__secret_like"] = find_secret_like(personas).to_numpy()
    lists = [f for f in LIST_FIELDS if f in personas]
    out["check__lists_valid"] = personas[lists].apply(lambda col: col.map(_is_str_list)).all(axis=1).astype(bool)
    return out


def list_expected_areas(planning_areas: pd.DataFrame, total_records: int) -> list[str]:
    """Planning areas that must appear in a sample of ``total_records``: those the allocation gives at least one
    record (every populated area at the default 148,000; small samples can leave tiny areas out)."""
    from persona_assets.core.model.allocation import allocate_areas

    alloc = allocate_areas(planning_areas.set_index("planning_area")["residents_15plus"], total_records)
    return sorted(str(a) for a, n in alloc.items() if n > 0)
