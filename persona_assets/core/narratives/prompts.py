"""Versioned prompt templates. ``PROMPT_VERSION`` feeds the cache key and the asset's code version: change it
whenever a template, the schema or the guardrails change."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from persona_assets.core.schema import (
    LIST_FIELDS,
    LLM_FIELDS,
    MAX_ITEM_CHARS,
    MAX_LIST_ITEMS,
    MAX_TEXT_CHARS,
    MIN_ITEM_CHARS,
    MIN_LIST_ITEMS,
    MIN_TEXT_CHARS,
    TEXT_FIELDS,
)

PROMPT_VERSION = "2026-11-25.4"

#: The answer's JSON schema: the 13 LLM fields of the record schema with its length bounds (the embedded model is
#: constrained to it with a llama.cpp grammar).
NARRATIVE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **{f: {"type": "string", "minLength": MIN_TEXT_CHARS, "maxLength": MAX_TEXT_CHARS} for f in TEXT_FIELDS},
        **{
            f: {
                "type": "array",
                "items": {"type": "string", "minLength": MIN_ITEM_CHARS, "maxLength": MAX_ITEM_CHARS},
                "minItems": MIN_LIST_ITEMS,
                "maxItems": MAX_LIST_ITEMS,
            }
            for f in LIST_FIELDS
        },
    },
    "required": list(LLM_FIELDS),
    "additionalProperties": False,
}

GUARDRAILS = (
    "Write in English about one fictional resident of Singapore described by the facts below.",
    "Use the person's name in every persona text; each text must stand alone.",
    "Convey cultural heritage through practices (food, festivals, language at home, faith), never by naming a race "
    "or ethnic group.",
    "Respect every fact: age, sex, marital status, religion, occupation or status, and planning area. Do not invent "
    "a spouse for someone single, widowed or divorced; do not give a job to someone not working.",
    "Write each text as one concrete sentence (at most 35 words) about this person's own life in Singapore, "
    "in your own words; never write 'none' or 'not specified'. Lists hold 3 to 6 distinct short items.",
    "Answer with one JSON object with exactly these keys: " + ", ".join(LLM_FIELDS) + ".",
)

#: Record fields every prompt uses (the record's own names, so the validator and the server can read them back).
PROMPT_FACTS = (
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


def facts_of(record: dict[str, Any]) -> dict[str, Any]:
    facts = {k: record.get(k) for k in PROMPT_FACTS}
    b5 = facts.get("big_five")
    if isinstance(b5, dict):
        facts["big_five"] = {t: v.get("label") if isinstance(v, dict) else v for t, v in b5.items()}
    return {k: v for k, v in facts.items() if v is not None}


#: One worked example (a fictional resident, written for this project) shown before every request: small
#: instruction-tuned models follow an example far better than a description of the format. It must pass the
#: validator against ``EXAMPLE_RECORD`` (tested).
EXAMPLE_RECORD: dict[str, Any] = {
    "full_name": "Goh Kok Wei",
    "first_name": "Kok Wei",
    "last_name": "Goh",
    "preferred_english_name": "Kelvin",
    "age": 47,
    "sex": "Male",
    "marital_status": "Married",
    "religion": "Taoism",
    "language_at_home": "Chinese",
    "education_level": "Secondary",
    "labour_force_status": "Employed",
    "occupation": "Plant & Machine Operators & Assemblers",
    "industry": "Transportation & Storage",
    "planning_area": "Jurong West",
    "dwelling_type": "HDB 4-Room Flats",
    "life_stage": "mid-career",
    "big_five": {
        "openness": "low",
        "conscientiousness": "high",
        "extraversion": "average",
        "agreeableness": "high",
        "neuroticism": "low",
    },
}
EXAMPLE_ANSWER: dict[str, Any] = {
    "persona": "Kelvin Goh Kok Wei is a steady crane operator from Jurong West who likes routines, keeps his "
    "promises and rarely loses his temper.",
    "professional_persona": "Kelvin Goh operates a quay crane at the port, where his careful checklists have made "
    "him the operator new hires are paired with.",
    "sports_persona": "Kok Wei walks round Jurong Lake Gardens most evenings and plays badminton at the community "
    "centre on Sundays.",
    "arts_persona": "Kelvin Goh enjoys getai shows during the seventh lunar month and hums old Hokkien songs while "
    "he cooks.",
    "travel_persona": "Goh Kok Wei prefers short, well-planned trips, like the yearly family drive to Malacca.",
    "culinary_persona": "Kelvin Goh is proud of his peppery bak kut teh and knows the best fishball noodle stall "
    "near his block.",
    "family_persona": "Kok Wei and his wife share a four-room flat with their two teenage sons and visit his "
    "mother every Sunday.",
    "cultural_background": "Kok Wei's late grandmother taught him Hokkien and the Qing Ming rites; he still burns "
    "joss paper for her at the columbarium each April.",
    "skills_and_expertise": "Crane and forklift operation, strict safety procedures and practical troubleshooting "
    "of hydraulic faults.",
    "skills_and_expertise_list": ["crane operation", "forklift licence", "safety checklists"],
    "hobbies_and_interests": "Evening walks, weekend badminton, cooking soups and following Premier League football.",
    "hobbies_and_interests_list": ["badminton", "evening walks", "cooking soups"],
    "career_goals_and_ambitions": "He wants to be trusted with training the port's new operators, and to take the "
    "family to Taiwan once the boys finish school.",
}


def _facts_json(record: dict[str, Any]) -> str:
    return json.dumps(facts_of(record), ensure_ascii=False, sort_keys=True, default=str)


def render_messages(record: dict[str, Any]) -> list[dict[str, str]]:
    """Chat messages: guardrails, the worked example as one user/assistant turn, then the record's facts.
    (Base models get the same messages flattened into a continuation prompt by the local provider.)"""
    return [
        {"role": "system", "content": " ".join(GUARDRAILS)},
        {"role": "user", "content": f"FACTS: {_facts_json(EXAMPLE_RECORD)}\nWrite the JSON object now."},
        {"role": "assistant", "content": json.dumps(EXAMPLE_ANSWER, ensure_ascii=False)},
        {"role": "user", "content": f"FACTS: {_facts_json(record)}\nWrite the JSON object now."},
    ]


def field_of(reason: str) -> str | None:
    """The field a validation reason names (``"marital: family_persona"`` → ``family_persona``), if any."""
    tail = reason.split(":", 1)[1].strip() if ":" in reason else ""
    return tail if tail in LLM_FIELDS else None


def repair_schema(fields: list[str]) -> dict[str, Any]:
    """The answer schema restricted to ``fields``."""
    return {
        **NARRATIVE_SCHEMA,
        "properties": {f: NARRATIVE_SCHEMA["properties"][f] for f in fields},
        "required": list(fields),
    }


def repair_hint(rule: str, record: dict[str, Any]) -> str:
    """What a broken rule means for this record, in words a small model can act on."""
    name = record.get("preferred_english_name") or record.get("full_name")
    pron = {"Male": "he/him/his", "Female": "she/her"}.get(str(record.get("sex")), "they")
    hints = {
        "name": f"mention {name} by name",
        "sex": f"the person is {str(record.get('sex', '')).lower()}: use {pron}",
        "age": f"the person is {record.get('age')} years old",
        "marital": f"the person is {str(record.get('marital_status', '')).lower()}"
        + ("" if record.get("marital_status") == "Married" else ": no wife, husband or spouse"),
        "religion": f"the person's religion is {record.get('religion')}: do not describe another faith",
        "occupation": f"the person's occupation or status is {record.get('occupation')}",
        "planning_area": f"the person lives in {record.get('planning_area')}",
        "race": "do not name a race or ethnic group; show heritage through food, festivals, language or faith",
        "copy": "do not reuse the example's wording",
        "placeholder": "write real content, never 'none' or 'not specified'",
        "length": "one sentence of 40 to 300 characters; lists of 3 to 6 items",
        "duplicate": "every text and list item must be different",
    }
    return hints.get(rule, "follow the rules")


def render_repair_messages(record: dict[str, Any], fields: list[str], reasons: list[str]) -> list[dict[str, str]]:
    """The original conversation with its last request narrowed to the fields that broke a rule, saying what
    each broken rule means for this record. The rejected answer is *not* shown: small models copy it back.
    Everything up to the facts is identical to the first request, so a local model reuses its cached prefix."""
    per_field: dict[str, list[str]] = {}
    for r in reasons:
        f = field_of(r)
        if f:
            hint = repair_hint(r.split(":", 1)[0].strip(), record)
            if hint not in per_field.setdefault(f, []):
                per_field[f].append(hint)
    problems = "; ".join(f"{f}: {', '.join(h)}" for f, h in per_field.items())
    messages = render_messages(record)
    messages[-1] = {
        "role": "user",
        "content": f"FACTS: {_facts_json(record)}\nWrite a JSON object with only these keys: {', '.join(fields)}. "
        f"Take care ({problems}); use your own words, true to the FACTS.",
    }
    return messages


def read_facts(messages: list[dict[str, str]]) -> dict[str, Any]:
    """The record's facts block back from rendered messages (the last one; the first is the worked example).
    Used by the test server to answer in character."""
    for m in reversed(messages):
        if m.get("role") == "user" and m.get("content", "").startswith("FACTS: "):
            return json.loads(m["content"][len("FACTS: ") :].split("\n", 1)[0])
    raise ValueError("no FACTS block in the messages")


def request_key(model: str, messages: list[dict[str, str]], params: dict[str, Any], attempt: int) -> str:
    """Cache key: model, prompt version, prompt, sampling parameters and the resample attempt (its seed)."""
    payload = json.dumps(
        {"model": model, "prompt_version": PROMPT_VERSION, "messages": messages, "params": params, "attempt": attempt},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
