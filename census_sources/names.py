"""Name tokens from the CEA Salesperson register: rules that split a registered name into surname, given names,
father's name and English names, and infer ethnicity and (where the name says it) sex.

Privacy: the register holds real people's names. Only token frequencies and one-way hashes of normalised full
names leave this module (the hashes let the privacy gate check that no synthetic full name equals a registered
one without storing any name); nothing here logs a name.

Rules, in order (``parse_name``):

1. Only the registered name counts: an alias in parentheses is read for English names only; text after a comma
   is an English name (``WANG SOON YEE, LARRY``).
2. Malay: ``BIN`` / ``BINTE`` / ``BTE`` / ``BINTI`` between given names and the father's name → ethnicity Malay;
   ``BIN`` → male, the others → female; unless a Chinese surname opens the name and only single Chinese syllables
   lead up to the marker (``CHAN BIN CHYN GARION``: ``Bin`` is a Chinese given syllable there).
3. Indian: ``S/O`` / ``D/O`` → ethnicity Indian; ``S/O`` → male, ``D/O`` → female.
4. Chinese: a known Chinese surname (the Census 2000 top 20, plus every token that opens at least 5 registered
   names whose other tokens are all romanised Chinese syllables) followed by romanised Chinese syllables
   (``TAN WEI MING``, joined pinyin ``GUO WEIXIAN``). Tokens before the surname, or trailing tokens that are not
   syllables (or that reappear in the alias), are English names (``JASON TAN WEI MING``,
   ``TEO LEE TANG ANGELINA``); so are alias words of 3+ letters that are not part of the registered name
   (``LIM SIEW CHOO (KATE LIM)``). Sex is not inferred (Chinese given syllables do not say it reliably).
5. Anything else is ``unclassified`` (e.g. Indian names without ``S/O``, Eurasian names): counted, not used to
   build the Chinese/Malay/Indian pools.

Faith of Indian name tokens (``classify_faiths``), so that names can agree with religion: the register records no
religion, but Indian names (``S/O``/``D/O``) of Muslims share their Arabic-Islamic names with Malay names, and
98.9% of Malay residents are Muslim (GHS 2015, ``ghs2015_religion_ethnicity``). So:

1. the Muslim vocabulary is every token of at least ``MIN_MALAY_NAMES`` Malay names (given or father);
2. an Indian name is *Muslim* if one of its tokens is in that vocabulary, *Sikh* if it carries ``SINGH`` or
   ``KAUR`` (the Sikh naming convention), else *other* (Hindu, Christian and the rest: the register cannot tell
   them apart);
3. each token of the Indian names is counted per faith of the names it occurs in (rows ``faith_muslim``,
   ``faith_sikh``, ``faith_other``); the name model gives a token the faith of a strict majority of its names
   (``persona_assets/core/names.py``). The rule's precision, measured against hand labels
   (``census_sources/annotations/indian_name_faith.csv``), is in ``docs/names.md``.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

MALAY_MARKERS = {"BIN": "Male", "BINTE": "Female", "BTE": "Female", "BINTI": "Female", "BINTE.": "Female"}
INDIAN_MARKERS = {"S/O": "Male", "D/O": "Female"}

#: Census 2000 top-20 Chinese surnames (dialect romanisation as registered), always treated as surnames.
CENSUS_TOP20 = (
    "TAN",
    "LIM",
    "LEE",
    "NG",
    "ONG",
    "WONG",
    "GOH",
    "CHUA",
    "CHAN",
    "KOH",
    "TEO",
    "ANG",
    "YEO",
    "TAY",
    "HO",
    "LOW",
    "TOH",
    "SIM",
    "CHONG",
    "CHIA",
)

_ONSET = r"(?:chh|ch|sh|zh|ng|ts|hs|th|kh|ph|[bcdfghjklmnpqrstvxz])?"  # pinyin + Hokkien/Hakka/Cantonese
_MEDIAL = r"(?:[wy](?=[aeiou]))?"
_RIME = r"[aeiou]{1,3}"
_CODA = r"(?:ng|ck|n|m|h|k|p|t|w|y)?"
_SYLLABLE = re.compile(rf"{_ONSET}{_MEDIAL}{_RIME}{_CODA}")
_SYLLABLE_FULL = re.compile(
    rf"^(?:{_ONSET}{_MEDIAL}{_RIME}{_CODA}|y[aeiou]{{1,3}}{_CODA}|w[aeiou]{{1,3}}{_CODA}|ng|m)$"
)


def is_syllable(token: str) -> bool:
    return bool(_SYLLABLE_FULL.match(token.lower()))


def chinese_syllables(token: str, max_syllables: int = 3) -> int:
    """Number of romanised Chinese syllables the token splits into (0 if it does not split, or needs more than
    ``max_syllables``). Greedy-with-backtracking segmentation over the syllable pattern."""
    t = token.lower()
    if not t.isalpha():
        return 0

    def seg(i: int, k: int) -> int:
        if i == len(t):
            return k
        if k == max_syllables:
            return 0
        for j in range(len(t), i, -1):
            if is_syllable(t[i:j]):
                r = seg(j, k + 1)
                if r:
                    return r
        return 0

    return seg(0, 0)


_MARKER_FORMS = {"BTE": "BINTE", "BINTI": "BINTE", "BINTE": "BINTE"}


def normalise(name: str) -> str:
    """Upper case, letters, ``/`` and single spaces only (the readable form of a name)."""
    return " ".join(re.sub(r"[^A-Z/ ]+", " ", name.upper()).split())


def compare_key(name: str) -> str:
    """The form the privacy gate compares: letters only, with no spaces or hyphens (``LIM WEI XIAN`` =
    ``Lim Weixian`` = ``LIM WEI-XIAN``) and one spelling per patronymic marker (``BTE``/``BINTI`` = ``BINTE``,
    ``S/O`` = ``SO``)."""
    tokens = normalise(name).replace("/", "").split()
    return "".join(_MARKER_FORMS.get(t, t) for t in tokens)


def name_hash(name: str) -> str:
    return hashlib.sha256(compare_key(name).encode("utf-8")).hexdigest()[:12]


def token_set_hash(name: str) -> str:
    """Order-insensitive hash of a name's tokens without the patronymic markers (near-miss detection)."""
    tokens = sorted(t for t in normalise(name).split() if t not in MALAY_MARKERS and t not in INDIAN_MARKERS)
    return hashlib.sha256(" ".join(tokens).encode("utf-8")).hexdigest()[:12]


@dataclass
class ParsedName:
    ethnicity: str  # Chinese, Malay, Indian or unclassified
    sex: str  # Male, Female or unknown
    rule: str
    surname: list[str] = field(default_factory=list)
    given: list[str] = field(default_factory=list)
    father: list[str] = field(default_factory=list)
    english: list[str] = field(default_factory=list)


def _split(raw: str) -> tuple[list[str], list[str], list[str]]:
    """(main tokens, tokens after a comma, alias tokens)."""
    text = raw.upper()
    alias = " ".join(re.findall(r"\(([^)]*)\)", text))
    main = re.sub(r"\([^)]*\)?", " ", text)
    after_comma: list[str] = []
    if "," in main:
        main, rest = main.split(",", 1)
        after_comma = re.findall(r"[A-Z][A-Z'\-]*", rest)
    tokens = [t for t in re.split(r"\s+", main.strip()) if t]
    tokens = [re.sub(r"[^A-Z/'\-]", "", t) for t in tokens]
    return [t for t in tokens if t], after_comma, re.findall(r"[A-Z][A-Z'\-]*", alias)


def _clean(tokens: Iterable[str]) -> list[str]:
    return [t.strip("'-") for t in tokens if re.fullmatch(r"[A-Z][A-Z'\-]*", t) and len(t.strip("'-")) > 1]


def parse_name(raw: str, chinese_surnames: set[str]) -> ParsedName:
    tokens, comma_english, alias = _split(raw)
    for markers, ethnicity in ((MALAY_MARKERS, "Malay"), (INDIAN_MARKERS, "Indian")):
        idx = next((i for i, t in enumerate(tokens) if t in markers), None)
        # A Chinese surname, then single syllables up to "BIN" is a Chinese name (CHAN BIN CHYN GARION)
        if (
            idx is not None
            and ethnicity == "Malay"
            and tokens[0] in chinese_surnames
            and all(chinese_syllables(t) == 1 for t in tokens[: idx + 1])
        ):
            break
        if idx is not None and 0 < idx < len(tokens) - 1:
            return ParsedName(
                ethnicity,
                markers[tokens[idx]],
                f"{ethnicity.lower()}-marker",
                given=_clean(tokens[:idx]),
                father=_clean(tokens[idx + 1 :]),
                english=_clean(comma_english),
            )
    alias_set = set(alias) if not set(tokens) <= set(alias) else set()  # an alias repeating the name says nothing
    pos = next((i for i, t in enumerate(tokens[:3]) if t in chinese_surnames), None)
    if pos is not None:
        before, after = tokens[:pos], tokens[pos + 1 :]
        # before the surname: English names are words that are not Chinese syllables, or that need two or more
        # syllables (JASON, KAREN), or that the alias repeats; a lone syllable there means the rule does not apply
        english = [t for t in before if chinese_syllables(t) != 1 or t in alias_set]
        if len(english) == len(before) and after:
            given: list[str] = []
            trailing: list[str] = []
            for t in after:
                n_syll = chinese_syllables(t)
                is_english = (
                    not n_syll
                    or (t in alias_set and t not in tokens[: pos + 1] and given)
                    or (len(given) >= 2 and n_syll >= 2)
                    or trailing
                )
                (trailing if is_english else given).append(t)
            if given and all(chinese_syllables(g) for g in given):
                # English names in the alias: tokens of 3+ letters not in the registered name nor a piece of it
                # (``(KATE LIM)`` gives KATE; ``(LIWEN TEO)`` for TEO LI WEN gives nothing)
                joined = "".join(tokens)
                from_alias = [t for t in alias_set - set(tokens) if len(t) >= 3 and t not in joined]
                found = english + trailing + comma_english
                found += sorted(t for t in from_alias if t not in found)
                return ParsedName(
                    "Chinese",
                    "unknown",
                    "chinese-surname",
                    surname=[tokens[pos]],
                    given=_clean(given),
                    english=_clean(found),
                )
    cleaned = _clean(tokens)
    return ParsedName(
        "unclassified",
        "unknown",
        "unclassified",
        surname=cleaned[-1:] if len(cleaned) > 1 else [],
        given=cleaned[:-1] if len(cleaned) > 1 else cleaned,
        english=_clean(comma_english),
    )


def derive_chinese_surnames(names: Iterable[str], min_names: int = 5) -> set[str]:
    """Census top 20 plus first tokens of at least ``min_names`` names made only of Chinese syllables."""
    counts: Counter[str] = Counter()
    for raw in names:
        tokens, _, _ = _split(raw)
        if (
            len(tokens) >= 2
            and not any(t in MALAY_MARKERS or t in INDIAN_MARKERS for t in tokens)
            and all(chinese_syllables(t) for t in tokens)
            and is_syllable(tokens[0])
        ):
            counts[tokens[0]] += 1
    return set(CENSUS_TOP20) | {t for t, c in counts.items() if c >= min_names}


#: Names a token must open or close among the Malay names to join the Muslim vocabulary.
MIN_MALAY_NAMES = 2
SIKH_TOKENS = frozenset({"SINGH", "KAUR"})
FAITHS = ("muslim", "sikh", "other")
#: Token positions, plus count rows: ``given_count``/``father_count`` (tokens per name), ``has_english`` (names
#: with an English name; token "yes"/"no"), ``rule`` (names parsed by each rule) and ``faith_<faith>`` (a token's
#: occurrences in Indian names of each faith, see ``classify_faiths``).
POSITIONS = (
    "surname",
    "given",
    "father",
    "english",
    "given_count",
    "father_count",
    "has_english",
    "rule",
    *(f"faith_{f}" for f in FAITHS),
)


def classify_faiths(parsed: list[ParsedName]) -> list[str | None]:
    """The faith of each Indian name (``muslim``, ``sikh`` or ``other``; None for other names), by the rule in the
    module docstring."""
    malay = Counter(t for p in parsed if p.ethnicity == "Malay" for t in set(p.given + p.father))
    vocabulary = {t for t, c in malay.items() if c >= MIN_MALAY_NAMES}
    out: list[str | None] = []
    for p in parsed:
        if p.ethnicity != "Indian":
            out.append(None)
            continue
        tokens = set(p.given + p.father)
        out.append("muslim" if tokens & vocabulary else "sikh" if tokens & SIKH_TOKENS else "other")
    return out


def register_tokens(names: list[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Token counts by (position, ethnicity, sex, token) and the rules' coverage counts."""
    surnames = derive_chinese_surnames(names)
    counts: Counter[tuple[str, str, str, str]] = Counter()
    coverage: Counter[str] = Counter()
    parsed = [parse_name(raw, surnames) for raw in names]
    for p, faith in zip(parsed, classify_faiths(parsed), strict=True):
        if faith:
            for t in p.given + p.father:
                counts[(f"faith_{faith}", p.ethnicity, "unknown", t.title())] += 1
    for p in parsed:
        coverage[p.rule] += 1
        for position, toks in (
            ("surname", p.surname),
            ("given", p.given),
            ("father", p.father),
            ("english", p.english),
        ):
            for t in toks:
                counts[(position, p.ethnicity, p.sex, t.title())] += 1
        if p.given:
            counts[("given_count", p.ethnicity, p.sex, str(len(p.given)))] += 1
        if p.father:
            counts[("father_count", p.ethnicity, p.sex, str(len(p.father)))] += 1
        counts[("has_english", p.ethnicity, p.sex, "yes" if p.english else "no")] += 1
        counts[("rule", p.ethnicity, p.sex, p.rule)] += 1
    df = pd.DataFrame(
        [
            {"position": k[0], "ethnicity": k[1], "sex": k[2], "token": k[3], "count": v}
            for k, v in sorted(counts.items())
        ]
    )
    return df, dict(coverage)


def register_hashes(names: list[str]) -> pd.DataFrame:
    """Hashes of every registered full-name form and of each name's token set (near misses).

    Forms per registered name: the registered name; the Chinese part before a comma and English name + Chinese
    part; the alias; and, from the parsing rules, the name without its English names (``JASON TAN WEI MING`` →
    ``TAN WEI MING``), each English name + that core, and given + marker + father for Malay and Indian names.
    Compared by ``compare_key`` (case, spacing, hyphens and marker spellings do not matter).

    These digests are *pseudonymous, not anonymous*: the register is public and a dictionary of likely names
    recovers many of them. They exist so that no name has to be stored, not to hide who is in the register.
    """
    surnames = derive_chinese_surnames(names)
    full: set[str] = set()
    token_sets: set[str] = set()
    for raw in names:
        text = raw.upper()
        main = re.sub(r"\([^)]*\)?", " ", text)
        forms = {main}
        if "," in main:
            chinese, english = main.split(",", 1)
            forms |= {chinese, f"{english} {chinese}"}
        forms |= set(re.findall(r"\(([^)]*)\)", text))
        p = parse_name(raw, surnames)
        if p.ethnicity == "Chinese":
            core = " ".join(p.surname + p.given)
            forms.add(core)
            forms |= {f"{e} {core}" for e in p.english} | {f"{core} {e}" for e in p.english}
        elif p.ethnicity in ("Malay", "Indian") and p.given and p.father:
            marker = {"Malay": {"Male": "BIN", "Female": "BINTE"}, "Indian": {"Male": "S/O", "Female": "D/O"}}
            forms.add(f"{' '.join(p.given)} {marker[p.ethnicity][p.sex]} {' '.join(p.father)}")
        for f in forms:
            if compare_key(f):
                full.add(name_hash(f))
                token_sets.add(token_set_hash(f))
    rows = [{"kind": "full_name", "hash": h, "count": 1} for h in sorted(full)]
    rows += [{"kind": "token_set", "hash": h, "count": 1} for h in sorted(token_sets)]
    return pd.DataFrame(rows)


def read_register_names(path) -> list[str]:  # noqa: ANN001 - Path
    """The ``salesperson_name`` column of the CEA register, strictly (file, row and column named on errors)."""
    from census_sources.errors import SourceTableError
    from census_sources.readers import check_width, read_csv_rows

    rows = read_csv_rows(path)
    header = [c.strip() for c in rows[0]]
    if "salesperson_name" not in header:
        raise SourceTableError(path, "missing column 'salesperson_name'", row=1, column="salesperson_name")
    idx = header.index("salesperson_name")
    names = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        check_width(row, header, file=path, line=n)
        if not row[idx].strip():
            raise SourceTableError(path, "empty name", row=n, column="salesperson_name")
        names.append(row[idx].strip())
    if not names:
        raise SourceTableError(path, "no names", row=2)
    return names
