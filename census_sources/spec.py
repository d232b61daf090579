"""What the project knows about each normalised source table: provenance, shape and reconciliation rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

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

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.keys, self.value, *(("flag",) if self.nullable else ()))

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
