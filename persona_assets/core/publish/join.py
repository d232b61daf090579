"""The published record: residents inner-joined on ``uuid`` with their ``ok`` narratives (SPEC section 3), and the
counts of what the join leaves out and why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import pandas as pd

from persona_assets.core.publish.arrow import is_missing
from persona_assets.core.schema import LIST_FIELDS, LLM_FIELDS, RECORD_FIELDS, RESIDENT_RELEASE_FIELDS


def _as_str_list(v: Any) -> list[str] | None:
    if is_missing(v):
        return None
    if isinstance(v, str):
        raise ValueError(f"expected a list of strings, got a string {v[:40]!r}")
    return [str(x) for x in list(v)]


def _check_columns(df: pd.DataFrame, needed: Sequence[str], what: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {', '.join(missing)}")


def _check_unique(df: pd.DataFrame, what: str) -> None:
    dup = df["uuid"][df["uuid"].duplicated(keep=False)]
    if len(dup):
        sample = ", ".join(map(str, dup.drop_duplicates().head(5)))
        raise ValueError(f"{what}: {dup.nunique()} duplicated uuid(s) ({len(dup)} rows), e.g. {sample}")
    if df["uuid"].isna().any():
        raise ValueError(f"{what}: {int(df['uuid'].isna().sum())} row(s) without uuid")


def _check_statuses(narratives: pd.DataFrame) -> None:
    status = narratives["status"]
    bad = sorted(set(status.dropna().astype(str)) - {"ok", "failed"}) + (["<null>"] if status.isna().any() else [])
    if bad:
        raise ValueError(f"narratives: unknown status value(s) {bad} (expected 'ok' or 'failed')")


def join_personas(residents: pd.DataFrame, narratives: pd.DataFrame) -> pd.DataFrame:
    """The published 38-field records: residents inner-joined on ``uuid`` with their ``ok`` narratives, in the
    residents' order. Records whose narrative ``failed`` and residents that were not narrated are left out (see
    ``count_join``).

    Raises ``ValueError`` when a narrative's uuid has no resident, a uuid is duplicated on either side, a
    narrative's planning area differs from its resident's, a status is neither ``ok`` nor ``failed``, or an ``ok``
    narrative lacks a text.
    """
    _check_columns(residents, RESIDENT_RELEASE_FIELDS, "residents")
    _check_columns(narratives, ("uuid", "status", *LLM_FIELDS), "narratives")
    _check_unique(residents, "residents")
    _check_unique(narratives, "narratives")

    orphans = narratives.loc[~narratives["uuid"].isin(set(residents["uuid"])), "uuid"]
    if len(orphans):
        sample = ", ".join(map(str, orphans.head(5)))
        raise ValueError(f"narratives: {len(orphans)} uuid(s) have no resident, e.g. {sample}")
    _check_statuses(narratives)

    if "planning_area" in narratives.columns:
        area_of = residents.set_index("uuid")["planning_area"]
        mismatch = narratives["planning_area"].to_numpy() != area_of.loc[narratives["uuid"]].to_numpy()
        if mismatch.any():
            u = narratives.loc[mismatch, "uuid"].iloc[0]
            raise ValueError(
                f"narratives: {int(mismatch.sum())} record(s) whose planning_area differs from the resident's, e.g. {u}"
            )

    ok = narratives.loc[narratives["status"] == "ok", ["uuid", *LLM_FIELDS]].copy()
    for f in LLM_FIELDS:
        empty = ok[f].map(is_missing) | ok[f].map(lambda v: isinstance(v, str) and not v.strip())
        if empty.any():
            raise ValueError(
                f"narratives: {int(empty.sum())} ok record(s) with an empty {f}, e.g. {ok['uuid'][empty].iloc[0]}"
            )
    for f in LIST_FIELDS:
        ok[f] = ok[f].map(_as_str_list)
    out = residents.loc[:, list(RESIDENT_RELEASE_FIELDS)].merge(ok, on="uuid", how="inner", validate="one_to_one")
    return out.loc[:, list(RECORD_FIELDS)].reset_index(drop=True)


def count_join(residents: int, narratives: pd.DataFrame, published: int, top_reasons: int = 10) -> dict[str, Any]:
    """What the join kept and left out: residents, narrated, not narrated, ok, failed (excluded, with their most
    frequent reasons), published, and the ok rate. Reads the narratives only (the join is not repeated)."""
    _check_statuses(narratives)
    ok = int((narratives["status"] == "ok").sum())
    failed = narratives.loc[narratives["status"] == "failed"]
    reasons: Counter[str] = Counter()
    if "failure_reasons" in failed.columns:
        for rs in failed["failure_reasons"]:
            reasons.update(_as_str_list(rs) or ["<no reason recorded>"])
    elif len(failed):
        reasons["<no reason recorded>"] = len(failed)
    return {
        "residents": residents,
        "narrated": len(narratives),
        "not_narrated": residents - len(narratives),
        "ok": ok,
        "failed_excluded": len(failed),
        "published": published,
        "ok_rate": round(ok / len(narratives), 6) if len(narratives) else None,
        "failed_by_reason": dict(reasons.most_common(top_reasons)),
    }


def select_release_residents(residents: pd.DataFrame) -> pd.DataFrame:
    """The ``residents`` config: every sampled record, identity + context fields in publication order."""
    _check_columns(residents, RESIDENT_RELEASE_FIELDS, "residents")
    return residents.loc[:, list(RESIDENT_RELEASE_FIELDS)].reset_index(drop=True)
