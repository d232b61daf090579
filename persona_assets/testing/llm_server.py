"""A local OpenAI-compatible test server (a real HTTP server on 127.0.0.1) that can inject faults.

``POST /v1/chat/completions`` answers like a provider: with a narrative built from the FACTS block of the prompt (so
it passes validation) when the prompt has one; otherwise (a health check, another client's prompt, e.g. NVIDIA's
Data Designer) with a short text, or with an object that satisfies the requested JSON schema. Message ``content``
may be a string or a list of parts (``[{"type": "text", "text": …}]``). An optional latency is added.

Faults are scripted per request: a queue of one-off faults, and/or a deterministic per-prompt fault plan
(``plan(request, attempt) -> fault``). Each fault in :data:`FAULTS` turns the normal answer into the reply a broken
provider would send: ``429`` (with ``Retry-After: retry_after_s``, which may be negative), ``500``, ``502`` (an HTML
page, as gateways send), ``503``, ``timeout`` (sleeps past the client's timeout), ``truncated`` (a cut JSON body),
``non_json`` (a body that is not JSON), ``bad_narrative`` (valid JSON that fails validation), ``templated`` (a valid
answer that is the same template for every record: near-duplicates for the revision pass), ``empty`` (an empty
message), ``no_choices`` (``choices: []``), ``null_message`` (``message: null``), ``non_string_content``
(``content: 42``), ``string_usage`` (``usage`` counts as strings), ``context_window`` (a 400 saying the context
length is exceeded), and any other three-digit status (``"401"``, ``"403"``…) with an OpenAI error body. To add
one, add a function to :data:`FAULTS`.
Every request is counted (``requests``) once it is being served (see ``max_concurrency``). Loopback only.

``max_concurrency`` makes it a provider with a concurrency limit C, like a vLLM server's ``max_num_seqs`` or a
gateway's per-key cap: at most C requests are served at once (each taking the latency L); further requests queue
until a slot frees, so C/L requests per second is the most any client can get. ``active`` is the number being
served now, ``peak_active`` the largest number served at once; ``GET /v1/stats`` returns them with ``requests``.
With ``overload="reject"`` it is a provider that refuses instead of queueing (a gateway's 429): a request above C
is answered ``429`` at once (``rejected`` counts them); ``peak_in_flight`` counts every request being handled,
refused ones included.

Shapes of other servers: ``reasoning=True`` answers like a reasoning model behind vLLM (gpt-oss): the message
carries ``reasoning_content`` besides ``content``, and ``usage.completion_tokens`` includes the reasoning tokens
(``completion_tokens_details.reasoning_tokens``). The shape fault ``length`` (:data:`SHAPE_FAULTS`) answers a cut
JSON text with ``finish_reason: "length"`` (an answer that hit ``max_tokens``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from persona_assets.core.narratives.prompts import read_facts
from persona_assets.core.schema import LIST_FIELDS, LLM_FIELDS, PERSONA_FIELDS

JSON = "application/json"
#: An HTTP reply: status, body, headers (``Content-Type`` included).
Reply = tuple[int, bytes, dict[str, str]]
OVERLOAD_MODES = ("queue", "reject")
REASONING_TOKENS = 120  # reasoning tokens of every answer when ``reasoning`` is on


#: Everyday pastimes the canned answers draw from (by a digest of the facts), so that two residents' texts differ in
#: more than their names: a templated answer would be a near-duplicate of every other record's, which the
#: engine's revision pass (``repeats.py``) sends back. None is a distinctive term of a worked example
#: (``metrics.distinctive_terms``), which would make the answer anchored (``tests/test_narratives.py`` checks).
PASTIMES = (
    "chess", "baking", "gardening", "jogging", "photography", "karaoke", "mahjong", "birdwatching", "calligraphy",
    "crochet", "origami", "board games", "yoga", "table tennis", "bowling", "kite flying", "fishing", "pottery",
    "knitting", "journaling", "podcasts", "jigsaw puzzles", "sudoku", "crosswords", "film nights", "reading",
    "walking", "guitar", "piano", "sewing", "volleyball", "basketball", "archery", "watercolours", "ukulele",
    "aquariums", "model kits", "quizzes", "darts", "squash", "ice skating", "bird photography", "woodwork",
    "embroidery", "scrabble", "poetry", "astronomy", "magic tricks", "puppetry", "cross stitch", "rollerblading",
    "kayaking", "frisbee", "harmonica", "terrariums",
)  # fmt: skip


def _pastimes(digest: bytes, k: int) -> list[str]:
    """``k`` different pastimes chosen by the bytes of ``digest``."""
    pool, out = list(PASTIMES), []
    for b in digest[:k]:
        out.append(pool.pop(b % len(pool)))
    return out


def _assemble(
    first: Callable[[str], str], second: Callable[[str], str], items: Callable[[str], list[str]]
) -> dict[str, Any]:
    """An answer from each field's first sentence, its second one (attribute texts only: the ``full`` profile's
    paragraph-length bounds) and, for a list field, its items."""
    out: dict[str, Any] = {}
    for f in LLM_FIELDS:
        if f in LIST_FIELDS:
            out[f] = items(f)
        else:
            out[f] = first(f) if f in PERSONA_FIELDS else f"{first(f)} {second(f)}"
    return out


def narrative_for(facts: dict[str, Any]) -> dict[str, Any]:
    """A canned answer in character that passes validation under every prompt profile (attribute texts have a
    second sentence, for the ``full`` profile's paragraph-length bounds); each text names pastimes chosen by a
    digest of all the facts and the field and ends with that digest, so that two residents -- even two who share
    a name, sex and area (common at 148,000 records) -- get texts of their own, as the narratives suite requires,
    and not near-duplicates of each other."""
    name = facts.get("full_name", "The resident")
    facts_json = json.dumps(facts, sort_keys=True, default=str)
    digest = hashlib.sha256(facts_json.encode()).hexdigest()
    tag = f"{digest[:4]} {digest[4:8]} {digest[8:12]}"
    area = facts.get("planning_area", "Singapore")
    pron = "he" if facts.get("sex") == "Male" else "she"
    poss = "his" if facts.get("sex") == "Male" else "her"
    picks = {f: _pastimes(hashlib.sha256(f"{f}/{facts_json}".encode()).digest(), 8) for f in LLM_FIELDS}
    return _assemble(
        lambda f: (
            f"{name} lives in {area}, where {pron} spends {poss} weekends on {', '.join(picks[f][:5])} "
            f"and {picks[f][5]} ({f.replace('_', ' ')}, note {tag})."
        ),
        lambda f: f"On weekday evenings {pron} makes time for {picks[f][6]} and {picks[f][7]} after dinner.",
        lambda f: picks[f][:5],
    )


def templated_narrative_for(facts: dict[str, Any]) -> dict[str, Any]:
    """A valid answer that is one template for everyone (only the name and pronouns change), as a small model
    writes: every record's texts are near-duplicates of every other's (the ``templated`` fault)."""
    name = facts.get("full_name", "The resident")
    pron = "he" if facts.get("sex") == "Male" else "she"
    poss = "his" if facts.get("sex") == "Male" else "her"
    return _assemble(
        lambda f: (
            f"{name} spends {poss} weekends at the hawker centre and the park connector near home, where "
            f"{pron} meets old friends ({f.replace('_', ' ')})."
        ),
        lambda f: f"On weekday evenings {pron} keeps a notebook of the stalls and routes {pron} likes best.",
        lambda f: ["reading", "cooking", "walking"],
    )


def message_text(content: Any) -> str:
    """The text of a message's ``content``: a string, or a list of parts whose text parts are joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type", "text") == "text")
    return ""


def text_messages(request: dict[str, Any]) -> list[dict[str, str]]:
    messages = request.get("messages")
    if not isinstance(messages, list):
        return []
    return [
        {"role": str(m.get("role", "")), "content": message_text(m.get("content"))}
        for m in messages
        if isinstance(m, dict)
    ]


def facts_of(request: dict[str, Any]) -> dict[str, Any] | None:
    """The FACTS block of the prompt, or None when the prompt has none."""
    try:
        return read_facts(text_messages(request))
    except (ValueError, json.JSONDecodeError):
        return None


def instance_of(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """A small value that satisfies ``schema`` (the JSON-schema subset structured-output clients send: types,
    ``properties``/``required``, ``items`` with ``minItems``, ``enum``/``const``, ``anyOf``/``oneOf``, string lengths,
    numeric minimums, local ``$ref`` into ``$defs``/``definitions``). Formats and patterns are not honoured."""
    defs = defs if defs is not None else {**schema.get("definitions", {}), **schema.get("$defs", {})}
    if "$ref" in schema:
        return instance_of(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return instance_of(schema[key][0], defs)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: instance_of(props.get(k, {}), defs) for k in dict.fromkeys([*schema.get("required", []), *props])}
    if kind == "array":
        item = schema.get("items", {})
        return [instance_of(item, defs) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return int(low) if kind == "integer" else float(low)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    text = "a short generic answer from the test server"
    low, high = schema.get("minLength", 0), schema.get("maxLength", len(text))
    return (text * (low // len(text) + 1))[: max(low, min(high, len(text)))]


def answer_for(request: dict[str, Any]) -> str:
    """The message content a healthy provider answers with."""
    facts = facts_of(request)
    if facts is not None:
        return json.dumps(narrative_for(facts))
    fmt = request.get("response_format") if isinstance(request.get("response_format"), dict) else {}
    if fmt.get("type") == "json_schema":
        return json.dumps(instance_of(fmt.get("json_schema", {}).get("schema", {})))
    if fmt.get("type") == "json_object":
        return json.dumps({"answer": "ok"})
    return "OK"


def completion(content: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 200, "total_tokens": 300},
    }


def json_reply(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return status, json.dumps(obj).encode(), {"Content-Type": JSON, **(headers or {})}


def error_reply(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> Reply:
    return json_reply({"error": {"message": message, "type": kind}}, status, headers)


def _edit(body: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> Reply:
    edit(body)
    return json_reply(body)


def _timeout(srv: LLMTestServer, request: dict[str, Any], body: dict[str, Any]) -> Reply:
    time.sleep(srv.timeout_sleep_s)
    return json_reply(body)


def _bad_narrative(srv: LLMTestServer, request: dict[str, Any], body: dict[str, Any]) -> Reply:
    answer = {**narrative_for(facts_of(request) or {}), "persona": "Someone likes things."}
    return _edit(body, lambda b: b["choices"][0]["message"].update(content=json.dumps(answer)))


def _templated(srv: LLMTestServer, request: dict[str, Any], body: dict[str, Any]) -> Reply:
    answer = templated_narrative_for(facts_of(request) or {})
    return _edit(body, lambda b: b["choices"][0]["message"].update(content=json.dumps(answer)))


def _cut(reply: Reply) -> Reply:
    code, data, headers = reply
    return code, data[: len(data) // 2], headers


#: A fault takes the server, the request and the healthy completion body and returns the reply to send instead.
Fault = Callable[["LLMTestServer", dict[str, Any], dict[str, Any]], Reply]

FAULTS: dict[str, Fault] = {
    "429": lambda srv, req, body: error_reply(429, "rate limited", "rate_limit", srv.retry_after_header()),
    "500": lambda srv, req, body: error_reply(500, "server error", "server_error"),
    "502": lambda srv, req, body: (
        502,
        b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
        {"Content-Type": "text/html"},
    ),
    "503": lambda srv, req, body: error_reply(503, "server error", "server_error"),
    "timeout": _timeout,
    "truncated": lambda srv, req, body: _cut(json_reply(body)),
    "non_json": lambda srv, req, body: (200, b"<html>upstream proxy error</html>", {"Content-Type": JSON}),
    "bad_narrative": _bad_narrative,
    "templated": _templated,
    "empty": lambda srv, req, body: _edit(body, lambda b: b["choices"][0]["message"].update(content="")),
    "no_choices": lambda srv, req, body: _edit(body, lambda b: b.update(choices=[])),
    "null_message": lambda srv, req, body: _edit(body, lambda b: b["choices"][0].update(message=None)),
    "non_string_content": lambda srv, req, body: _edit(body, lambda b: b["choices"][0]["message"].update(content=42)),
    "string_usage": lambda srv, req, body: _edit(
        body, lambda b: b.update(usage={"prompt_tokens": "100", "completion_tokens": "lots", "total_tokens": "?"})
    ),
    "context_window": lambda srv, req, body: json_reply(
        {
            "error": {
                "message": "This model's maximum context length is 4096 tokens.",
                "type": "invalid_request_error",
                "code": "context_length_exceeded",
            }
        },
        400,
    ),
}


def _cut_at_max_tokens(body: dict[str, Any]) -> None:
    choice = body["choices"][0]
    content = choice["message"]["content"]
    choice["message"]["content"], choice["finish_reason"] = content[: len(content) // 3], "length"


#: Answer shapes rather than transport faults (handled by the engine, not retried as errors).
SHAPE_FAULTS: dict[str, Fault] = {
    "length": lambda srv, req, body: _edit(body, _cut_at_max_tokens),
}


def fault_reply(fault: str, srv: LLMTestServer, request: dict[str, Any], body: dict[str, Any]) -> Reply:
    """The reply for a named fault; any other three-digit name is that HTTP status with an OpenAI error body."""
    if fault in FAULTS:
        return FAULTS[fault](srv, request, body)
    if fault in SHAPE_FAULTS:
        return SHAPE_FAULTS[fault](srv, request, body)
    if fault.isdigit() and len(fault) == 3:
        return error_reply(int(fault), f"test server: HTTP {fault}", "test_fault")
    return error_reply(500, f"test server: unknown fault {fault!r}", "server_error")


class _Handler(BaseHTTPRequestHandler):
    server: LLMTestServer  # type: ignore[assignment]
    # like a production server: persistent HTTP/1.1 connections (every response sends Content-Length), no Nagle
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:  # quiet
        return

    def _send(self, reply: Reply) -> None:
        held = getattr(self, "_held", None)
        if held is not None:  # answered inside a slot: sent once the slot is free (see do_POST)
            held.append(reply)
            return
        code, body, headers = reply
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/").endswith("/stats"):  # for benchmarks that run the server in its own process
            srv = self.server
            with srv._lock:
                stats = {
                    "requests": srv.requests,
                    "active": srv.active,
                    "peak_active": srv.peak_active,
                    "max_concurrency": srv.max_concurrency,
                    "overload": srv.overload,
                    "rejected": srv.rejected,
                    "peak_in_flight": srv.peak_in_flight,
                }
            self._send(json_reply(stats))
        elif self.path.rstrip("/").endswith("/models"):
            self._send(json_reply({"object": "list", "data": [{"id": "test-model", "object": "model"}]}))
        else:
            self._send(json_reply({}, 404))

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except (ValueError, UnicodeDecodeError):
            request = None
        if not isinstance(request, dict):
            self._send(error_reply(400, "request body is not JSON (an object expected)", "invalid_request_error"))
            return
        srv = self.server
        with srv.arrival():
            if not srv.admit():  # overload="reject" and C requests already being served
                self._send(error_reply(429, "too many concurrent requests", "rate_limit", srv.retry_after_header()))
                return
            self._held: list[Reply] | None = []
            try:
                with srv.slot(admitted=srv.overload == "reject"):
                    self._send(srv.reply(request))
            finally:  # the slot is free before the client can see the answer and send its next request
                held, self._held = self._held, None
                for reply in held:
                    self._send(reply)


class LLMTestServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default listen backlog (5) drops connections when 32 open at once

    def __init__(
        self,
        latency_s: float = 0.0,
        plan: Callable[[dict[str, Any], int], str | None] | None = None,
        retry_after_s: float = 0.05,
        timeout_sleep_s: float = 2.0,
        max_concurrency: int | None = None,
        overload: str = "queue",
        reasoning: bool = False,
    ) -> None:
        if overload not in OVERLOAD_MODES:
            raise ValueError(f"overload must be one of {OVERLOAD_MODES}, not {overload!r}")
        super().__init__(("127.0.0.1", 0), _Handler)
        self.latency_s = latency_s
        self.max_concurrency = max_concurrency
        self.overload = overload
        self.reasoning = reasoning
        self.rejected = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self._slots = threading.BoundedSemaphore(max_concurrency) if max_concurrency else None
        self.active = 0
        self.peak_active = 0
        self.plan = plan
        self.retry_after_s = retry_after_s
        self.timeout_sleep_s = timeout_sleep_s
        self.queue: deque[str] = deque()
        self.requests = 0
        self.bodies: deque[dict[str, Any]] = deque(maxlen=1000)  # the latest request bodies, for assertions
        self.faults_served: Counter[str] = Counter()
        self.seen: Counter[str] = Counter()  # requests per prompt (FACTS uuid/full name)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def next_fault(self, request: dict[str, Any]) -> str | None:
        with self._lock:
            self.requests += 1
            self.bodies.append(request)
            facts = facts_of(request)
            if facts is not None:
                key = json.dumps(facts, sort_keys=True)
            else:  # a prompt without FACTS: counted by its text
                key = hashlib.sha256(json.dumps(text_messages(request)).encode()).hexdigest()
            self.seen[key] += 1
            n = self.seen[key]
            fault = self.queue.popleft() if self.queue else (self.plan(request, n) if self.plan else None)
            if fault:
                self.faults_served[fault] += 1
            return fault

    def reply(self, request: dict[str, Any]) -> Reply:
        """The reply to one chat-completion request: the healthy answer, or what the scripted fault makes of it."""
        fault = self.next_fault(request)
        if self.latency_s:
            time.sleep(self.latency_s)
        body = completion(answer_for(request))
        if self.reasoning:
            body["choices"][0]["message"]["reasoning_content"] = (
                "The facts say who this is; keep every text true to them. " * 8
            )
            body["usage"] = {
                "prompt_tokens": 100,
                "completion_tokens": 200 + REASONING_TOKENS,
                "total_tokens": 300 + REASONING_TOKENS,
                "completion_tokens_details": {"reasoning_tokens": REASONING_TOKENS},
            }
        return json_reply(body) if fault is None else fault_reply(fault, self, request, body)

    def retry_after_header(self) -> dict[str, str]:
        return {"Retry-After": f"{self.retry_after_s:g}"}

    @contextlib.contextmanager
    def arrival(self) -> Iterator[None]:
        """One request being handled, served or refused: tracks ``peak_in_flight``."""
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    def admit(self) -> bool:
        """Whether a request is served: always when queueing (it waits for a slot), else only under C (it then
        holds a slot already, released by :meth:`slot`)."""
        if self.overload != "reject" or self._slots is None:
            return True
        if self._slots.acquire(blocking=False):
            return True
        with self._lock:
            self.rejected += 1
        return False

    @contextlib.contextmanager
    def slot(self, admitted: bool = False) -> Iterator[None]:
        """One request being served: waits for a free slot under ``max_concurrency`` (unless :meth:`admit` took
        it already); tracks ``peak_active``."""
        if self._slots is not None and not admitted:
            self._slots.acquire()
        try:
            with self._lock:
                self.active += 1
                self.peak_active = max(self.peak_active, self.active)
            try:
                yield
            finally:
                with self._lock:
                    self.active -= 1
        finally:
            if self._slots is not None:
                self._slots.release()

    def start(self) -> LLMTestServer:
        self._thread = threading.Thread(target=self.serve_forever, name="llm-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def main(argv: list[str] | None = None) -> int:
    """Run the server in its own process: ``python -m persona_assets.testing.llm_server --latency 0.2``; prints the
    base URL on the first line of stdout and serves until killed."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--max-concurrency", type=int, default=0, help="requests served at once (0: no limit)")
    ap.add_argument("--overload", choices=OVERLOAD_MODES, default="queue", help="above C: queue, or answer 429")
    args = ap.parse_args(argv)
    srv = LLMTestServer(latency_s=args.latency, max_concurrency=args.max_concurrency or None, overload=args.overload)
    print(srv.base_url, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
