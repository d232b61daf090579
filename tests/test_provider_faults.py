"""Provider faults found by the fault campaign (issue 18), each against the real fault-injecting server through
litellm: every litellm exception class maps to a retry or a permanent failure with a reason, malformed 200
responses end the record with a reason, a negative ``Retry-After`` does not mean "no delay", litellm is imported
before any timeout clock starts, and the server itself answers every valid OpenAI request shape."""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jsonschema
import litellm
import pandas as pd
import pytest
from test_narratives import record

from persona_assets.core.narratives.client import (
    EXCEPTION_KINDS,
    LiteLLMClient,
    LiteLLMClientFactory,
    classify_error,
    needs_placeholder_key,
    redact_endpoint,
)
from persona_assets.core.narratives.engine import (
    CallCache,
    EngineSettings,
    NarrativeEngine,
    PermanentError,
    TransientError,
)
from persona_assets.core.narratives.prompts import COMPACT, FULL, render_messages
from persona_assets.testing.llm_server import LLMTestServer

MODEL = "openai/test-model"
NARRATIVE_SCHEMA = COMPACT.answer_schema()


@pytest.fixture
def server():
    srv = LLMTestServer(timeout_sleep_s=1.0).start()
    yield srv
    srv.stop()


def post(server: LLMTestServer, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(
        f"{server.base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, json.loads(resp.read())


# ------------------------------------------------------------------------- item 5: the server's request shapes


def as_parts(messages: list[dict]) -> list[dict]:
    """The same messages with every content as a list of text parts (how NVIDIA's Data Designer sends them)."""
    return [{**m, "content": [{"type": "text", "text": m["content"]}]} for m in messages]


def test_server_answers_content_given_as_a_list_of_parts(server) -> None:
    rec = record(1)
    status, body = post(server, {"model": "test-model", "messages": as_parts(render_messages(rec))})
    assert status == 200
    answer = json.loads(body["choices"][0]["message"]["content"])
    assert answer["persona"].startswith(rec["full_name"])  # answered in character, from the FACTS in the parts
    jsonschema.validate(answer, NARRATIVE_SCHEMA)


def test_server_answers_a_prompt_without_facts(server) -> None:
    status, body = post(server, {"model": "test-model", "messages": [{"role": "user", "content": "ping"}]})
    assert status == 200 and body["choices"][0]["message"]["content"].strip()


DESIGNER_SCHEMA = {  # the shape pydantic gives a structured-output column: $defs, $ref, enums, nested arrays
    "$defs": {
        "Hobby": {
            "type": "object",
            "properties": {"name": {"type": "string", "minLength": 3}, "weekly_hours": {"type": "integer"}},
            "required": ["name", "weekly_hours"],
        }
    },
    "type": "object",
    "properties": {
        "summary": {"type": "string", "minLength": 20, "maxLength": 80},
        "mood": {"enum": ["calm", "busy"]},
        "score": {"type": "number", "minimum": 1},
        "hobbies": {"type": "array", "items": {"$ref": "#/$defs/Hobby"}, "minItems": 2},
        "nickname": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["summary", "mood", "score", "hobbies"],
}


@pytest.mark.parametrize(
    "schema", [NARRATIVE_SCHEMA, FULL.answer_schema(), DESIGNER_SCHEMA], ids=["compact", "full", "designer"]
)
def test_server_answers_a_schema_request_without_facts_with_a_valid_object(server, schema) -> None:
    status, body = post(
        server,
        {
            "model": "test-model",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Describe a hobby."}]}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
        },
    )
    assert status == 200
    jsonschema.validate(json.loads(body["choices"][0]["message"]["content"]), schema)


def test_server_refuses_a_body_that_is_not_json_with_a_400(server) -> None:
    req = urllib.request.Request(f"{server.base_url}/chat/completions", data=b"{not json", method="POST")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=10)
    assert exc.value.code == 400 and "not JSON" in json.loads(exc.value.read())["error"]["message"]


# ------------------------------------------------------------------------- items 1-3: faults through the engine


def engine(base_url: str, tmp_path, **over) -> NarrativeEngine:
    settings = EngineSettings(
        model=MODEL,
        max_in_flight=4,
        timeout_s=over.pop("timeout_s", 5.0),
        backoff_base_s=over.pop("backoff_base_s", 0.01),
        max_retries=over.pop("max_retries", 2),
        areas=("Bedok",),
        **over,
    )
    return NarrativeEngine(
        LiteLLMClient(MODEL, base_url, "sk-test-not-a-secret"), CallCache(tmp_path / "c.sqlite"), settings
    )


def run_always(server: LLMTestServer, tmp_path, fault: str, n: int = 3, **over) -> tuple[list, NarrativeEngine]:
    server.plan = lambda req, seen: fault
    eng = engine(server.base_url, tmp_path, **over)
    return asyncio.run(eng.run([record(i) for i in range(n)])), eng


#: fault -> the record's reason (transient: retried, then this; permanent: at once)
FAULT_REASONS = {
    "500": "transport: 500 after retries",
    "502": "transport: 502 after retries",  # an HTML error page, as gateways send
    "503": "transport: 503 after retries",
    "504": "transport: 504 after retries",
    "429": "transport: 429 after retries",
    "409": "transport: 409 after retries",
    "timeout": "transport: timeout after retries",
    "400": "provider: bad request (400)",
    "401": "provider: authentication failed (401)",
    "403": "provider: permission denied (403)",
    "404": "provider: not found (404)",
    "413": "provider: request too large (413)",
    "422": "provider: unprocessable entity (422)",
    "context_window": "provider: context window exceeded",
    # malformed 200 responses (litellm itself refuses some: "Invalid response object")
    "no_choices": "transport: malformed response (no choices) after retries",
    "null_message": "transport: malformed response after retries",
    "non_string_content": "transport: malformed response after retries",
    "string_usage": "transport: malformed response after retries",
    "non_json": "transport: malformed response (unreadable body) after retries",
    "truncated": "transport: malformed response (unreadable body) after retries",
}


@pytest.mark.parametrize(("fault", "reason"), FAULT_REASONS.items(), ids=FAULT_REASONS)
def test_provider_faults_are_retried_or_failed_at_once_with_a_reason(server, tmp_path, fault, reason) -> None:
    """Every record ends failed with the reason, none is lost and the run goes on. Transient faults: the first
    request and max_retries=2 retries per record. Permanent ones: one request per record. Only the timeout fault
    gets a call limit below the server's 1 s sleep: a 0.5 s limit for every fault timed out answers of a loaded CI
    machine (3 of 18 malformed responses ended as timeouts)."""
    timeout_s = 0.5 if fault == "timeout" else 10.0
    results, eng = run_always(server, tmp_path, fault, n=6, timeout_s=timeout_s)
    assert [r.uuid for r in results] == [f"u{i}" for i in range(6)]
    assert all(r.status == "failed" and r.reasons == [reason] and r.attempts == 1 for r in results), [
        r.reasons for r in results
    ]
    retried = reason.startswith("transport:")
    assert server.requests == 6 * (3 if retried else 1)
    if retried:
        assert eng.stats.transport_errors == {reason.removeprefix("transport: ").removesuffix(" after retries"): 18}


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens there: every connection is refused


def test_a_refused_connection_is_reported_as_such(tmp_path) -> None:
    eng = engine(closed_port_url(), tmp_path)
    results = asyncio.run(eng.run([record(0)]))
    assert results[0].status == "failed" and results[0].reasons == ["transport: connection refused after retries"]
    assert eng.stats.transport_errors == {"connection refused": 3}


def test_a_keyless_openai_compatible_server_is_reached_without_a_key(server, tmp_path, monkeypatch) -> None:
    """vLLM, NIM or a user's llama-server started without ``--api-key``: ``openai/<model>`` at its ``api_base``
    with no key anywhere must narrate, not fail every record with litellm's "Missing credentials"."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = EngineSettings(model=MODEL, max_attempts=1)
    eng = NarrativeEngine(LiteLLMClient(MODEL, server.base_url), CallCache(tmp_path / "c.sqlite"), settings)
    results = asyncio.run(eng.run([record(0)]))
    assert results[0].status == "ok", results[0].reasons
    assert server.requests == 1


def test_a_placeholder_key_only_for_openai_models_at_an_explicit_endpoint_with_no_key(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert needs_placeholder_key("openai/m", "http://127.0.0.1:8000/v1", None)
    assert not needs_placeholder_key("openai/m", "http://127.0.0.1:8000/v1", "sk-given")
    assert not needs_placeholder_key("openai/gpt-4o-mini", None, None)  # OpenAI itself: its own error stands
    assert not needs_placeholder_key("hosted_vllm/m", "http://127.0.0.1:8000/v1", None)  # needs none
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    assert not needs_placeholder_key("openai/m", "http://127.0.0.1:8000/v1", None)  # litellm sends the env's


def test_a_negative_retry_after_falls_back_to_the_engines_backoff(server, tmp_path) -> None:
    server.retry_after_s = -5
    server.plan = lambda req, seen: "429" if seen <= 3 else None
    eng = engine(server.base_url, tmp_path, backoff_base_s=0.1, max_retries=3)
    started = time.perf_counter()
    results = asyncio.run(eng.run([record(0)]))
    elapsed = time.perf_counter() - started
    assert results[0].status == "ok" and server.requests == 4
    assert elapsed >= 0.1 + 0.2 + 0.4, f"3 retries after a negative Retry-After took only {elapsed:.2f} s"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "-5"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after-ms": "-1"}, None),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None),  # a date in the past: no advice
    ],
)
def test_retry_after_parsing(headers, expected) -> None:
    exc = litellm.RateLimitError(
        "x", llm_provider="openai", model="m", response=httpx.Response(429, headers=headers, request=REQUEST)
    )
    decided = classify_error(exc)
    assert isinstance(decided, TransientError) and decided.kind == "429" and decided.retry_after == expected


def test_retry_after_as_a_future_http_date() -> None:
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    exc = litellm.ServiceUnavailableError(
        "x",
        llm_provider="openai",
        model="m",
        response=httpx.Response(503, headers={"Retry-After": when}, request=REQUEST),
    )
    assert 25 < classify_error(exc).retry_after <= 30


# ------------------------------------------------------------------------- item 1: every litellm exception class

REQUEST = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")

#: class name -> (retry?, kind or reason) for the classes litellm raises with their default status
EXPECTED: dict[str, tuple[bool, str]] = {
    "AuthenticationError": (False, "authentication failed (401)"),
    "CallerCredentialAuthenticationError": (False, "authentication failed (401)"),
    "NotFoundError": (False, "not found (404)"),
    "BadRequestError": (False, "bad request (400)"),
    "ImageFetchError": (False, "image fetch failed"),
    "VectorStoreSearchError": (False, "vector store search failed"),
    "MalformedRequestFieldError": (False, "malformed request field"),
    "UnsupportedEndpointError": (False, "unsupported endpoint"),
    "EndpointNotSupportedByModelError": (False, "endpoint not supported by the model"),
    "UnprocessableEntityError": (False, "unprocessable entity (422)"),
    "Timeout": (True, "timeout"),
    "PermissionDeniedError": (False, "permission denied (403)"),
    "RateLimitError": (True, "429"),
    "CallerCredentialRateLimitError": (True, "429"),
    "ContextWindowExceededError": (False, "context window exceeded"),
    "PaymentRequiredError": (False, "payment required (402)"),
    "RejectedRequestError": (False, "request rejected by the proxy"),
    "ContentPolicyViolationError": (False, "content policy violation"),
    "ServiceUnavailableError": (True, "503"),
    "BadGatewayError": (True, "502"),
    "InternalServerError": (True, "500"),
    "APIError": (True, "500"),
    "APIConnectionError": (True, "connection error"),
    "APIResponseValidationError": (True, "malformed response"),
    "JSONSchemaValidationError": (True, "malformed response (answer does not match the JSON schema)"),
    "OpenAIError": (True, "500"),
    "UnsupportedParamsError": (False, "unsupported parameters"),
    "ModelNotMappedError": (False, "model not mapped"),
    "BudgetExceededError": (False, "budget exceeded"),
    "InvalidRequestError": (False, "invalid request"),
    "MockException": (True, "500"),
    "LiteLLMUnknownProvider": (False, "unknown provider"),
    "GuardrailRaisedException": (False, "blocked by a guardrail"),
    "BlockedPiiEntityError": (False, "blocked by a guardrail (PII)"),
    "MidStreamFallbackError": (True, "503"),
    "ModifyResponseException": (False, "blocked by a guardrail"),
    "SensitiveDataRouteException": (False, "blocked by a guardrail (sensitive data)"),
}

#: what the constructors need, by parameter name
ARGS = {
    "message": "m",
    "llm_provider": "openai",
    "custom_llm_provider": "openai",
    "model": "m",
    "status_code": 500,
    "failures": [],
    "raw_response": "{}",
    "schema": "{}",
    "current_cost": 2.0,
    "max_budget": 1.0,
    "request_data": {},
    "entity_type": "NAME",
    "route_to_model": "m",
    "session_id": "s",
    "request": REQUEST,
}


def litellm_exception_classes() -> list[type[BaseException]]:
    return [
        obj
        for obj in vars(litellm.exceptions).values()
        if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == litellm.exceptions.__name__
    ]


def build(cls: type[BaseException]) -> BaseException:
    kwargs = {}
    for name, p in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if name == "response" and p.default is inspect.Parameter.empty:
            kwargs[name] = httpx.Response(400 if "Unprocessable" not in cls.__name__ else 422, request=REQUEST)
        elif name == "response":
            status = {"PermissionDeniedError": 403}.get(cls.__name__)
            if status:
                kwargs[name] = httpx.Response(status, request=REQUEST)
        elif name in ARGS and (p.default is inspect.Parameter.empty or name == "request"):
            kwargs[name] = ARGS[name]
    return cls(**kwargs)


def test_every_litellm_exception_class_is_mapped() -> None:
    names = {c.__name__ for c in litellm_exception_classes()}
    assert names == set(EXPECTED), f"litellm changed its exception classes: {names ^ set(EXPECTED)}"
    assert names <= {n for n, _, _ in EXCEPTION_KINDS} | {
        "CallerCredentialAuthenticationError",
        "CallerCredentialRateLimitError",
        "MidStreamFallbackError",
        "MockException",
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_litellm_exception_maps_to_retry_or_permanent_failure_with_a_reason(name) -> None:
    exc = build(getattr(litellm.exceptions, name))
    retry, reason = EXPECTED[name]
    decided = classify_error(exc)
    assert isinstance(decided, TransientError if retry else PermanentError), (name, decided)
    assert (decided.kind if retry else str(decided)) == reason


@pytest.mark.parametrize(
    ("status", "retry", "reason"),
    [(403, False, "permission denied (403)"), (409, True, "409"), (413, False, "request too large (413)"),
     (418, False, "HTTP error (418)"), (425, True, "425"), (529, True, "529")],
)  # fmt: skip
def test_a_generic_api_error_is_decided_by_its_status(status, retry, reason) -> None:
    decided = classify_error(litellm.APIError(status, "m", "openai", "m"))
    assert isinstance(decided, TransientError if retry else PermanentError)
    assert (decided.kind if retry else str(decided)) == reason


def test_an_unexpected_exception_is_a_permanent_failure_not_a_crash() -> None:
    assert str(classify_error(KeyError("x"))) == "unexpected error (KeyError)"
    assert classify_error(json.JSONDecodeError("x", "{", 0)).kind == "malformed response (unreadable body)"


# ------------------------------------------------------------------------- item 4: import before the clock

IMPORT_PROBE = """
import asyncio, sys, time
from persona_assets.core.narratives.client import LiteLLMClient
from persona_assets.core.narratives.engine import CallCache, EngineSettings, NarrativeEngine
assert "litellm" not in sys.modules, "litellm imported by the modules alone"
started = time.perf_counter()
client = LiteLLMClient("openai/test-model", sys.argv[1], "sk-test")
built = time.perf_counter() - started
assert "litellm" in sys.modules, "litellm not imported when the client was built"
settings = EngineSettings(model="openai/test-model", timeout_s=float(sys.argv[3]), max_retries=0)
eng = NarrativeEngine(client, CallCache(__import__("pathlib").Path(sys.argv[2])), settings)
person = {"uuid": "p0", "full_name": "Lim Hui Min", "first_name": "Hui Min", "sex": "Female", "age": 41,
          "marital_status": "Married", "planning_area": "Bedok"}
results = asyncio.run(eng.run([person]))
print(f"built {built:.2f}", results[0].status, dict(eng.stats.transport_errors))
"""


def test_litellm_is_imported_before_the_first_calls_timeout_starts(server, tmp_path) -> None:
    """A fresh interpreter: building the client imports litellm (seconds), so a first call with a timeout shorter
    than that import still succeeds; before, the import ran inside the first call's timeout and it timed out."""
    out = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, server.base_url, str(tmp_path / "c.sqlite"), "0.8"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    built, status, errors = out.stdout.split(maxsplit=3)[1:]
    assert status == "ok" and errors.strip() == "{}", out.stdout


# ------------------------------------------------------------------------- item 13: credentials in the endpoint

USER, PASSWORD, QUERY_KEY = "svc-user-q7w", "Pw-ZEBRA-91xq-distinctive", "QK-OKAPI-58tz-distinctive"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        (f"https://{USER}:{PASSWORD}@llm.example.com/v1", "https://***@llm.example.com/v1"),
        (f"https://{USER}@llm.example.com:8443/v1", "https://***@llm.example.com:8443/v1"),
        (f"https://h/v1?key={QUERY_KEY}&region=sg", "https://h/v1?key=***&region=sg"),
        (f"https://h/v1?api-version=2024-06-01&Api_Key={QUERY_KEY}", "https://h/v1?api-version=2024-06-01&Api_Key=***"),
        ("https://h/v1?sig=abc&token=t&x=1", "https://h/v1?sig=***&token=***&x=1"),
        ("https://h/v1?deployment=sk-proj-abcdefghijklmnop", "https://h/v1?deployment=***"),  # a key by its look
        ("https://h/v1?x=a1b2c3d4e5f6g7h8i9j0k1l2m3", "https://h/v1?x=***"),
        ("https://h/v1#access_token=abc", "https://h/v1"),
        (None, None),
    ],
)
def test_redact_endpoint(url, shown) -> None:
    assert redact_endpoint(url) == shown


def test_no_repr_or_description_shows_credentials_of_the_endpoint() -> None:
    from persona_assets.narratives.resources import NarrativeLLM

    url = f"https://{USER}:{PASSWORD}@llm.example.com/v1?key={QUERY_KEY}"
    shown = [
        repr(LiteLLMClient(MODEL, url, "sk-key")),
        repr(LiteLLMClientFactory(MODEL, url, "sk-key")),
        json.dumps(NarrativeLLM(model=MODEL, api_base=url, api_key="sk-key").describe()),
    ]
    for text in shown:
        assert "llm.example.com" in text
        assert [w for w in (USER, PASSWORD, QUERY_KEY, "sk-key") if w in text] == [], text


@pytest.mark.slow
def test_narratives_runs_store_and_log_no_credential_of_the_endpoint(
    server, tmp_path, monkeypatch, capfd, caplog
) -> None:
    """Real in-process Dagster runs of persona_narratives with SG_PERSONAS_LLM_API_BASE carrying credentials: a
    ``?key=`` (Bedok: the calls reach the server and succeed) and ``user:password@`` plus the key (Tampines:
    litellm's HTTP client refuses to send a URL with credentials together with an API key, so every record fails
    at once with that reason). None of the three secrets appears in the instance folder (event log, run storage,
    compute logs), the data folder (warehouse, DuckDB, call cache) or the captured output and logs."""
    import logging

    from _helpers import warehouse_resources
    from dagster import DagsterInstance, asset, materialize

    from persona_assets.keys import census_key
    from persona_assets.narratives.assets import persona_narratives
    from persona_assets.narratives.resources import llm_from_env
    from persona_assets.partitions import planning_area_partitions

    host = server.base_url.removeprefix("http://")
    monkeypatch.setenv("SG_PERSONAS_LLM_MODEL", MODEL)
    monkeypatch.setenv("SG_PERSONAS_LLM_API_KEY", "sk-test-not-a-secret")
    caplog.set_level(logging.INFO)

    @asset(name="residents", partitions_def=planning_area_partitions, metadata={"schema": "sample"})
    def residents_stand_in(context) -> pd.DataFrame:  # three residents of the partition, as the prompts read them
        area = context.partition_key
        return pd.DataFrame([{**record(i), "uuid": f"{area}-{i}", "planning_area": area} for i in range(3)])

    @asset(key=census_key("planning_areas"), metadata={"schema": "census"})
    def planning_areas_stand_in() -> pd.DataFrame:  # the narrative budget's allocation reads it
        return pd.DataFrame({"planning_area": ["Bedok", "Tampines"], "residents_15plus": [240_000, 230_000]})

    data, home = tmp_path / "data", tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("SG_PERSONAS_DATA_DIR", str(data))  # the default call cache goes there too
    with DagsterInstance.local_temp(str(home)) as instance:
        for area, api_base in (
            ("Bedok", f"http://{host}?key={QUERY_KEY}"),
            ("Tampines", f"http://{USER}:{PASSWORD}@{host}?key={QUERY_KEY}"),
        ):
            monkeypatch.setenv("SG_PERSONAS_LLM_API_BASE", api_base)
            llm = llm_from_env()
            result = materialize(
                [residents_stand_in, planning_areas_stand_in, persona_narratives],
                partition_key=area,
                resources={**warehouse_resources(data, records_per_partition="all"), "llm": llm},
                instance=instance,
            )
            assert result.success
            meta = result.asset_materializations_for_node("persona_narratives")[0].metadata
            assert meta["llm"].value["api_base"] == redact_endpoint(api_base)
            assert "***" in meta["llm"].value["api_base"] and "127.0.0.1" in meta["llm"].value["api_base"]
            if area == "Bedok":
                assert meta["ok"].value == 3 and server.requests == 3, meta["top_failure_reasons"].value
            else:
                df = pd.read_parquet(data / "warehouse" / "narratives" / "persona_narratives" / "tampines.parquet")
                reasons = {r for rs in df["failure_reasons"] for r in rs}
                assert len(reasons) == 1 and "Cannot combine AUTHORIZATION header" in reasons.pop()
                assert server.requests == 3  # refused before sending, and not retried
    out, err = capfd.readouterr()
    texts = {"stdout": out, "stderr": err, "logs": caplog.text}
    for folder in (home, data):
        for path in folder.rglob("*"):
            if path.is_file():
                texts[str(path)] = path.read_bytes().decode("latin-1")
    assert any(path.endswith(".db") for path in texts) and any("cache" in path for path in texts)
    leaks = {where: w for where, text in texts.items() for w in (USER, PASSWORD, QUERY_KEY) if w in text}
    assert not leaks, leaks
