"""Rule checks of a generated narrative against its record. Each failed rule gives a short reason
(``"<rule>: <field>"``); an empty list means the narrative is accepted.

Rules (deliberately conservative: they catch clear contradictions, not style):

- ``parse``: a JSON object with every field; list fields are lists of 3-8 short strings;
- ``length``: every text 40-500 characters;
- ``name``: every persona text names the person (full name, given name, surname + given, or English name);
- ``sex``: in a persona text, pronouns of the other sex outnumber the person's own;
- ``age``: an explicit age (``34-year-old``, ``aged 34``, ``in her thirties``) more than 2 years (or a decade) off;
- ``marital``: a current spouse for someone single, widowed or divorced (``late`` spouses are fine), or
  ``single``/``unmarried`` for someone married;
- ``religion``: an adherent word of another religion (``a devout Muslim`` for a Buddhist);
- ``occupation``: a job for someone not working, or ``retired`` for someone employed;
- ``planning_area``: ``lives in`` / ``living in`` / ``home in`` another planning area;
- ``placeholder``: a text or list item that says nothing (``none``, ``not specified``, ``N/A``);
- ``duplicate``: the same text in two fields, or a list with repeated items;
- ``copy``: a text or list copied from the worked example in the prompt (any run of 10 words in common);
- ``race``: a race named as such (``Chinese woman``, ``Malay heritage``, ``ethnicity``, ``race``), against the
  guardrail to convey heritage through practice.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from persona_assets.core.model.derived import STATUSES
from persona_assets.core.narratives.prompts import EXAMPLE_ANSWER
from persona_assets.core.schema import (
    LIST_FIELDS,
    LLM_FIELDS,
    MAX_ITEM_CHARS,
    MAX_LIST_ITEMS,
    MAX_TEXT_CHARS,
    MIN_LIST_ITEMS,
    MIN_TEXT_CHARS,
    PERSONA_FIELDS,
    TEXT_FIELDS,
)

PRONOUNS = {"Male": r"\b(he|him|his|himself)\b", "Female": r"\b(she|her|hers|herself)\b"}
OTHER = {"Male": "Female", "Female": "Male"}
RELIGION_WORDS = {
    "Buddhism": r"\bbuddhis[tm]s?\b",
    "Taoism": r"\btaois[tm]s?\b",
    "Islam": r"\b(muslims?|islam|islamic)\b",
    "Hinduism": r"\bhindus?\b|\bhinduism\b",
    "Sikhism": r"\bsikhs?\b|\bsikhism\b",
    "Christian": r"\b(christians?|christianity|catholics?|protestants?|methodists?|anglicans?)\b",
}
OWN_RELIGION = {
    "Buddhism": {"Buddhism"},
    "Taoism": {"Taoism", "Buddhism"},
    "Islam": {"Islam"},
    "Hinduism": {"Hinduism"},
    "Sikhism": {"Sikhism"},
    "Catholic": {"Christian"},
    "Other Christians": {"Christian"},
    "Other Religions": set(RELIGION_WORDS),
    "No Religion": set(),
}
NOT_WORKING = set(STATUSES)
JOB = r"\b(works as|working as|employed as|job as|career as a|his job|her job|at (his|her) (office|workplace))\b"
SPOUSE = r"\b(?<!late )(wife|husband|spouse)\b|\bmarried to\b"
RACE = (
    r"\b(chinese|malay|indian|eurasian)\s+(man|woman|person|people|community|heritage|descent|background|"
    r"ethnicity|origin|roots)\b|\b(race|racial|ethnic|ethnicity)\b"
)
PLACEHOLDER = re.compile(
    r"^\W*(none|n/?a|nil|null|unknown|not (specified|applicable|available|mentioned|provided))\b", re.IGNORECASE
)
COPY_WORDS = 10


def _shingles(text: str, n: int = COPY_WORDS) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


EXAMPLE_SHINGLES = set().union(*(_shingles(v) for v in EXAMPLE_ANSWER.values() if isinstance(v, str)))
DECADES = {
    "teens": 10,
    "twenties": 20,
    "thirties": 30,
    "forties": 40,
    "fifties": 50,
    "sixties": 60,
    "seventies": 70,
    "eighties": 80,
    "nineties": 90,
}


def parse_answer(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The JSON object in a model's answer (tolerating a code fence), or an error reason."""
    body = text.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", body, re.DOTALL)
    if fence:
        body = fence.group(1)
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        return None, "parse: no JSON object"
    try:
        obj = json.loads(body[start : end + 1])
    except json.JSONDecodeError as exc:
        return None, f"parse: invalid JSON ({exc.msg})"
    if not isinstance(obj, dict):
        return None, "parse: not an object"
    return obj, None


def _names(record: dict[str, Any]) -> list[str]:
    out = [record.get("full_name"), record.get("first_name"), record.get("preferred_english_name")]
    if record.get("last_name") and record.get("first_name"):
        out.append(f"{record['last_name']} {record['first_name']}")
        out.append(str(record["first_name"]).split()[0])
    return [n.lower() for n in out if isinstance(n, str) and n.strip()]


def _age_reasons(text: str, age: int, field: str) -> list[str]:
    reasons = []
    for m in re.finditer(r"\b(\d{2})[- ]year[- ]old\b|\baged (\d{2})\b|\bage of (\d{2})\b", text):
        stated = int(next(g for g in m.groups() if g))
        if abs(stated - age) > 2:
            reasons.append(f"age: {field}")
    for m in re.finditer(r"\bin (?:his|her|their) (?:early |mid-|mid |late )?(" + "|".join(DECADES) + r")\b", text):
        lo = DECADES[m.group(1)]
        if not lo <= age < lo + 10:
            reasons.append(f"age: {field}")
    return reasons


@cache
def _lives_in_pattern(areas: tuple[str, ...]) -> re.Pattern[str]:
    alt = "|".join(re.escape(a.lower()) for a in sorted(areas, key=len, reverse=True))
    return re.compile(rf"\b(lives in|living in|home in|resident of)\s+({alt})\b")


def validate_narrative(obj: dict[str, Any] | None, record: dict[str, Any], areas: tuple[str, ...] = ()) -> list[str]:
    """Reasons the narrative contradicts its record (empty when it passes every rule)."""
    if obj is None:
        return ["parse: empty"]
    missing = [f for f in LLM_FIELDS if f not in obj]
    if missing:
        return [f"parse: missing {missing[0]}"]
    reasons: list[str] = []
    for f in LIST_FIELDS:
        v = obj[f]
        if not isinstance(v, list) or not all(isinstance(x, str) and 0 < len(x.strip()) <= MAX_ITEM_CHARS for x in v):
            reasons.append(f"parse: {f} is not a list of short strings")
        elif not MIN_LIST_ITEMS <= len(v) <= MAX_LIST_ITEMS:
            reasons.append(f"length: {f}")
        elif len({x.strip().lower() for x in v}) < len(v):
            reasons.append(f"duplicate: {f}")
        elif any(PLACEHOLDER.match(x) for x in v):
            reasons.append(f"placeholder: {f}")
        elif [x.strip().lower() for x in v] == [x.lower() for x in EXAMPLE_ANSWER[f]]:
            reasons.append(f"copy: {f}")
    texts = [obj[f].strip().lower() for f in TEXT_FIELDS if isinstance(obj[f], str)]
    if len(set(texts)) < len(texts):
        reasons.append("duplicate: texts")
    names = _names(record)
    sex = record.get("sex")
    age = int(record.get("age") or 0)
    marital = record.get("marital_status")
    religion = record.get("religion")
    occupation = record.get("occupation")
    area = record.get("planning_area")
    for f in TEXT_FIELDS:
        text = obj[f]
        if not isinstance(text, str):
            reasons.append(f"parse: {f} is not text")
            continue
        low = text.lower()
        if not MIN_TEXT_CHARS <= len(text.strip()) <= MAX_TEXT_CHARS:
            reasons.append(f"length: {f}")
        if PLACEHOLDER.match(text):
            reasons.append(f"placeholder: {f}")
        if _shingles(text) & EXAMPLE_SHINGLES:
            reasons.append(f"copy: {f}")
        if f in PERSONA_FIELDS and names and not any(n in low for n in names):
            reasons.append(f"name: {f}")
        if f in PERSONA_FIELDS and sex in PRONOUNS:
            own = len(re.findall(PRONOUNS[sex], low))
            other = len(re.findall(PRONOUNS[OTHER[sex]], low))
            if other > own:
                reasons.append(f"sex: {f}")
        if age:
            reasons += _age_reasons(low, age, f)
        if marital in ("Single", "Widowed", "Divorced/Separated") and re.search(SPOUSE, low):
            reasons.append(f"marital: {f}")
        if marital == "Married" and re.search(r"\b(is single|unmarried|never married|a bachelor)\b", low):
            reasons.append(f"marital: {f}")
        if religion in OWN_RELIGION:
            allowed = OWN_RELIGION[religion]
            for rel, pattern in RELIGION_WORDS.items():
                if rel not in allowed and re.search(pattern, low):
                    reasons.append(f"religion: {f}")
                    break
        if occupation in NOT_WORKING and re.search(JOB, low):
            reasons.append(f"occupation: {f}")
        if (
            occupation not in NOT_WORKING
            and occupation
            and re.search(r"\b(is retired|has retired|in retirement)\b", low)
        ):
            reasons.append(f"occupation: {f}")
        if areas and any(m.group(2) != str(area).lower() for m in _lives_in_pattern(tuple(areas)).finditer(low)):
            reasons.append(f"planning_area: {f}")
        if re.search(RACE, low):
            reasons.append(f"race: {f}")
    return reasons
