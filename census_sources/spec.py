"""What the project knows about each normalised source table: provenance, shape and reconciliation rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

#: Keys checked against the URA MP2019 lists (``ura_planning_areas``, ``ura_subzones``) in every table that has them.
GEOGRAPHY_KEYS = ("planning_area", "subzone")
#: ``coverage`` values: every URA planning area (and subzone) must have rows.
PLANNING_AREAS, SUBZONES = "planning_areas", "subzones"

#: Attribution the Singapore Open Data Licence v1.0 asks for (filled per table).
SODL_URL = "https://data.gov.sg/open-data-licence"
SODL = "Singapore Open Data Licence v1.0"


@dataclass(frozen=True)
class TableSpec:
    """A normalised table of the snapshot.

    The tidy layout is ``keys + [value]`` (+ ``flag`` when the publisher marks cells ``na``/``s``). A key may
    carry the publisher's total label (``totals``): rows with that label are published totals, and the other
    rows of the same key must add up to them within the publisher's rounding (``rounding_unit`` is the unit
    every published cell is rounded to; ``slack`` is extra absolute tolerance for random rounding).

    What rows the table must hold (checked when it is built from the raw files and again when it is loaded; see
    ``docs/reliability.md``):

    - ``key_values``: the exact value set of a key (every value must be one of these); every key has one, or is a
      geography key (``planning_area``/``subzone``: URA MP2019 names, plus the ``totals`` label, plus ``Others``
      where ``pooled``), or is listed in ``open_keys`` (names, hashes, codes: no closed list);
    - ``complete``: keys whose every combination of ``key_values`` appears, once, for each combination of the other
      keys present (``complete = keys`` when there are no other keys: the full product);
    - ``coverage``: ``"planning_areas"`` / ``"subzones"``: every URA planning area (and every URA subzone) has rows;
    - ``expected_rows`` / ``expected_total``: the row count / the sum of the non-total figures recorded for the
      official file (``recorded_in`` says where, e.g. ``PROVENANCE.md 1.1``);
    - ``drop_zero_rows``: rows with a zero figure are checked at build, then left out of the snapshot (so at load
      ``complete`` and ``coverage`` cannot be checked; ``expected_total`` still is).

    ``located``: the parser gives every row the place in the raw file it came from (the hidden column
    ``census_sources.errors.WHERE``), so that build errors name the raw file, line and column; the build refuses
    a parser that does not. ``False`` only for tables whose rows are aggregates of many raw lines (name tokens).
    """

    name: str
    title: str
    agency: str
    reference: str  # reference date or year of the figures
    url: str
    raw_files: tuple[str, ...]  # relative to the raw root (../shared/data/raw layout)
    parse: Callable[[Path], pd.DataFrame]
    keys: tuple[str, ...]
    value: str = "count"
    unit: str = "persons"
    integer: bool = True
    nullable: bool = False
    totals: Mapping[str, str] = field(default_factory=dict)
    rounding_unit: float = 0.0
    slack: float = 0.0
    dash_allowance: float = 0.0  # what one published '-' (stored as 0) may hide, for tables that suppress
    universe: str = ""
    licence: str = SODL
    licence_url: str = SODL_URL
    quirks: tuple[str, ...] = ()
    grounds: tuple[str, ...] = ()  # record fields this table grounds (SPEC section 4)
    key_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # closed value sets per key
    open_keys: tuple[str, ...] = ()
    complete: tuple[str, ...] = ()
    coverage: str = ""
    pooled: bool = False
    expected_rows: int | None = None
    expected_total: float | None = None
    recorded_in: str = ""
    drop_zero_rows: bool = False
    located: bool = True

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.keys, self.value, *(("flag",) if self.nullable else ()))

    @property
    def geography(self) -> tuple[str, ...]:
        """The keys checked against the URA lists (not the keys a URA table itself defines)."""
        return tuple(k for k in self.keys if k in GEOGRAPHY_KEYS and k not in self.open_keys)

    def allowed(self, key: str) -> tuple[str, ...]:
        """Labels a geography key may carry besides URA names: the table's total label, and 'Others' if pooled."""
        pooled = ("Others",) if self.pooled and key == "planning_area" else ()
        return (*((self.totals[key],) if key in self.totals else ()), *pooled)

    @property
    def attribution(self) -> str:
        return (
            f"Contains information from {self.title} ({self.agency}), made available under the terms of the "
            f"{self.licence} ({self.licence_url}). Source: {self.agency}."
        )

    def tolerance(self, n_parts: int, n_zero_parts: int = 0) -> float:
        """Largest |total - sum of parts| the publisher's rounding (and, where it suppresses small cells as
        ``-``, the figures those dashes may hide) can explain for ``n_parts`` parts."""
        return self.rounding_unit / 2 * (n_parts + 1) + self.slack + self.dash_allowance * n_zero_parts

    def provenance(self) -> dict[str, str]:
        return {
            "title": self.title,
            "agency": self.agency,
            "reference": self.reference,
            "url": self.url,
            "licence": self.licence,
            "licence_url": self.licence_url,
            "attribution": self.attribution,
            "unit": self.unit,
            "universe": self.universe,
        }
