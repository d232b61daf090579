"""Narratives: validation rules, and the engine against a real local OpenAI-compatible server that injects
faults (429 with Retry-After, 5xx, timeouts, truncated and non-JSON bodies, bad and empty answers)."""

import asyncio
import json
import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

import pytest

from persona_assets.core.narratives.client import LiteLLMClient
from persona_assets.core.narratives.engine import CallCache, EngineSettings, NarrativeEngine, summarise
from persona_assets.core.narratives.examples import ALL_EXAMPLES
from persona_assets.core.narratives.metrics import distinctive_terms
from persona_assets.core.narratives.prompts import PROFILES, read_facts, render_messages
from persona_assets.core.narratives.repeats import find_repeated_fields
from persona_assets.core.narratives.validate import parse_answer, validate_narrative
from persona_assets.core.schema import LLM_FIELDS
from persona_assets.testing.llm_server import (
    FAULTS,
    PASTIMES,
    LLMTestServer,
    narrative_for,
    templated_narrative_for,
)

MODEL = "openai/test-model"


def record(i: int, **over) -> dict:
    base = {
        "uuid": f"u{i}",
        "full_name": f"Tan Wei Ming {i}",
        "first_name": f"Wei Ming {i}",
        "last_name": "Tan",
        "sex": "Male",
        "age": 34,
        "marital_status": "Married",
        "religion": "Buddhism",
        "occupation": "Professionals",
        "planning_area": "Bedok",
        "big_five": {"openness": {"label": "high"}},
    }
    return {**base, **over}


def engine(server: LLMTestServer, cache: CallCache, **settings) -> NarrativeEngine:
    s = EngineSettings(
        model=MODEL,
        max_in_flight=8,
        timeout_s=settings.pop("timeout_s", 5.0),
        backoff_base_s=0.02,
        max_retries=settings.pop("max_retries", 3),
        areas=("Bedok", "Tampines"),
        **settings,
    )
    return NarrativeEngine(LiteLLMClient(MODEL, server.base_url, "sk-test-not-a-secret"), cache, s)


@pytest.fixture
def server():
    srv = LLMTestServer(timeout_sleep_s=1.0).start()
    yield srv
    srv.stop()


# ------------------------------------------------------------------------------------------ validation rules


def good(rec: dict) -> dict:
    return narrative_for({"full_name": rec["full_name"], "sex": rec["sex"], "planning_area": rec["planning_area"]})


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda o: o.update(persona="A person who likes things and places very much indeed."), "name: persona"),
        (lambda o: o.update(persona=o["persona"] + " She loves her garden and she sings."), "sex: persona"),
        (lambda o: o.update(family_persona=o["family_persona"] + " A 58-year-old."), "age: family_persona"),
        (
            lambda o: o.update(travel_persona=o["travel_persona"] + " He is a devout Muslim."),
            "religion: travel_persona",
        ),
        (
            lambda o: o.update(arts_persona=o["arts_persona"] + " He now lives in Tampines."),
            "planning_area: arts_persona",
        ),
        (
            lambda o: o.update(cultural_background=o["cultural_background"] + " Proud of his Chinese heritage."),
            "race: cultural_background",
        ),
        (lambda o: o.update(skills_and_expertise_list=["one"]), "length: skills_and_expertise_list"),
        (lambda o: o.pop("sports_persona"), "parse: missing sports_persona"),
    ],
    ids=["name", "sex", "age", "religion", "area", "race", "list", "missing"],
)
def test_validation_rules(edit, reason: str) -> None:
    rec = record(1)
    obj = good(rec)
    assert validate_narrative(obj, rec, ("Bedok", "Tampines")) == []
    edit(obj)
    assert reason in validate_narrative(obj, rec, ("Bedok", "Tampines"))


def test_marital_and_occupation_rules() -> None:
    single = record(1, marital_status="Single", occupation="Retired")
    obj = good(single)
    obj["family_persona"] += " He adores his wife. He works as a banker."
    reasons = validate_narrative(obj, single)
    assert "marital: family_persona" in reasons and "occupation: family_persona" in reasons
    widowed = record(1, marital_status="Widowed")
    obj = good(widowed)
    obj["family_persona"] += " He misses his late wife."
    assert validate_narrative(obj, widowed) == []


def test_parse_answer_tolerates_a_code_fence_and_reports_junk() -> None:
    assert parse_answer('```json\n{"a": 1}\n```')[0] == {"a": 1}
    assert parse_answer("no json here")[1] == "parse: no JSON object"
    assert parse_answer('{"a": }')[1].startswith("parse: invalid JSON")


def test_prompt_uses_the_record_and_round_trips() -> None:
    rec = record(3, religion="Islam", life_stage="young family years")
    facts = read_facts(render_messages(rec))
    assert facts["full_name"] == rec["full_name"] and facts["religion"] == "Islam"
    assert facts["big_five"] == {"openness": "high"}
    assert all(f in render_messages(rec)[0]["content"] for f in LLM_FIELDS)


# ------------------------------------------------------------------------------------------ engine + server


PERMANENT_FAULTS = {"context_window": "provider: context window exceeded"}  # not worth a retry: failed at once


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_is_retried_or_resampled_and_no_record_is_lost(server, tmp_path: Path, fault: str) -> None:
    server.plan = lambda req, n: fault if n == 1 else None  # the first request of every prompt fails
    # a call limit below the server's 1 s sleep only where the fault is a timeout: a loaded CI machine can take
    # longer than 0.5 s to answer at all
    eng = engine(server, CallCache(tmp_path / "c.sqlite"), timeout_s=0.5 if fault == "timeout" else 10.0)
    results = asyncio.run(eng.run([record(i) for i in range(6)]))
    assert len(results) == 6 and {r.uuid for r in results} == {f"u{i}" for i in range(6)}
    if fault in PERMANENT_FAULTS:
        assert all(r.status == "failed" and r.reasons == [PERMANENT_FAULTS[fault]] for r in results)
        assert eng.stats.retries == 0 and server.requests == 6
        return
    assert all(r.status == "ok" for r in results), [r.reasons for r in results]
    assert server.faults_served[fault] == 6
    if fault == "bad_narrative":
        assert all(r.attempts == 2 for r in results)  # resampled, not retried
    elif fault == "templated":  # valid, but the same for everyone: the revision pass sends records 1-5 back once
        assert [r.attempts for r in results] == [1, 2, 2, 2, 2, 2] and eng.stats.revisions == 5
    else:
        assert eng.stats.retries >= 6


def test_retry_after_is_honoured(server, tmp_path: Path) -> None:
    server.retry_after_s = 0.4
    server.plan = lambda req, n: "429" if n == 1 else None
    eng = engine(server, CallCache(tmp_path / "c.sqlite"))
    started = time.perf_counter()
    asyncio.run(eng.run([record(0)]))
    assert time.perf_counter() - started >= 0.4


def test_exhausted_retries_fail_with_a_reason_and_a_rerun_retries_only_those(server, tmp_path: Path) -> None:
    cache = CallCache(tmp_path / "c.sqlite")
    broken = {"u1", "u4"}
    server.plan = lambda req, n: "500" if read_facts(req["messages"])["full_name"].endswith((" 1", " 4")) else None
    first = asyncio.run(engine(server, cache, max_retries=2).run([record(i) for i in range(6)]))
    failed = {r.uuid for r in first if r.status == "failed"}
    assert failed == broken
    assert all(r.reasons == ["transport: 500 after retries"] for r in first if r.status == "failed")
    server.plan = None
    before = server.requests
    second = asyncio.run(engine(server, cache).run([record(i) for i in range(6)]))
    assert server.requests - before == len(broken)  # only the failures were called again
    assert all(r.status == "ok" for r in second)
    before = server.requests
    asyncio.run(engine(server, cache).run([record(i) for i in range(6)]))
    assert server.requests == before  # unchanged re-run: zero calls


def test_validation_failures_end_failed_after_max_attempts(server, tmp_path: Path) -> None:
    server.plan = lambda req, n: "bad_narrative"
    results = asyncio.run(engine(server, CallCache(tmp_path / "c.sqlite"), max_attempts=3).run([record(0)]))
    assert results[0].status == "failed" and results[0].attempts == 3
    assert results[0].reasons == ["length: persona", "name: persona"]
    summary = summarise(results)
    assert summary["failed"] == 1 and summary["top_failure_reasons"] == {"length:persona": 1, "name:persona": 1}


def test_secret_never_appears_in_the_client_repr() -> None:
    c = LiteLLMClient(MODEL, "http://127.0.0.1:1/v1", "sk-very-secret")
    assert "sk-very-secret" not in repr(c)


def _run_engine(base_url: str, cache_path: str, n: int) -> None:
    srv = type("S", (), {"base_url": base_url})()
    eng = engine(srv, CallCache(Path(cache_path)))  # type: ignore[arg-type]
    asyncio.run(eng.run([record(i) for i in range(n)]))


def test_sigkill_mid_run_loses_no_finished_call_and_repeats_none(tmp_path: Path) -> None:
    srv = LLMTestServer(latency_s=0.15).start()
    try:
        n = 40
        cache = tmp_path / "c.sqlite"
        proc = mp.get_context("spawn").Process(target=_run_engine, args=(srv.base_url, str(cache), n))
        proc.start()
        deadline = time.time() + 60
        while len(CallCache(cache)) < 10 and time.time() < deadline if cache.exists() else time.time() < deadline:
            time.sleep(0.05)
            if cache.exists() and len(CallCache(cache)) >= 10:
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        done_before = len(CallCache(cache))
        assert 10 <= done_before < n
        requests_before = srv.requests
        _run_engine(srv.base_url, str(cache), n)
        assert len(CallCache(cache)) == n
        # finished calls were not repeated: the second run asked only for what was missing
        assert srv.requests - requests_before == n - done_before
        assert all(c <= 2 for c in srv.seen.values())  # at most the one in flight at the kill was asked twice
    finally:
        srv.stop()


@pytest.mark.parametrize("example", ALL_EXAMPLES, ids=lambda e: e.key)
def test_every_worked_example_obeys_every_rule_but_cannot_be_copied(example) -> None:
    reasons = validate_narrative(dict(example.answer), example.record, ("Jurong West", "Bedok"))
    assert reasons and all(r.startswith("copy:") for r in reasons)  # fine in content; but a copy for anyone
    rec = record(1, religion=example.record["religion"])  # another religion's worship would also break its rule
    copied = {**good(rec), "cultural_background": example.answer["cultural_background"]}
    assert validate_narrative(copied, rec) == ["copy: cultural_background"]


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda o: o.update(arts_persona="None, not specified for this person at all."), "placeholder: arts_persona"),
        (lambda o: o.update(hobbies_and_interests_list=["None", "reading", "walking"]), "placeholder"),
        (lambda o: o.update(skills_and_expertise_list=["cooking", "Cooking", "walking"]), "duplicate"),
        (lambda o: o.update(sports_persona=o["persona"]), "duplicate: texts"),
    ],
)
def test_placeholder_and_duplicate_rules(edit, reason: str) -> None:
    rec = record(2)
    obj = good(rec)
    edit(obj)
    assert any(r.startswith(reason) for r in validate_narrative(obj, rec))


def test_the_record_facts_come_after_the_worked_example() -> None:
    msgs = render_messages(record(3))
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert read_facts(msgs)["full_name"] == "Tan Wei Ming 3"
    bare = render_messages(record(3), with_example=False)
    assert [m["role"] for m in bare] == ["system", "user"] and read_facts(bare)["full_name"] == "Tan Wei Ming 3"


def test_a_repair_after_a_copy_leaves_the_example_out_and_any_other_repair_keeps_the_prefix() -> None:
    """Shown the example it copied, the 1.5B model pasted it back up to four times (compact v1): a copy or
    anchor repair goes without it; any other repair keeps the first request's prefix (the server's cache)."""
    from persona_assets.core.narratives.prompts import render_repair_messages

    rec = record(3)
    first = render_messages(rec)
    other = render_repair_messages(rec, ["family_persona"], ["marital: family_persona"])
    assert other[:-1] == first[:-1] and "only these keys: family_persona" in other[-1]["content"]
    copied = render_repair_messages(rec, ["cultural_background"], ["copy: cultural_background"])
    assert [m["role"] for m in copied] == ["system", "user"] and copied[0] == first[0]
    anchored = render_repair_messages(
        rec, ["cultural_background", "family_persona"], ["anchor: cultural_background", "marital: family_persona"]
    )
    assert [m["role"] for m in anchored] == ["system", "user"]
    assert "do not mention a wife, husband or spouse" not in other[-1]["content"]  # record(3) is married


def test_a_field_level_failure_is_repaired_with_a_follow_up_for_only_those_fields(server, tmp_path: Path) -> None:
    server.plan = lambda req, n: "bad_narrative" if n == 1 else None  # the first answer has a bad persona
    settings = {"params": {"response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {}}}}}
    results = asyncio.run(engine(server, CallCache(tmp_path / "c.sqlite"), **settings).run([record(4)]))
    assert results[0].status == "ok" and results[0].attempts == 2
    first, follow_up = list(server.bodies)
    assert follow_up["messages"][:-1] == first["messages"][:-1]  # same prefix (a local model reuses its cache)
    ask = follow_up["messages"][-1]["content"]
    assert "only these keys: persona." in ask and "mention Tan Wei Ming 4 by name" in ask
    assert "Someone likes things" not in json.dumps(follow_up["messages"])  # the rejected answer is not shown
    assert follow_up["response_format"]["json_schema"]["schema"]["required"] == ["persona"]
    assert results[0].texts["persona"].startswith("Tan Wei Ming 4")  # repaired field merged into the answer


def test_an_unparseable_answer_is_regenerated_in_full(server, tmp_path: Path) -> None:
    server.plan = lambda req, n: "empty" if n == 1 else None
    results = asyncio.run(engine(server, CallCache(tmp_path / "c.sqlite")).run([record(5)]))
    assert results[0].status == "ok"
    assert all("only these keys" not in b["messages"][-1]["content"] for b in server.bodies)


# ------------------------------------------------------------------------------------------ revision pass


def test_texts_repeating_an_earlier_record_are_revised_and_a_rerun_makes_no_call(server, tmp_path: Path) -> None:
    """Every first answer is one template (valid for its record, so the validator passes it): the first record
    keeps it, the others are sent back for every field as a repair naming the repeat; their revisions (the
    server's own, distinct answers) are accepted; round 2 finds nothing. An unchanged re-run makes no call."""
    server.plan = lambda req, n: "templated" if n == 1 else None
    records = [record(i) for i in range(4)]
    cache = CallCache(tmp_path / "c.sqlite")
    eng = engine(server, cache)
    results = asyncio.run(eng.run(records))
    assert [r.status for r in results] == ["ok"] * 4 and server.requests == 4 + 3
    assert eng.stats.revisions == 3 and [r.attempts for r in results] == [1, 2, 2, 2]
    revision = next(b for b in server.bodies if "only these keys" in b["messages"][-1]["content"])
    assert "another resident's text reads almost the same" in revision["messages"][-1]["content"]
    assert results[0].texts == templated_narrative_for({"full_name": "Tan Wei Ming 0", "sex": "Male"})  # kept
    assert all(f"near_duplicate: {f}" in r.rejected for r in results[1:] for f in LLM_FIELDS)
    assert not results[0].rejected
    answers = [r.texts for r in results]
    assert find_repeated_fields(answers, records) == {}  # no repeat left among the kept texts
    again = engine(server, cache)
    assert [r.texts for r in asyncio.run(again.run(records))] == answers and server.requests == 7
    assert again.stats.calls == 0 and again.stats.revisions == 3  # the same revisions, from the cache


def test_a_revision_that_fails_keeps_the_valid_texts_and_records_the_rejection(server, tmp_path: Path) -> None:
    """Revisions that break a rule leave the records ok with their (valid, repeated) texts; each of the two
    rounds tries once more, then the repeats stay (the report counts them)."""
    server.plan = lambda req, n: "templated" if n == 1 else "bad_narrative"
    records = [record(i) for i in range(3)]
    eng = engine(server, CallCache(tmp_path / "c.sqlite"), revise_repeats=2)
    results = asyncio.run(eng.run(records))
    assert [r.status for r in results] == ["ok"] * 3 and server.requests == 3 + 2 + 2
    assert [r.attempts for r in results] == [1, 3, 3]
    templated = [templated_narrative_for({"full_name": r["full_name"], "sex": r["sex"]}) for r in records]
    assert [r.texts for r in results] == templated
    assert results[1].rejected.count("near_duplicate: persona") == 2 and "name: persona" in results[1].rejected
    assert set(find_repeated_fields([r.texts for r in results], records)) == {1, 2}
    server.seen.clear()  # the first answer of each record is templated again
    off = engine(server, CallCache(tmp_path / "off.sqlite"), revise_repeats=0)
    assert [r.attempts for r in asyncio.run(off.run(records))] == [1, 1, 1] and off.stats.revisions == 0


def test_repeats_are_found_within_a_planning_area_and_failed_records_take_no_part() -> None:
    """A partition gets the same texts alone or grouped with others into one run: only records of the same area
    are compared."""
    areas = ["Bedok", "Bedok", "Tampines", "Tampines", "Bedok"]
    records = [record(i, planning_area=a) for i, a in enumerate(areas)]
    answers = [templated_narrative_for({"full_name": r["full_name"], "sex": r["sex"]}) for r in records]
    every = [f"near_duplicate: {f}" for f in LLM_FIELDS]
    assert find_repeated_fields(answers, records) == {1: every, 3: every, 4: every}
    answers[0] = None  # failed: the next Bedok record is the first of its area
    assert find_repeated_fields(answers, records) == {3: every, 4: every}
    assert find_repeated_fields(answers[2:4], records[2:4]) == {1: every}
    assert find_repeated_fields(answers, records, scope="run") == {2: every, 3: every, 4: every}


def test_the_test_servers_canned_answers_pass_validation_and_do_not_repeat() -> None:
    """The canned answers stand for a healthy model: valid for their record under every profile (no pastime is
    a worked example's distinctive term, which would read as anchoring) and no near-duplicate of each other."""
    terms = {t for per_field in distinctive_terms().values() for ts in per_field.values() for t in ts}
    assert not [p for p in PASTIMES if p in terms or set(p.split()) & terms]
    sexes, areas = ("Male", "Female"), ("Bedok", "Tampines")
    records = [record(i, sex=sexes[i % 2], planning_area=areas[i // 2 % 2]) for i in range(300)]
    answers = [narrative_for({k: r[k] for k in ("uuid", "full_name", "sex", "planning_area")}) for r in records]
    for profile in PROFILES.values():
        broken = [validate_narrative(a, r, areas, profile) for a, r in zip(answers, records, strict=True)]
        assert not [b for b in broken if b], profile.name
    assert find_repeated_fields(answers, records) == {}
