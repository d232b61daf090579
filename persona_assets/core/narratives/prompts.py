"""Versioned prompt templates. ``PROMPT_VERSION`` feeds the cache key and the asset's code version: change it
whenever a template, the schema or the guardrails change."""

from __future__ import annotations

import hashlib
import json
from typing import Any

PROMPT_VERSION = "2026-11-25.1"

PERSONA_FIELDS = (
    "persona",
    "professional_persona",
    "sports_persona",
    "arts_persona",
    "travel_persona",
    "culinary_persona",
    "family_persona",
)
ATTRIBUTE_FIELDS = (
    "cultural_background",
    "skills_and_expertise",
    "skills_and_expertise_list",
    "hobbies_and_interests",
    "hobbies_and_interests_list",
    "career_goals_and_ambitions",
)
LIST_FIELDS = ("skills_and_expertise_list", "hobbies_and_interests_list")
TEXT_FIELDS = tuple(f for f in (*PERSONA_FIELDS, *ATTRIBUTE_FIELDS) if f not in LIST_FIELDS)
ALL_FIELDS = (*PERSONA_FIELDS, *ATTRIBUTE_FIELDS)

#: JSON schema of one answer (the embedded model is constrained to it with a llama.cpp grammar).
NARRATIVE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **{f: {"type": "string", "minLength": 40, "maxLength": 700} for f in TEXT_FIELDS},
        **{
            f: {"type": "array", "items": {"type": "string", "maxLength": 60}, "minItems": 3, "maxItems": 8}
            for f in LIST_FIELDS
        },
    },
    "required": list(ALL_FIELDS),
    "additionalProperties": False,
}

GUARDRAILS = (
    "Write in English about one fictional resident of Singapore described by the facts below.",
    "Use the person's name in every persona text; each text must stand alone.",
    "Convey cultural heritage through practices (food, festivals, language at home, faith), never by naming a race "
    "or ethnic group.",
    "Respect every fact: age, sex, marital status, religion, occupation or status, and planning area. Do not invent "
    "a spouse for someone single, widowed or divorced; do not give a job to someone not working.",
    "Keep each text to two or three sentences. Lists hold 3 to 8 short items.",
    "Answer with one JSON object with exactly these keys: " + ", ".join(ALL_FIELDS) + ".",
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


def render_messages(record: dict[str, Any]) -> list[dict[str, str]]:
    """Chat messages for instruction-tuned models."""
    facts = json.dumps(facts_of(record), ensure_ascii=False, sort_keys=True, default=str)
    return [
        {"role": "system", "content": " ".join(GUARDRAILS)},
        {"role": "user", "content": f"FACTS: {facts}\nWrite the JSON object now."},
    ]


def read_facts(messages: list[dict[str, str]]) -> dict[str, Any]:
    """The facts block back from rendered messages (used by the test server to answer in character)."""
    for m in messages:
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
