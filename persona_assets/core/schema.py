"""The record schema: every field of the published persona record (SPEC section 3) and of the ``residents``
table, in one place.

Each ``Field`` says what the field is, its type, whether it may be null, its closed value set (from the model's
vocabulary, ``core/model/vocab.py`` and ``core/model/derived.py``, or from the census snapshot for planning areas
and regions) or its range, and what grounds it: the snapshot tables (``census_sources``) that name the field in
their ``grounds``, a modelled rule, or the LLM. Everything that needs to know the record derives from here, in
code: the dagster-pandas type of ``residents`` (``persona_assets/record_types.py``), the Great Expectations
suites (``core/record_suites.py`` writes ``expectations/{residents,narratives,personas_dataset}.json``), the
Arrow schema of the release and the dataset card's field table (``core/publish/``), the narrative field lists
and the answer's JSON schema (``core/narratives/prompts.py``). ``tests/test_record_schema.py`` proves they agree.

Pure Python (no Dagster).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from census_sources import TABLES, load_table
from persona_assets.core.model import vocab as V
from persona_assets.core.model.derived import BIG_FIVE_TRAITS, DIGITAL_LEVELS, LIFE_STAGES, STATUSES

#: Field groups in publication order (SPEC section 3).
IDENTITY, PERSONA, ATTRIBUTE, CONTEXT = "identity", "persona", "attribute", "context"

#: Ages: 15 and over (SPEC); the official table's last single year is "90 & Over", stored as 90, and every age
#: is drawn from its cells, so 90 is the largest age a record can have (and means 90 and over).
MIN_AGE, MAX_AGE = 15, 90
#: Bounds of the LLM texts (characters) and list fields (items, characters per item). The text bounds are the
#: envelope of every prompt profile's (``core/narratives/prompts.py``: ``compact`` 40-500 characters per text,
#: ``full`` up to a paragraph); the validator holds each record to its own profile's bounds.
MIN_TEXT_CHARS, MAX_TEXT_CHARS = 40, 1500
MIN_LIST_ITEMS, MAX_LIST_ITEMS = 3, 8
MIN_ITEM_CHARS, MAX_ITEM_CHARS = 2, 60
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

BIG_FIVE_TYPE = pa.struct(
    [pa.field(t, pa.struct([pa.field("t_score", pa.int64()), pa.field("label", pa.string())])) for t in BIG_FIVE_TRAITS]
)
KIND_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "string_list": pa.list_(pa.string()),
    "big_five": BIG_FIVE_TYPE,
}


def _read_planning_areas() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The URA Master Plan 2019 planning areas and regions of the committed snapshot (sorted)."""
    ura = load_table("ura_planning_areas")
    return tuple(sorted(ura["planning_area"])), tuple(sorted(set(ura["region"])))


PLANNING_AREAS, REGIONS = _read_planning_areas()
if len(PLANNING_AREAS) != 55:  # pragma: no cover
    raise ValueError(f"URA MP2019 lists 55 planning areas; the snapshot has {len(PLANNING_AREAS)}")


def _grounding_tables(field: str) -> tuple[str, ...]:
    """Snapshot tables that name ``field`` in their ``grounds`` (``census_sources/registry.py``, SPEC section 4)."""
    return tuple(sorted(name for name, spec in TABLES.items() if field in spec.grounds))


@dataclass(frozen=True)
class Field:
    """One field of the record."""

    name: str
    group: str  # IDENTITY, PERSONA, ATTRIBUTE or CONTEXT
    kind: str  # a key of KIND_TYPES
    description: str  # what the field is about (the card, the UI; for LLM fields also what the model is asked)
    nullable: bool = False
    values: tuple[str, ...] = ()  # closed value set in the official order; empty: open
    min_value: int | None = None
    max_value: int | None = None
    unique: bool = False
    pattern: str | None = None
    rule: str = ""  # how the field is made beyond (or instead of) its tables: a rule, a constant, a note

    @property
    def arrow_type(self) -> pa.DataType:
        return KIND_TYPES[self.kind]

    @property
    def is_llm(self) -> bool:
        return self.group in (PERSONA, ATTRIBUTE)

    @property
    def grounding(self) -> tuple[str, ...]:
        """The snapshot tables this field is fitted to (none for LLM fields and modelled rules)."""
        return () if self.is_llm else _grounding_tables(self.name)


def _llm(name: str, group: str, description: str, kind: str = "string") -> Field:
    return Field(name, group, kind, description)


_IDENTITY = (
    Field(
        "uuid",
        IDENTITY,
        "string",
        "Record identifier: UUIDv5 of (base seed, planning area, index), stable across re-runs.",
        unique=True,
        pattern=UUID_PATTERN,
        rule="deterministic (seed, area, index)",
    ),
    Field(
        "first_name",
        IDENTITY,
        "string",
        "Given name: for Chinese names the 1-3 given syllables (e.g. 'Wei Ming'); for Malay and Indian names the "
        "first given name; for Others an English given name.",
        rule="+ composition rules per ethnicity",
    ),
    Field(
        "middle_name",
        IDENTITY,
        "string",
        "Further given names of Malay and Indian names (null if none, and for Chinese and Others).",
        nullable=True,
    ),
    Field("last_name", IDENTITY, "string", "Surname (Chinese, Others) or the father's name (Malay, Indian)."),
    Field(
        "full_name",
        IDENTITY,
        "string",
        "Full name by the convention of the ethnicity: surname first for Chinese ('Tan Wei Ming'), given "
        "'bin'/'binte' father for Malay, given 's/o'/'d/o' father for Indian, given surname for Others.",
        rule="+ composition rules; privacy gate against the register",
    ),
    Field(
        "preferred_english_name",
        IDENTITY,
        "string",
        "English name used alongside a Chinese name (null if none, and for other names).",
        nullable=True,
    ),
)

_PERSONAS = (
    _llm(
        "persona",
        PERSONA,
        "A concise summary of who the person is, in one to three sentences: their name, stage of life, work or "
        "status, temperament and one specific detail that makes them recognisable.",
    ),
    _llm(
        "professional_persona",
        PERSONA,
        "Their working life: job, workplace, how they go about their work and what they are known for; for "
        "those not working, their studies, national service, job search, retirement or home life instead.",
    ),
    _llm(
        "sports_persona",
        PERSONA,
        "Sport, exercise and physical activity in their life: what they play, practise or watch, how often and "
        "where; or why they stay away from it.",
    ),
    _llm(
        "arts_persona",
        PERSONA,
        "Their relationship with the arts and culture (music, film, theatre, visual arts, crafts, reading), as "
        "audience or as practitioner.",
    ),
    _llm(
        "travel_persona",
        PERSONA,
        "How and where they travel, within Singapore and abroad: habits, preferences, places they return to or "
        "hope to see.",
    ),
    _llm(
        "culinary_persona",
        PERSONA,
        "Their food habits and tastes: what they cook or buy, where and with whom they eat, favourite dishes "
        "and stalls. About eating and cooking in daily life, not a profession in food.",
    ),
    _llm(
        "family_persona",
        PERSONA,
        "Their family and household life: who they live with, the relationships that matter to them and their "
        "part in the family, true to their marital status.",
    ),
)

_ATTRIBUTES = (
    _llm(
        "cultural_background",
        ATTRIBUTE,
        "Their cultural heritage as it shows in daily practice (languages at home, festivals, faith, food, "
        "customs), never by naming a race or ethnic group.",
    ),
    _llm(
        "skills_and_expertise",
        ATTRIBUTE,
        "What they are good at, from work, study or everyday life (practical, professional and social skills), "
        "as prose.",
    ),
    _llm(
        "skills_and_expertise_list",
        ATTRIBUTE,
        f"The same skills as a list of {MIN_LIST_ITEMS}-{MAX_LIST_ITEMS} short items of a few words each.",
        kind="string_list",
    ),
    _llm(
        "hobbies_and_interests",
        ATTRIBUTE,
        "What they do and care about in their free time, as prose.",
    ),
    _llm(
        "hobbies_and_interests_list",
        ATTRIBUTE,
        f"The same hobbies and interests as a list of {MIN_LIST_ITEMS}-{MAX_LIST_ITEMS} short items.",
        kind="string_list",
    ),
    _llm(
        "career_goals_and_ambitions",
        ATTRIBUTE,
        "Their ambitions and life goals for the years ahead: career goals for those working or studying, and "
        "personal, family or community goals for those who are not working (retired, homemakers, job seekers).",
    ),
)

_CONTEXT = (
    Field("sex", CONTEXT, "string", "Sex.", values=V.SEXES),
    Field(
        "age",
        CONTEXT,
        "integer",
        f"Age in completed years, {MIN_AGE} to {MAX_AGE} ({MAX_AGE} means {MAX_AGE} and over, as in the official "
        "table).",
        min_value=MIN_AGE,
        max_value=MAX_AGE,
    ),
    Field("ethnicity", CONTEXT, "string", "Ethnic group (CMIO: Chinese, Malay, Indian, Others).", values=V.ETHNICITIES),
    Field("religion", CONTEXT, "string", "Religion (Census 2020 categories).", values=V.RELIGIONS),
    Field("marital_status", CONTEXT, "string", "Marital status.", values=V.MARITAL),
    Field(
        "language_at_home",
        CONTEXT,
        "string",
        "Language most frequently spoken at home (Census 2020 categories).",
        values=V.LANGUAGES,
    ),
    Field(
        "education_level",
        CONTEXT,
        "string",
        "Highest qualification attained (MOM Labour Force groups).",
        values=V.EDUCATION,
    ),
    Field(
        "labour_force_status", CONTEXT, "string", "Employed, Unemployed or Outside Labour Force.", values=V.LABOUR_FORCE
    ),
    Field(
        "occupation",
        CONTEXT,
        "string",
        "SSOC major group for the employed; a status for everyone else (Unemployed, Student, National Service, "
        "Retired, Homemaker, Not Working).",
        values=(*V.OCCUPATIONS, *STATUSES),
        rule="+ modelled rule for non-employed statuses",
    ),
    Field(
        "industry",
        CONTEXT,
        "string",
        "Industry group as in MOM's tables (employed residents only; null otherwise).",
        values=V.INDUSTRIES,
        nullable=True,
    ),
    Field(
        "monthly_income_band",
        CONTEXT,
        "string",
        "Gross monthly income from work, GHS 2015 bands in 2015 SGD (employed only; null otherwise).",
        values=V.INCOME_BANDS,
        nullable=True,
    ),
    Field(
        "planning_area", CONTEXT, "string", "URA Master Plan 2019 planning area of residence.", values=PLANNING_AREAS
    ),
    Field("subzone", CONTEXT, "string", "URA Master Plan 2019 subzone of residence."),
    Field("region", CONTEXT, "string", "URA Master Plan 2019 region of the planning area.", values=REGIONS),
    Field("dwelling_type", CONTEXT, "string", "Type of dwelling (Census / GHS categories).", values=V.DWELLINGS),
    Field(
        "digital_familiarity",
        CONTEXT,
        "string",
        "Familiarity with digital tools, very low to very high.",
        values=DIGITAL_LEVELS,
        rule="modelled rule (age band, qualification); no official table",
    ),
    Field(
        "life_stage",
        CONTEXT,
        "string",
        "Life stage from age, marital status and occupation/status.",
        values=LIFE_STAGES,
        rule="modelled rule (age, marital status, occupation/status); no official table",
    ),
    Field(
        "big_five",
        CONTEXT,
        "big_five",
        "Big Five personality traits: per trait a T-score (20-80) and its label.",
        rule="modelled rule (NVIDIA recipe: T ~ N(50, 10), clipped to [20, 80]; independent of all fields)",
    ),
    Field(
        "country", CONTEXT, "string", "Country of residence (always Singapore).", values=("Singapore",), rule="constant"
    ),
)

#: The 38 published fields in publication order: identity, persona narratives, attribute texts, context.
FIELDS: dict[str, Field] = {f.name: f for f in (*_IDENTITY, *_PERSONAS, *_ATTRIBUTES, *_CONTEXT)}
if len(FIELDS) != 38:  # pragma: no cover
    raise RuntimeError("the published record has 38 distinct fields (SPEC section 3)")


def select_fields(*groups: str) -> tuple[str, ...]:
    """Field names of ``groups``, in publication order."""
    return tuple(name for name, f in FIELDS.items() if f.group in groups)


RECORD_FIELDS: tuple[str, ...] = tuple(FIELDS)
IDENTITY_FIELDS = select_fields(IDENTITY)
NAME_FIELDS = IDENTITY_FIELDS[1:]  # what the name model composes
PERSONA_FIELDS = select_fields(PERSONA)
ATTRIBUTE_FIELDS = select_fields(ATTRIBUTE)
LLM_FIELDS = select_fields(PERSONA, ATTRIBUTE)
LIST_FIELDS = tuple(f for f in LLM_FIELDS if FIELDS[f].kind == "string_list")
TEXT_FIELDS = tuple(f for f in LLM_FIELDS if FIELDS[f].kind == "string")
CONTEXT_FIELDS = select_fields(CONTEXT)
#: The ``residents`` release config: every sampled record without narratives, in publication order.
RESIDENT_RELEASE_FIELDS = select_fields(IDENTITY, CONTEXT)

#: Columns of the ``residents`` table (one Parquet file per planning area), in the order the sampler writes
#: them: the same 25 fields as ``RESIDENT_RELEASE_FIELDS``, geography first.
RESIDENT_COLUMNS: tuple[str, ...] = (
    *IDENTITY_FIELDS,
    "planning_area",
    "subzone",
    "region",
    "age",
    "sex",
    "ethnicity",
    "religion",
    "language_at_home",
    "marital_status",
    "education_level",
    "labour_force_status",
    "occupation",
    "industry",
    "monthly_income_band",
    "dwelling_type",
    "digital_familiarity",
    "life_stage",
    "big_five",
    "country",
)
if sorted(RESIDENT_COLUMNS) != sorted(RESIDENT_RELEASE_FIELDS):  # pragma: no cover
    raise RuntimeError("the residents table holds exactly the identity and context fields")
