"""Everything that knows the record agrees with the record schema (``persona_assets/core/schema.py``): the
dagster-pandas type of ``residents``, the Great Expectations suites (committed files = generated ones, and what
they check), the Arrow schema of the release, the dataset card's field table, the narrative field lists and the
answer's JSON schema, the sampler's columns, the census registry's key sets and the snapshot. A field or value
added in one place and not in the others fails here."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from dagster import check_dagster_type

from census_sources import TABLES, load_manifest, load_table
from census_sources.registry import ETHNICITY_KEYS, SEX_KEYS
from persona_assets.core import schema as S
from persona_assets.core.gx_suites import load_suite, run_suite
from persona_assets.core.model import vocab as V
from persona_assets.core.narratives.partition import COLUMNS as NARRATIVE_COLUMNS
from persona_assets.core.narratives.prompts import PROFILES
from persona_assets.core.publish.arrow import build_arrow_schema, format_type
from persona_assets.core.publish.card import CardInputs, render_dataset_card
from persona_assets.core.quality import NARRATIVE_CHECK_COLUMNS, PERSONA_CHECK_COLUMNS
from persona_assets.core.record_suites import RECORD_SUITES, find_stale_suites, render_suite
from persona_assets.record_types import PERSONAS_COLUMN_SCHEMA, RESIDENTS_COLUMN_SCHEMA, ResidentsDataFrame

#: SPEC section 3, in its order.
SPEC_FIELDS = [
    "uuid",
    "first_name",
    "middle_name",
    "last_name",
    "full_name",
    "preferred_english_name",
    "persona",
    "professional_persona",
    "sports_persona",
    "arts_persona",
    "travel_persona",
    "culinary_persona",
    "family_persona",
    "cultural_background",
    "skills_and_expertise",
    "skills_and_expertise_list",
    "hobbies_and_interests",
    "hobbies_and_interests_list",
    "career_goals_and_ambitions",
    "sex",
    "age",
    "ethnicity",
    "religion",
    "marital_status",
    "language_at_home",
    "education_level",
    "labour_force_status",
    "occupation",
    "industry",
    "monthly_income_band",
    "planning_area",
    "subzone",
    "region",
    "dwelling_type",
    "digital_familiarity",
    "life_stage",
    "big_five",
    "country",
]
NULLABLE = {"middle_name", "preferred_english_name", "industry", "monthly_income_band"}


@pytest.fixture(scope="module")
def bedok(network, census_frames) -> pd.DataFrame:
    """A real residents partition (names included), small: Bedok's share of 3,000 records."""
    from persona_assets.core.census import area_adult_population, summarise_planning_areas
    from persona_assets.core.model.allocation import allocate_areas
    from persona_assets.core.model.residents import sample_residents
    from persona_assets.core.names import ENGLISH_LABELS, NameModel, build_name_tokens

    respop, ura = census_frames["respop_2025"], census_frames["ura_planning_areas"]
    alloc = allocate_areas(summarise_planning_areas(respop, ura).set_index("planning_area")["residents_15plus"], 3000)
    tokens = build_name_tokens(
        {"cea": census_frames["cea_name_tokens"]}, census_frames["chinese_surnames_2000"], pd.read_csv(ENGLISH_LABELS)
    )
    names = (NameModel(tokens), census_frames["cea_name_hashes"])
    return sample_residents(
        network, "Bedok", area_adult_population(respop, ura, "Bedok"), int(alloc["Bedok"]), 5, names=names
    )


# ------------------------------------------------------------------------------------------------ the schema


def test_the_schema_is_the_38_fields_of_the_spec() -> None:
    assert list(S.RECORD_FIELDS) == SPEC_FIELDS
    assert (len(S.IDENTITY_FIELDS), len(S.PERSONA_FIELDS), len(S.ATTRIBUTE_FIELDS), len(S.CONTEXT_FIELDS)) == (
        6,
        7,
        6,
        19,
    )
    assert {f for f, spec in S.FIELDS.items() if spec.nullable} == NULLABLE
    assert S.LIST_FIELDS == ("skills_and_expertise_list", "hobbies_and_interests_list")
    assert (
        sorted(S.RESIDENT_COLUMNS) == sorted(S.IDENTITY_FIELDS + S.CONTEXT_FIELDS) == sorted(S.RESIDENT_RELEASE_FIELDS)
    )
    for f in S.FIELDS.values():
        assert f.description.strip() and f.description.endswith("."), f.name
        assert f.values or f.kind != "string" or f.name in {"subzone", *S.IDENTITY_FIELDS} or f.is_llm, f.name


def test_value_sets_come_from_the_vocabulary_and_the_snapshot() -> None:
    ura = load_table("ura_planning_areas")
    assert S.FIELDS["planning_area"].values == tuple(sorted(ura["planning_area"]))
    assert S.FIELDS["region"].values == tuple(sorted(set(ura["region"])))
    assert S.FIELDS["sex"].values == V.SEXES and S.FIELDS["ethnicity"].values == V.ETHNICITIES
    # the census registry's key sets are the record's categories plus the publishers' total, nothing else
    assert (*V.SEXES, "Total") == SEX_KEYS and (*V.ETHNICITIES, "Total") == ETHNICITY_KEYS


def test_the_age_bound_is_the_official_tables_last_age() -> None:
    """90 wins over the old suite's 100: the June 2025 table's last single year is '90 & Over' (stored as 90) and
    every age is drawn from its cells."""
    assert int(load_table("respop_2025")["age"].astype(int).max()) == S.MAX_AGE == 90
    assert S.FIELDS["age"].min_value == 15 and S.FIELDS["age"].max_value == 90


def test_grounding_is_what_the_registry_and_the_manifest_say() -> None:
    manifest = load_manifest()["tables"]
    for name, f in S.FIELDS.items():
        assert set(f.grounding) <= set(TABLES)
        assert f.grounding == tuple(sorted(t for t, e in manifest.items() if name in e.get("grounds", ())))
        if not f.is_llm and not f.grounding:
            assert f.rule, f"{name} has neither a table nor a rule"
    assert S.FIELDS["religion"].grounding == ("census2020_religion_pa", "ghs2015_religion_ethnicity")


# ------------------------------------------------------------------------------------------------ derived


def test_the_sampler_writes_exactly_the_residents_columns(bedok) -> None:
    assert tuple(bedok.columns) == S.RESIDENT_COLUMNS
    assert check_dagster_type(ResidentsDataFrame, bedok).success
    assert run_suite(bedok, "residents", parameters={"expected_areas": ["Bedok"]}).success


def _break(df: pd.DataFrame, breaks: dict[str, object]) -> pd.DataFrame:
    """A copy of ``df`` with one bad cell per field, each in its own row."""
    out = df.copy()
    for row, (field, value) in enumerate(breaks.items()):
        if field != "age":
            out[field] = out[field].astype(object)
        out.at[out.index[row], field] = value
    return out


OUT_OF_SCHEMA = {
    f: S.MAX_AGE + 1 if f == "age" else "Not A Category"
    for f in S.RESIDENT_COLUMNS
    if S.FIELDS[f].values or S.FIELDS[f].max_value
}
NULLS = {f: None for f in S.RESIDENT_COLUMNS if not S.FIELDS[f].nullable}


@pytest.mark.parametrize("breaks", [OUT_OF_SCHEMA, NULLS], ids=["values outside the schema", "nulls"])
def test_the_pandas_type_and_the_suite_reject_what_the_schema_forbids(bedok, breaks: dict[str, object]) -> None:
    for field, value in breaks.items():
        assert not check_dagster_type(ResidentsDataFrame, _break(bedok, {field: value})).success, field
    report = run_suite(_break(bedok, breaks), "residents", parameters={"expected_areas": ["Bedok"]})
    assert set(breaks) <= {f.column for f in report.failures}


def test_committed_suites_are_the_generated_ones() -> None:
    assert find_stale_suites() == [], "run: python -m persona_assets.core.record_suites"
    for name, build in RECORD_SUITES.items():
        assert load_suite(name) == json.loads(render_suite(build()))


def _by_type(suite: dict, kind: str) -> dict[str, dict]:
    return {e["kwargs"].get("column"): e["kwargs"] for e in suite["expectations"] if e["type"] == f"expect_{kind}"}


def test_the_suites_check_what_the_schema_says() -> None:
    residents = load_suite("residents")
    (columns,) = [e["kwargs"]["column_set"] for e in residents["expectations"] if "column_set" in e["kwargs"]]
    assert columns == list(S.RESIDENT_COLUMNS)
    sets = _by_type(residents, "column_values_to_be_in_set")
    assert {c: tuple(k["value_set"]) for c, k in sets.items() if c != "planning_area"} == {
        f: S.FIELDS[f].values for f in S.RESIDENT_COLUMNS if S.FIELDS[f].values and f != "planning_area"
    }
    assert _by_type(residents, "column_values_to_be_between")["age"] == {
        "column": "age",
        "min_value": S.MIN_AGE,
        "max_value": S.MAX_AGE,
    }
    required = set(_by_type(residents, "column_values_to_not_be_null"))
    assert required == {f for f in S.RESIDENT_COLUMNS if not S.FIELDS[f].nullable}

    personas = load_suite("personas_dataset")
    (columns,) = [e["kwargs"]["column_set"] for e in personas["expectations"] if "column_set" in e["kwargs"]]
    assert columns == [*S.RECORD_FIELDS, *PERSONA_CHECK_COLUMNS]
    types = {c: k["type_"] for c, k in _by_type(personas, "column_values_to_be_of_type").items()}
    assert set(types) == set(S.RECORD_FIELDS)
    assert {f for f, t in types.items() if t == "list"} == set(S.LIST_FIELDS)
    assert set(_by_type(personas, "column_values_to_not_be_null")) == {f for f in S.FIELDS if f not in NULLABLE}

    narratives = load_suite("narratives")
    assert set(_by_type(narratives, "column_values_to_be_unique")) == {"uuid", *S.TEXT_FIELDS}
    between = _by_type(narratives, "column_values_to_be_between")
    assert set(between) <= set(NARRATIVE_CHECK_COLUMNS)
    assert between["check__min_text_chars"]["min_value"] == S.MIN_TEXT_CHARS
    assert {between[f"check__{f}_items"]["max_value"] for f in S.LIST_FIELDS} == {S.MAX_LIST_ITEMS}


def test_arrow_schema_card_and_dagster_column_schemas_follow_the_schema(bedok) -> None:
    from persona_assets.core.publish.join import join_personas

    texts = {**{f: f"A text for {f}." for f in S.TEXT_FIELDS}, **{f: ["one", "two", "three"] for f in S.LIST_FIELDS}}
    narratives = pd.DataFrame([{"uuid": u, "status": "ok", **texts} for u in bedok["uuid"].head(4)])
    personas = join_personas(bedok, narratives)
    arrow = build_arrow_schema(personas)
    assert arrow.names == list(S.RECORD_FIELDS)
    assert {f.name: f.type for f in arrow} == {n: f.arrow_type for n, f in S.FIELDS.items()}

    card = render_dataset_card(
        CardInputs(
            configs={"personas": personas},
            assumptions=[],
            narrative_model="m",
            narrative_model_licence="l",
            prompt_version="p",
        )
    )
    rows = [ln for ln in card.splitlines() if ln.startswith("| ") and ln.split("|")[1].strip().isdigit()]
    assert [r.split("|")[2].strip().strip("`") for r in rows] == list(S.RECORD_FIELDS)
    for row, f in zip(rows, S.FIELDS.values(), strict=True):
        assert format_type(f.arrow_type) in row.replace("\\|", "|") and f.description.replace("|", "\\|") in row

    assert [c.name for c in RESIDENTS_COLUMN_SCHEMA.columns] == list(S.RESIDENT_COLUMNS)
    assert [c.name for c in PERSONAS_COLUMN_SCHEMA.columns] == list(S.RECORD_FIELDS)
    assert {c.name for c in PERSONAS_COLUMN_SCHEMA.columns if c.constraints.nullable} == NULLABLE


@pytest.mark.parametrize("profile", list(PROFILES.values()), ids=list(PROFILES))
def test_narrative_fields_and_answer_schema_follow_the_schema(profile) -> None:
    schema = profile.answer_schema()
    assert list(schema["properties"]) == [*S.TEXT_FIELDS, *S.LIST_FIELDS]
    assert schema["required"] == list(S.LLM_FIELDS)
    for f in S.TEXT_FIELDS:
        prop = schema["properties"][f]
        lo, hi = profile.text_bounds(f)
        assert (prop["minLength"], prop["maxLength"]) == (lo, hi)
        assert S.MIN_TEXT_CHARS <= lo < hi <= S.MAX_TEXT_CHARS  # the record's bounds are every profile's envelope
    for f in S.LIST_FIELDS:
        prop = schema["properties"][f]
        assert (prop["minItems"], prop["maxItems"]) == (S.MIN_LIST_ITEMS, S.MAX_LIST_ITEMS)
    for f in S.LLM_FIELDS:  # every field's meaning, as the record schema words it, in the schema and the prompt
        assert schema["properties"][f]["description"] == S.FIELDS[f].description
        assert f"- {f}: {S.FIELDS[f].description}" in profile.system_prompt()
    assert set(S.LLM_FIELDS) <= set(NARRATIVE_COLUMNS)
    assert ", ".join(S.LLM_FIELDS) in profile.system_prompt()
