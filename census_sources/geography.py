"""Planning-area and subzone names against the URA Master Plan 2019 lists, the authority for those names.

The snapshot stores URA's (upper-case) names in title case (``title_pa``: ``LAKESIDE (LEISURE)`` →
``Lakeside (Leisure)``), which is how SingStat writes them. Other tables' names are compared with them after
normalisation (:func:`normalise_name`: Unicode NFKC, so a no-break space is a space; case folding; runs of
whitespace as one space; no leading or trailing space). When a table is built, a name equal to a URA name under
that comparison is rewritten to the stored URA spelling; any other name is an error naming the raw file, line and
column, with the closest URA name. When a table is loaded, names must be exactly the stored spelling.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from census_sources.errors import SourceTableError
from census_sources.locate import error_at, file_of, last_row
from census_sources.spec import PLANNING_AREAS, SUBZONES, TableSpec

SHOWN = 5


def normalise_name(name: str) -> str:
    """The form names are compared in: NFKC, case-folded, whitespace collapsed and stripped."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(name))).strip().casefold()


@dataclass(frozen=True)
class Reference:
    """The URA MP2019 lists: planning areas, and (planning area, subzone) pairs, as the snapshot spells them."""

    planning_areas: frozenset[str]
    subzones: frozenset[tuple[str, str]]

    @classmethod
    def from_frames(cls, planning_areas: pd.DataFrame, subzones: pd.DataFrame) -> Reference:
        pairs = zip(subzones["planning_area"], subzones["subzone"], strict=True)
        return cls(frozenset(planning_areas["planning_area"]), frozenset(pairs))

    def subzones_of(self, planning_area: str) -> list[str]:
        return sorted(sz for pa, sz in self.subzones if pa == planning_area)


def canonical_names(df: pd.DataFrame, spec: TableSpec, reference: Reference) -> pd.DataFrame:
    """``df`` with every geography name that equals a URA name under :func:`normalise_name` spelled as URA's;
    other names are left for :func:`check_geography` to report."""
    df = df.copy()
    if "planning_area" in spec.geography:
        by_form = {normalise_name(n): n for n in reference.planning_areas}
        keep = set(spec.allowed("planning_area"))
        df["planning_area"] = [n if n in keep else by_form.get(normalise_name(n), n) for n in df["planning_area"]]
    if "subzone" in spec.geography:
        pair_form = {(normalise_name(pa), normalise_name(sz)): sz for pa, sz in reference.subzones}
        keep = set(spec.allowed("subzone"))
        df["subzone"] = [
            sz if sz in keep else pair_form.get((normalise_name(pa), normalise_name(sz)), sz)
            for pa, sz in zip(df["planning_area"], df["subzone"], strict=True)
        ]
    return df


def _closest(name: str, candidates: list[str]) -> str:
    forms = {normalise_name(c): c for c in candidates}
    same = forms.get(normalise_name(name))
    if same is not None:
        return f" (the URA spelling is {same!r})"
    close = difflib.get_close_matches(normalise_name(name), list(forms), n=1, cutoff=0.0)
    return f" (closest: {forms[close[0]]!r})" if close else ""


def check_geography(df: pd.DataFrame, spec: TableSpec, file: str | Path, reference: Reference, *, loaded: bool) -> None:
    """Names of the geography keys are URA names (or the table's total label / pooled 'Others'); with
    ``coverage``, every URA planning area (and subzone) has rows (not checked on a loaded ``drop_zero_rows``
    table, whose zero rows were left out)."""
    geography = spec.geography
    if "planning_area" in geography:
        allowed = reference.planning_areas | set(spec.allowed("planning_area"))
        bad = ~df["planning_area"].isin(allowed)
        if bad.any():
            i = int(bad.idxmax())
            name = df.at[i, "planning_area"]
            hint = _closest(name, sorted(reference.planning_areas))
            raise error_at(
                df, i, file, f"planning area {name!r} is not a URA MP2019 planning area{hint}", "planning_area"
            )
    if "subzone" in geography:
        allowed_sz = set(spec.allowed("subzone"))
        for i, (pa, sz) in enumerate(zip(df["planning_area"], df["subzone"], strict=True)):
            if sz not in allowed_sz and (pa, sz) not in reference.subzones:
                hint = _closest(sz, reference.subzones_of(pa))
                raise error_at(df, i, file, f"subzone {sz!r} is not a URA MP2019 subzone of {pa!r}{hint}", "subzone")
    if not spec.coverage or (loaded and spec.drop_zero_rows):
        return
    gaps = []
    lost_areas = sorted(reference.planning_areas - set(df["planning_area"]))
    if lost_areas:
        gaps.append(
            f"{len(lost_areas)} of the {len(reference.planning_areas)} URA MP2019 planning areas have no rows: "
            f"{', '.join(lost_areas)}"
        )
    if spec.coverage == SUBZONES:
        lost = sorted(reference.subzones - set(zip(df["planning_area"], df["subzone"], strict=True)))
        if lost:
            shown = ", ".join(f"{pa}/{sz}" for pa, sz in lost[:SHOWN]) + (", …" if len(lost) > SHOWN else "")
            gaps.append(f"{len(lost)} of the {len(reference.subzones)} URA MP2019 subzones have no rows: {shown}")
    elif spec.coverage != PLANNING_AREAS:
        raise ValueError(f"{spec.name}: unknown coverage {spec.coverage!r}")
    if gaps:
        last = last_row(df)
        column = error_at(df, 0, file, "", "planning_area").column if len(df) else "planning_area"
        raise SourceTableError(
            file_of(df, file),
            "; ".join(gaps) + (f" — the last data row read is line {last}" if last else ""),
            column=column,
        )
