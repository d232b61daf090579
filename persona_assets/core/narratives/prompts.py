"""Versioned prompt templates, in two profiles.

- ``compact`` (small local models, e.g. the embedded 1.5B model): the record's facts without ethnicity, the Big
  Five as labels, one concrete sentence per text, and one worked example, rotated per record by a seeded choice
  (``examples.py``). A repair of a text that copied or was anchored to the example is asked for *without* the
  example: on 78 records of version 1 (which repaired with it) the 1.5B model pasted the same example back, up to
  four times (``copy``/``anchor``: 110 of 180 answers' rejections, 6 of the 10 failed records). Version 2 showed
  no example at all: the texts then restated the facts as labels ("a 42-year-old female homemaker living in HDB
  3-Room Flats", "his big five personality traits"), so version 3 shows the example again.
- ``full`` (capable endpoints), after NVIDIA's published recipe for Nemotron-Personas: every fact including
  ethnicity (never to be named, only shown through practice), the Big Five as descriptive sentences rather than
  labels, "be specific; include a quirk or a habit", persona texts of 1-3 sentences and attribute texts of a
  paragraph; no worked example.

Both state what each of the 13 fields is about (the record schema's descriptions, ``core/schema.py``) in the
system prompt and as the answer schema's ``description``s. Each profile has its own text bounds, used by the
answer schema and the validator. The profile is chosen by model (``select_profile``; ``NarrativeLLM`` can
override it).

Versions: ``PROMPT_VERSION`` covers what the profiles share (the field meanings, the facts block, the repair
request); each profile has its own ``version``; ``PromptProfile.prompt_version`` joins them. That string feeds
the cache key, the narratives' ``prompt_version`` column and the asset's code version: change the shared version
or a profile's version whenever its templates, schema or guardrails change.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from persona_assets.core.narratives.examples import choose_example
from persona_assets.core.schema import (
    ATTRIBUTE_FIELDS,
    FIELDS,
    LIST_FIELDS,
    LLM_FIELDS,
    MAX_ITEM_CHARS,
    MAX_LIST_ITEMS,
    MAX_TEXT_CHARS,
    MIN_ITEM_CHARS,
    MIN_LIST_ITEMS,
    MIN_TEXT_CHARS,
    PERSONA_FIELDS,
    TEXT_FIELDS,
)

PROMPT_VERSION = "2026-12-10.1"

#: Record fields the ``compact`` prompt uses (the record's own names, so the validator and the test server can
#: read them back). Ethnicity is deliberately left out: name, religion and language carry the heritage, and a
#: small model is less tempted to name a race.
COMPACT_FACTS = (
    "full_name",
    "first_name",
    "preferred_english_name",
    "age",
    "sex",
    "marital_status",
    "religion",
    "language_at_home",
    "education_level",
    "labour_force_status",
    "occupation",
    "industry",
    "planning_area",
    "dwelling_type",
    "life_stage",
    "big_five",
)
#: The ``full`` prompt: every context fact a writer can use, ethnicity included (NVIDIA's recipe).
FULL_FACTS = (
    "full_name",
    "first_name",
    "preferred_english_name",
    "age",
    "sex",
    "ethnicity",
    "marital_status",
    "religion",
    "language_at_home",
    "education_level",
    "labour_force_status",
    "occupation",
    "industry",
    "monthly_income_band",
    "planning_area",
    "subzone",
    "dwelling_type",
    "digital_familiarity",
    "life_stage",
    "big_five",
)

#: The Big Five as descriptive sentences (``full``): what each trait's band looks like in a person.
BIG_FIVE_SENTENCES: dict[str, dict[str, str]] = {
    "openness": {
        "very low": "strongly prefers the familiar, the practical and the proven",
        "low": "is conventional and down to earth, wary of novelty",
        "average": "is open to new things when they are useful, without chasing them",
        "high": "is curious, imaginative and keen on new ideas and experiences",
        "very high": "is intensely curious, inventive and restless for new ideas, art and experiences",
    },
    "conscientiousness": {
        "very low": "is spontaneous and disorganised, and often leaves things to the last minute",
        "low": "is easy-going about plans and deadlines",
        "average": "is reasonably organised and reliable",
        "high": "is organised, dependable and careful",
        "very high": "is meticulous, disciplined and plans everything ahead",
    },
    "extraversion": {
        "very low": "is very reserved and recharges alone",
        "low": "is quiet and prefers small groups",
        "average": "is sociable in company and content alone",
        "high": "is outgoing, talkative and energised by people",
        "very high": "is exuberant, loves a crowd and is rarely without company",
    },
    "agreeableness": {
        "very low": "is blunt, sceptical and competitive",
        "low": "is frank and not easily swayed, and puts their own views first",
        "average": "is cooperative but can stand their ground",
        "high": "is warm, considerate and trusting",
        "very high": "is exceptionally kind and accommodating, sometimes to a fault",
    },
    "neuroticism": {
        "very low": "is unflappable and calm under pressure",
        "low": "is generally calm and steady",
        "average": "feels ordinary ups and downs",
        "high": "worries easily and feels stress keenly",
        "very high": "is highly anxious and easily upset",
    },
}

#: What every profile asks, whatever its style.
COMMON_RULES = (
    "Use the person's name in every persona text; each text must stand alone.",
    "Convey cultural heritage only through practice (language at home, food, festivals, faith, customs), never by "
    "naming a race or ethnic group.",
    "Respect every fact: age, sex, marital status, religion, education, occupation or status, planning area and "
    "dwelling. Do not invent a spouse for someone single, widowed or divorced; do not give a job to someone not "
    "working, nor another profession to someone working: cooking, sport, the arts and travel are pastimes here.",
    "Keep life events possible at the person's age (children, grandchildren, retirement, years of work).",
    "The person lives in Singapore: trips go abroad, outings stay in Singapore, and Singapore has no small towns "
    "or villages. Name only real places and institutions, spelt correctly.",
    "Never write 'none', 'not specified' or a placeholder.",
)


def _field_lines() -> str:
    return "\n".join(f"- {f}: {FIELDS[f].description}" for f in LLM_FIELDS)


@dataclass(frozen=True)
class PromptProfile:
    """One prompt style: its facts, its instructions, its text bounds and whether it shows a worked example."""

    name: str
    version: str
    intro: str
    style: tuple[str, ...]
    facts: tuple[str, ...]
    persona_chars: tuple[int, int]
    attribute_chars: tuple[int, int]
    list_items: tuple[int, int]
    big_five_as_sentences: bool
    shows_example: bool

    @property
    def prompt_version(self) -> str:
        """The version string of this profile's prompts (shared version + profile version)."""
        return f"{PROMPT_VERSION}+{self.name}.{self.version}"

    def text_bounds(self, field: str) -> tuple[int, int]:
        """(min, max) characters of a text field under this profile."""
        return self.persona_chars if field in PERSONA_FIELDS else self.attribute_chars

    def system_prompt(self) -> str:
        lines = [
            self.intro,
            *COMMON_RULES,
            *self.style,
            "Answer with one JSON object with exactly these keys: " + ", ".join(LLM_FIELDS) + ".",
            "What each key is about:",
            _field_lines(),
        ]
        return "\n".join(lines)

    def answer_schema(self, fields: list[str] | tuple[str, ...] = LLM_FIELDS) -> dict[str, Any]:
        """The answer's JSON schema (with each field's meaning as its ``description``), restricted to ``fields``
        (a repair asks for some fields only). The embedded model is constrained to it by a llama.cpp grammar."""
        lo, hi = self.list_items
        props: dict[str, Any] = {}
        for f in [*(f for f in TEXT_FIELDS if f in fields), *(f for f in LIST_FIELDS if f in fields)]:
            if f in LIST_FIELDS:
                props[f] = {
                    "type": "array",
                    "description": FIELDS[f].description,
                    "items": {"type": "string", "minLength": MIN_ITEM_CHARS, "maxLength": MAX_ITEM_CHARS},
                    "minItems": lo,
                    "maxItems": hi,
                }
            else:
                tlo, thi = self.text_bounds(f)
                props[f] = {"type": "string", "description": FIELDS[f].description, "minLength": tlo, "maxLength": thi}
        required = [f for f in LLM_FIELDS if f in props]
        return {"type": "object", "properties": props, "required": required, "additionalProperties": False}

    def length_hint(self) -> str:
        (plo, phi), (alo, ahi), (llo, lhi) = self.persona_chars, self.attribute_chars, self.list_items
        if self.persona_chars == self.attribute_chars:
            return f"one sentence of {plo} to {phi} characters; lists of {llo} to {lhi} items"
        return (
            f"persona texts of 1 to 3 sentences ({plo}-{phi} characters), attribute texts of one paragraph "
            f"({alo}-{ahi} characters); lists of {llo} to {lhi} items"
        )


COMPACT = PromptProfile(
    name="compact",
    version="3",
    intro="Write in English about one fictional resident of Singapore described by the facts below.",
    style=(
        "Write each text as one concrete sentence (at most 35 words) about this person's own life in Singapore, "
        "in your own words: the example shows the format only, never reuse its details. Begin each persona text "
        "with the person's name. Lists hold 3 to 6 distinct short items.",
    ),
    facts=COMPACT_FACTS,
    persona_chars=(MIN_TEXT_CHARS, 500),
    attribute_chars=(MIN_TEXT_CHARS, 500),
    list_items=(MIN_LIST_ITEMS, MAX_LIST_ITEMS),
    big_five_as_sentences=False,
    shows_example=True,
)

FULL = PromptProfile(
    name="full",
    version="1",
    intro="You write the persona of one fictional resident of Singapore for a synthetic persona dataset. The "
    "FACTS below are true of the person; ethnicity is given so that the person is believable, never to be "
    "named. The personality is described in words: let it show in what the person does and how, without naming "
    "traits or levels.",
    style=(
        "Be specific: concrete routines, places in and around their neighbourhood, dishes, objects and "
        "activities; include a quirk or a habit. Avoid generic phrases and clichés.",
        "Persona texts (" + ", ".join(PERSONA_FIELDS) + "): 1 to 3 sentences each, each naming the person. "
        "Attribute texts (" + ", ".join(f for f in ATTRIBUTE_FIELDS if f in TEXT_FIELDS) + "): one paragraph "
        "of 3 to 5 sentences each. Lists: 3 to 8 short, distinct items.",
    ),
    facts=FULL_FACTS,
    persona_chars=(80, 800),
    attribute_chars=(150, MAX_TEXT_CHARS),
    list_items=(MIN_LIST_ITEMS, MAX_LIST_ITEMS),
    big_five_as_sentences=True,
    shows_example=False,
)

PROFILES: dict[str, PromptProfile] = {p.name: p for p in (COMPACT, FULL)}
#: Whether retired prompt versions showed a worked example rotated per record (``choose_example``): the report needs
#: it to measure the anchoring of narratives written under them (current versions: ``PromptProfile.shows_example``).
RETIRED_SHOWS_EXAMPLE = {"2026-12-10.1+compact.1": True, "2026-12-10.1+compact.2": False}
#: Models below this many parameters (billions, read from the model string) get the ``compact`` profile.
SMALL_MODEL_PARAMS_B = 7.0
_SIZE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)([bm])(?![a-z])")


def is_small_model(model: str) -> bool:
    """A small local model: the embedded provider (``local/…``), or a model string naming a size below
    ``SMALL_MODEL_PARAMS_B`` (``qwen2.5-coder-1.5b-instruct``, ``gemma-3-270m``). A model string without a size
    (``gpt-4o-mini``) is taken to be a capable endpoint."""
    name = model.lower()
    if name.startswith("local/"):
        return True
    sizes = [float(n) * (1.0 if unit == "b" else 0.001) for n, unit in _SIZE.findall(name)]
    return bool(sizes) and max(sizes) < SMALL_MODEL_PARAMS_B


def select_profile(model: str, override: str = "") -> PromptProfile:
    """The profile for ``model``: ``override`` when given (``compact`` or ``full``), else ``compact`` for small
    models and ``full`` for the rest."""
    if override:
        if override not in PROFILES:
            raise ValueError(f"unknown prompt profile {override!r}; choose one of {sorted(PROFILES)}")
        return PROFILES[override]
    return COMPACT if is_small_model(model) else FULL


def describe_personality(big_five: dict[str, Any]) -> str:
    """The Big Five as sentences (``full``): "Curious, imaginative …; organised, dependable …"."""
    parts = []
    for trait, value in big_five.items():
        label = value.get("label") if isinstance(value, dict) else value
        sentence = BIG_FIVE_SENTENCES.get(trait, {}).get(str(label))
        if sentence:
            parts.append(sentence)
    return ("The person " + "; ".join(parts) + ".") if parts else ""


def facts_of(record: dict[str, Any], profile: PromptProfile = COMPACT) -> dict[str, Any]:
    """The record's facts as the prompt states them (``None`` values left out)."""
    facts = {k: record.get(k) for k in profile.facts}
    b5 = facts.pop("big_five", None)
    if isinstance(b5, dict):
        if profile.big_five_as_sentences:
            facts["personality"] = describe_personality(b5)
        else:
            facts["big_five"] = {t: v.get("label") if isinstance(v, dict) else v for t, v in b5.items()}
    return {k: v for k, v in facts.items() if v is not None and v != ""}


def _facts_json(record: dict[str, Any], profile: PromptProfile) -> str:
    return json.dumps(facts_of(record, profile), ensure_ascii=False, sort_keys=True, default=str)


def render_messages(
    record: dict[str, Any], profile: PromptProfile = COMPACT, with_example: bool = True
) -> list[dict[str, str]]:
    """Chat messages: the profile's system prompt, its worked example (``compact``: one per record, a seeded
    choice; left out with ``with_example=False``) as a user/assistant turn, then the record's facts. (Base models
    get the same messages flattened into a continuation prompt by the local provider.)"""
    messages = [{"role": "system", "content": profile.system_prompt()}]
    if profile.shows_example and with_example:
        example = choose_example(str(record.get("uuid", record.get("full_name", ""))))
        messages += [
            {"role": "user", "content": f"FACTS: {_facts_json(example.record, profile)}\nWrite the JSON object now."},
            {"role": "assistant", "content": json.dumps(example.answer, ensure_ascii=False)},
        ]
    messages.append({"role": "user", "content": f"FACTS: {_facts_json(record, profile)}\nWrite the JSON object now."})
    return messages


def field_of(reason: str) -> str | None:
    """The field a validation reason names (``"marital: family_persona"`` → ``family_persona``), if any."""
    tail = reason.split(":", 1)[1].strip() if ":" in reason else ""
    return tail if tail in LLM_FIELDS else None


def repair_hint(rule: str, record: dict[str, Any], profile: PromptProfile = COMPACT) -> str:
    """What a broken rule means for this record, in words a small model can act on."""
    name = record.get("preferred_english_name") or record.get("full_name")
    pron = {"Male": "he/him/his", "Female": "she/her"}.get(str(record.get("sex")), "they")
    occupation, industry = record.get("occupation"), record.get("industry")
    work = f"{occupation} in {industry}" if industry else f"{occupation}"
    marital = str(record.get("marital_status", "")).lower()
    hints = {
        "name": f"mention {name} by name",
        "sex": f"the person is {str(record.get('sex', '')).lower()}: use {pron}",
        "age": f"the person is {record.get('age')} years old",
        "marital": f"the person is {marital}"
        if marital == "married"
        else f"do not mention a wife, husband or spouse (the person is {marital})",
        "religion": f"the person's religion is {record.get('religion')}: do not describe another faith",
        "occupation": f"the person's occupation or status is {occupation}",
        "profession": f"the person's work is {work}: describe this field as a pastime, not a job",
        "life_event": f"the person is {record.get('age')}: only life events possible at that age",
        "travel": "the person lives in Singapore: trips go abroad, and Singapore has no small towns",
        "place": "name only real Singapore places and institutions, spelt correctly",
        "education": f"the person's highest qualification is {record.get('education_level')}: no degree or "
        "university beyond it",
        "dwelling": f"the person lives in {record.get('dwelling_type')}",
        "planning_area": f"the person lives in {record.get('planning_area')}",
        "race": "do not name a race or ethnic group; show heritage through food, festivals, language or faith",
        "copy": "do not reuse the example's wording",
        "anchor": "write about this person's own life, not the example's: none of its details",
        "placeholder": "write real content, never 'none' or 'not specified'",
        "length": profile.length_hint(),
        "duplicate": "every text and list item must be different",
        # the engine's revision pass (repeats.py), not a check of one record: a new hint for a new reason changes
        # no request of this version, so the cached calls stay valid
        "near_duplicate": "another resident's text reads almost the same: write what is particular to this person",
    }
    return hints.get(rule, "follow the rules")


def render_repair_messages(
    record: dict[str, Any], fields: list[str], reasons: list[str], profile: PromptProfile = COMPACT
) -> list[dict[str, str]]:
    """The original conversation with its last request narrowed to the fields that broke a rule, saying what
    each broken rule means for this record. The rejected answer is *not* shown: small models copy it back.
    Everything up to the facts is identical to the first request, so a local model reuses its cached prefix --
    except after a ``copy`` or ``anchor`` rejection, when the worked example is left out (shown it again, a small
    model pastes it again)."""
    per_field: dict[str, list[str]] = {}
    for r in reasons:
        f = field_of(r)
        if f:
            hint = repair_hint(r.split(":", 1)[0].strip(), record, profile)
            if hint not in per_field.setdefault(f, []):
                per_field[f].append(hint)
    problems = "; ".join(f"{f}: {', '.join(h)}" for f, h in per_field.items())
    copied = any(r.split(":", 1)[0].strip() in ("copy", "anchor") for r in reasons)
    messages = render_messages(record, profile, with_example=not copied)
    messages[-1] = {
        "role": "user",
        "content": f"FACTS: {_facts_json(record, profile)}\nWrite a JSON object with only these keys: "
        f"{', '.join(fields)}. Take care ({problems}); use your own words, true to the FACTS.",
    }
    return messages


def read_facts(messages: list[dict[str, str]]) -> dict[str, Any]:
    """The record's facts block back from rendered messages (the last one; an earlier one may be a worked
    example). Used by the test server to answer in character."""
    for m in reversed(messages):
        if m.get("role") == "user" and m.get("content", "").startswith("FACTS: "):
            return json.loads(m["content"][len("FACTS: ") :].split("\n", 1)[0])
    raise ValueError("no FACTS block in the messages")


def request_key(
    model: str, messages: list[dict[str, str]], params: dict[str, Any], attempt: int, prompt_version: str
) -> str:
    """Cache key: model, the profile's prompt version, prompt, sampling parameters and the resample attempt (its
    seed)."""
    payload = json.dumps(
        {"model": model, "prompt_version": prompt_version, "messages": messages, "params": params, "attempt": attempt},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
