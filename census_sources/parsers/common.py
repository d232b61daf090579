"""Vocabularies shared by the parsers: the project's own labels for the publishers' categories."""

from __future__ import annotations

import re
from pathlib import Path

from census_sources.errors import SourceTableError

TOTAL = "Total"

SEX = {
    "males": "Male",
    "male": "Male",
    "m": "Male",
    "females": "Female",
    "female": "Female",
    "f": "Female",
    "total": TOTAL,
}

ETHNICITY = {
    "chinese": "Chinese",
    "malays": "Malay",
    "malay": "Malay",
    "indians": "Indian",
    "indian": "Indian",
    "others": "Others",
    "other": "Others",
    "total": TOTAL,
}

_PA_TOTAL = re.compile(r"\s*-\s*Total$")  # "Ang Mo Kio - Total" and the publisher's "Changi- Total"
_AGE_RANGE = re.compile(r"^\s*(\d+)\s*[-–_]\s*(\d+)\s*(years)?\s*$", re.IGNORECASE)
_AGE_OVER = re.compile(r"^\s*(\d+)\s*(?:&|_?and_?)\s*_?over\s*(years)?\s*$", re.IGNORECASE)
_AGE_OVER_YEARS = re.compile(r"^\s*(\d+)\s*years\s*&\s*over\s*$", re.IGNORECASE)


def map_label(mapping: dict[str, str], label: str, *, file: str | Path, row: int, column: str, what: str) -> str:
    key = label.strip().lower()
    if key not in mapping:
        raise SourceTableError(file, f"unknown {what} label {label!r}", row=row, column=column)
    return mapping[key]


def split_pa_total(label: str) -> str | None:
    """``'Bedok - Total'`` → ``'Bedok'``; ``None`` when the label is not a planning-area total row."""
    if _PA_TOTAL.search(label):
        return _PA_TOTAL.sub("", label).strip()
    return None


def age_group(label: str) -> str | None:
    """Normalise an age-group label to ``'15-19'`` or ``'85+'``; ``None`` if the label is not an age group."""
    text = label.strip().replace("Years", "").replace("years", "").strip()
    if m := _AGE_RANGE.match(text):
        return f"{int(m.group(1))}-{int(m.group(2))}"
    if (m := _AGE_OVER.match(label)) or (m := _AGE_OVER_YEARS.match(label)):
        return f"{int(m.group(1))}+"
    return None


def title_pa(name: str) -> str:
    """URA's upper-case planning-area/subzone names in the title case SingStat uses (``'ANG MO KIO'`` →
    ``'Ang Mo Kio'``, ``'LAKESIDE (LEISURE)'`` → ``'Lakeside (Leisure)'``), as SingStat writes them."""
    words = []
    for part in name.strip().split(" "):
        words.append("-".join(_capitalise(w) for w in part.split("-")))
    return " ".join(words)


def _capitalise(word: str) -> str:
    """``'(LEISURE)'`` → ``'(Leisure)'``: the first letter after any opening bracket or quote is upper case."""
    lead = len(word) - len(word.lstrip("(\"'"))
    return word[:lead] + word[lead : lead + 1].upper() + word[lead + 1 :].lower()


#: SSOC major groups (SSOC 2010/2020 names differ slightly between MOM series and GHS 2015).
OCCUPATION = {
    "managers & administrators (including working proprietors)": "Managers & Administrators",
    "legislators, senior officials & managers": "Managers & Administrators",
    "professionals": "Professionals",
    "associate professionals & technicians": "Associate Professionals & Technicians",
    "clerical support workers": "Clerical Support Workers",
    "service & sales workers": "Service & Sales Workers",
    "craftsmen & related trade workers": "Craftsmen & Related Trades Workers",
    "craftsmen & related trades workers": "Craftsmen & Related Trades Workers",
    "plant & machine operators & assemblers": "Plant & Machine Operators & Assemblers",
    "cleaners, labourers & related workers": "Cleaners, Labourers & Related Workers",
    "others": "Others",
    "other occupation groups nes": "Others",
    "total": TOTAL,
}

#: Industries (SSIC sections as MOM groups them): Services is a published sub-total whose parts are kept.
INDUSTRY = {
    "manufacturing": "Manufacturing",
    "construction": "Construction",
    "wholesale & retail trade": "Wholesale & Retail Trade",
    "transportation & storage": "Transportation & Storage",
    "accommodation & food services": "Accommodation & Food Services",
    "information & communications": "Information & Communications",
    "financial & insurance services": "Financial & Insurance Services",
    "real estate services": "Real Estate Services",
    "professional services": "Professional Services",
    "administrative & support services": "Administrative & Support Services",
    "public administration & education": "Public Administration & Education",
    "public administration & education services": "Public Administration & Education",
    "health & social services": "Health & Social Services",
    "arts, entertainment & recreation": "Arts, Entertainment & Recreation",
    "other community, social & personal services": "Other Community, Social & Personal Services",
    "others": "Others",
    "other industries nes": "Others",
    "total": TOTAL,
}
