"""Singapore places in narrative texts: which real places a text names, and names that look like a planning area
but are not one (misspellings, invented institutions).

The gazetteer is the URA Master Plan 2019 planning areas and subzones of the census snapshot, plus a small
hand-made list of landmarks, institutions, hawker centres, parks and streets
(``census_sources/annotations/sg_landmarks.csv``, an annotation, not a statistic; see its README). Names are
matched case-sensitively on word boundaries, longest first. A few subzone names are left out of the matching
because in a text they are far more often something else (``AMBIGUOUS_SUBZONES``: common words such as
``Garden`` or ``Port``, given names such as ``Victoria`` or ``Malcolm``, places abroad such as ``Guilin`` or
``Dover``). ``Singapore`` itself is not a place *in* Singapore. The record's own name tokens are masked before
matching (subzones such as ``Kim Keat`` or ``Yew Tee`` are also Chinese given names).

Pure Python (no Dagster).
"""

from __future__ import annotations

import re
from functools import cache

import pandas as pd

from census_sources import load_table
from persona_assets.core.paths import REPO_ROOT
from persona_assets.core.schema import PLANNING_AREAS

LANDMARKS = REPO_ROOT / "census_sources" / "annotations" / "sg_landmarks.csv"

#: Subzone names not matched as places (a word, a person's name, or a place abroad far more often than the
#: subzone).
AMBIGUOUS_SUBZONES = frozenset(
    {
        "Admiralty",
        "Anson",
        "Bayfront Subzone",
        "Boulevard",
        "Brickland",
        "Brickworks",
        "Cecil",
        "Central Subzone",
        "Chatsworth",
        "City Terminals",
        "Cleantech",
        "Commonwealth",
        "Crawford",
        "Dover",
        "Forest Hill",
        "Frankel",
        "Garden",
        "Guilin",
        "Hillcrest",
        "Hillview",
        "Jelebu",
        "Lakeside (business)",
        "Lakeside (leisure)",
        "Lavender",
        "Malcolm",
        "Maritime Square",
        "Marymount",
        "Matilda",
        "Maxwell",
        "Midview",
        "Mount Pleasant",
        "Mountbatten",
        "Nature Reserve",
        "Nicoll",
        "North Coast",
        "Northland",
        "Northshore",
        "One Tree Hill",
        "Orange Grove",
        "Oxley",
        "Park",
        "Paterson",
        "Phillip",
        "Plantation",
        "Port",
        "Queensway",
        "Reservoir View",
        "Shangri-La",
        "Shipyard",
        "Somerset",
        "Southern Group",
        "Springleaf",
        "Swiss Club",
        "Tagore",
        "The Wharves",
        "Townsville",
        "Trafalgar",
        "Turf Club",
        "Victoria",
        "West Coast",
        "Woodgrove",
        "Yunnan",
    }
)
#: Tertiary institutions are not named after planning areas: "<area> University" or "<area> Polytechnic" is
#: invented. (Real ones: NUS, NTU, SMU, SUTD, SIT, SUSS; Singapore, Ngee Ann, Temasek, Nanyang and Republic
#: Polytechnics; none carries a planning area's name.)
INSTITUTION_WORDS = ("University", "Polytechnic", "Institute of Technology")


#: Planning areas with a real beach (a hand-made list): "<area> Beach" elsewhere (``Bishan Beach``) is invented.
COASTAL_AREAS = frozenset(
    {
        "Bedok",
        "Changi",
        "Changi Bay",
        "Lim Chu Kang",
        "Marine Parade",
        "North-Eastern Islands",
        "Pasir Ris",
        "Punggol",
        "Sembawang",
        "Southern Islands",
        "Tuas",
        "Western Islands",
    }
)


def read_landmarks() -> pd.DataFrame:
    """The landmark gazetteer (name, kind, planning_area), strictly: every planning area must exist."""
    df = pd.read_csv(LANDMARKS, dtype=str)
    missing = {"name", "kind", "planning_area"} - set(df.columns)
    if missing:
        raise ValueError(f"{LANDMARKS}: missing columns {sorted(missing)}")
    for i, (name, area) in enumerate(zip(df["name"], df["planning_area"], strict=True), start=2):
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{LANDMARKS}: row {i}, column name: empty")
        if area not in PLANNING_AREAS:
            raise ValueError(f"{LANDMARKS}: row {i}, column planning_area: {area!r} is not a planning area")
    if df["name"].duplicated().any():
        raise ValueError(f"{LANDMARKS}: duplicate names {sorted(df.loc[df['name'].duplicated(), 'name'])}")
    return df


@cache
def list_subzones() -> tuple[str, ...]:
    return tuple(sorted(set(load_table("ura_subzones")["subzone"])))


@cache
def list_places() -> tuple[str, ...]:
    """Every place name matched in texts: planning areas, unambiguous subzones and landmarks, longest first."""
    names = set(PLANNING_AREAS) | (set(list_subzones()) - AMBIGUOUS_SUBZONES) | set(read_landmarks()["name"])
    return tuple(sorted(names, key=lambda n: (-len(n), n)))


@cache
def _place_pattern() -> re.Pattern[str]:
    return re.compile(r"(?<![\w'])(" + "|".join(re.escape(n) for n in list_places()) + r")(?![\w])")


_NAME_TOKEN = re.compile(r"[A-Za-z][\w'-]*")


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _at_boundary(text: str, i: int) -> bool:
    """Whether ``\\b`` holds at position ``i`` of ``text``."""
    before = i > 0 and _is_word(text[i - 1])
    after = i < len(text) and _is_word(text[i])
    return before != after


def mask_names(text: str, names: list[str] | tuple[str, ...]) -> str:
    """``text`` with each token of the person's names replaced by ``_`` (so a name is never read as a place).

    What ``re.sub(r"\\b(<tokens, longest first>)\\b", "_", text)`` does, found with ``str.find`` instead of a
    pattern compiled per person (~0.1-0.2 ms each, every record's names differ: minutes at 148,000 records, and a
    cache of them either grows without bound or thrashes): leftmost first, the longest token at a position."""
    tokens = {t for n in names if isinstance(n, str) for t in _NAME_TOKEN.findall(n) if len(t) > 1}
    spans = []
    for t in tokens:
        i = text.find(t)
        while i >= 0:
            if _at_boundary(text, i) and _at_boundary(text, i + len(t)):
                spans.append((i, -len(t)))
            i = text.find(t, i + 1)
    if not spans:
        return text
    out, pos = [], 0
    for start, neg in sorted(spans):
        if start >= pos:
            out += [text[pos:start], "_"]
            pos = start - neg
    return "".join(out) + text[pos:]


def find_places(text: str, names: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The real Singapore places ``text`` names (gazetteer matches, in order; the person's names masked)."""
    return _place_pattern().findall(mask_names(text, names))


def _distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein with adjacent transpositions)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


@cache
def _known_words() -> frozenset[str]:
    words: set[str] = set()
    for n in (*list_places(), *list_subzones()):
        words |= set(re.findall(r"[A-Za-z][\w'-]*", n))
    return frozenset(words)


@cache
def _areas_by_words() -> dict[int, dict[str, tuple[tuple[str, str, int], ...]]]:
    """Planning areas of 6+ letters by number of words, then by first letter (lower case): (name, lower case,
    edits allowed). Only an area with the written word's first letter can match, so only those are compared."""
    out: dict[int, dict[str, list[tuple[str, str, int]]]] = {}
    for area in PLANNING_AREAS:
        if len(area) >= 6:
            limit = 2 if len(area.replace(" ", "")) >= 10 else 1
            low = area.lower()
            out.setdefault(len(area.split()), {}).setdefault(low[0], []).append((area, low, limit))
    return {k: {letter: tuple(v) for letter, v in by_letter.items()} for k, by_letter in out.items()}


_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def find_misspelt_areas(text: str, names: list[str] | tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(as written, planning area) for capitalised words that are one edit (two for names of 10+ letters) away
    from a planning area's name, with the same first letter, without being it or any other known place: ``Tanlin``
    (Tanglin), ``Ang Mo Ko``. Single words count only in mid-sentence and from 6 letters; plurals and possessives
    do not count."""
    masked = mask_names(text, names)
    words = [(m.group(0), m.start()) for m in _WORD.finditer(masked)]
    caps = [w[:1].isupper() for w, _ in words]
    known, places = _known_words(), set(list_places())
    out: list[tuple[str, str]] = []
    starts = [i for i, cap in enumerate(caps) if cap]  # a name is written capitalised: only those words start one
    for k, by_letter in _areas_by_words().items():
        for i in starts:
            if i + k > len(words) or not all(caps[i + 1 : i + k]) or words[i][0][0].lower() not in by_letter:
                continue
            written = " ".join(w for w, _ in words[i : i + k])
            if len(written) < 6 or written in places:
                continue
            if k == 1 and (written in known or _sentence_initial(masked, words[i][1])):
                continue
            low = written.lower()
            for area, area_low, limit in by_letter[low[0]]:
                if low == area_low or abs(len(low) - len(area_low)) > limit:
                    continue
                if written in (f"{area}s", f"{area}'s"):
                    continue
                if _distance(low, area_low) <= limit:
                    out.append((written, area))
    return out


def _sentence_initial(text: str, start: int) -> bool:
    before = text[:start].rstrip()
    return not before or before[-1] in ".!?:;\"'(“"


@cache
def _institution_pattern() -> re.Pattern[str]:
    areas = sorted(PLANNING_AREAS, key=len, reverse=True)
    alt = "|".join(re.escape(a) for a in areas)
    inland = "|".join(re.escape(a) for a in areas if a not in COASTAL_AREAS)
    words = "|".join(re.escape(w) for w in INSTITUTION_WORDS)
    return re.compile(rf"\b(({alt})\s+({words})|University\s+of\s+({alt})|({inland})\s+Beach)\b")


def find_invented_institutions(text: str) -> list[str]:
    """Institutions and places named after a planning area that do not exist: a university or polytechnic
    (``Ang Mo Kio University``), a beach in an inland area (``Bishan Beach``)."""
    return [m.group(0) for m in _institution_pattern().finditer(text)]
