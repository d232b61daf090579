"""A local OpenAI-compatible test server (a real HTTP server on 127.0.0.1) that can inject faults.

``POST /v1/chat/completions`` answers with a narrative built from the FACTS block of the prompt (so it passes
validation), after an optional latency. Faults are scripted per request: a queue of one-off faults, and/or a
deterministic per-prompt fault plan (``plan(prompt_index, attempt) -> fault``). Faults: ``429`` (with
``Retry-After``), ``500``, ``503``, ``timeout`` (sleeps past the client's timeout), ``truncated`` (a cut JSON
body), ``non_json`` (a body that is not JSON), ``bad_narrative`` (valid JSON that fails validation),
``empty`` (an empty message). Every request is counted (``requests``) once it is being served (see
``max_concurrency``). Loopback only.

``max_concurrency`` makes it a provider with a concurrency limit C, like a vLLM server's ``max_num_seqs`` or a
gateway's per-key cap: at most C requests are served at once (each taking the latency L); further requests queue
until a slot frees, so C/L requests per second is the most any client can get. ``active`` is the number being
served now, ``peak_active`` the largest number served at once; ``GET /v1/stats`` returns them with ``requests``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from persona_assets.core.narratives.prompts import read_facts
from persona_assets.core.schema import LIST_FIELDS, LLM_FIELDS, PERSONA_FIELDS

FAULTS = ("429", "500", "503", "timeout", "truncated", "non_json", "bad_narrative", "empty")


def narrative_for(facts: dict[str, Any]) -> dict[str, Any]:
    """A canned answer in character that passes validation under every prompt profile (attribute texts have a
    second sentence, for the ``full`` profile's paragraph-length bounds)."""
    name = facts.get("full_name", "The resident")
    area = facts.get("planning_area", "Singapore")
    pron = "he" if facts.get("sex") == "Male" else "she"
    poss = "his" if facts.get("sex") == "Male" else "her"
    out: dict[str, Any] = {}
    for f in LLM_FIELDS:
        if f in LIST_FIELDS:
            out[f] = ["reading", "cooking", "walking"]
        else:
            out[f] = (
                f"{name} lives in {area}, where {pron} spends {poss} weekends at the hawker centre "
                f"and the park connector ({f.replace('_', ' ')})."
            )
            if f not in PERSONA_FIELDS:
                out[f] += f" On weekday evenings {pron} keeps a notebook of the stalls and routes {pron} likes best."
    return out


class _Handler(BaseHTTPRequestHandler):
    server: LLMTestServer  # type: ignore[assignment]
    # like a production server: persistent HTTP/1.1 connections (every response sends Content-Length), no Nagle
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:  # quiet
        return

    def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
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
                }
            self._send(200, json.dumps(stats).encode())
        elif self.path.rstrip("/").endswith("/models"):
            self._send(200, json.dumps({"object": "list", "data": [{"id": "test-model", "object": "model"}]}).encode())
        else:
            self._send(404, b"{}")

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length) or b"{}")
        srv = self.server
        with srv.slot():
            self._serve(srv, request)

    def _serve(self, srv: LLMTestServer, request: dict[str, Any]) -> None:
        fault = srv.next_fault(request)
        if srv.latency_s:
            time.sleep(srv.latency_s)
        if fault == "429":
            self._send(
                429,
                b'{"error": {"message": "rate limited", "type": "rate_limit"}}',
                {"Retry-After": str(srv.retry_after_s)},
            )
            return
        if fault in ("500", "503"):
            self._send(int(fault), b'{"error": {"message": "server error", "type": "server_error"}}')
            return
        if fault == "timeout":
            time.sleep(srv.timeout_sleep_s)
        facts = read_facts(request.get("messages", []))
        content = json.dumps(narrative_for(facts))
        if fault == "bad_narrative":
            content = json.dumps({**narrative_for(facts), "persona": "Someone likes things."})
        if fault == "empty":
            content = ""
        body = json.dumps(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": "test-model",
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 200, "total_tokens": 300},
            }
        ).encode()
        if fault == "truncated":
            body = body[: len(body) // 2]
        if fault == "non_json":
            body = b"<html>upstream proxy error</html>"
        self._send(200, body)


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
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.latency_s = latency_s
        self.max_concurrency = max_concurrency
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
            try:
                key = json.dumps(read_facts(request.get("messages", [])), sort_keys=True)
            except (ValueError, json.JSONDecodeError):
                key = "?"
            self.seen[key] += 1
            n = self.seen[key]
            fault = self.queue.popleft() if self.queue else (self.plan(request, n) if self.plan else None)
            if fault:
                self.faults_served[fault] += 1
            return fault

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """One request being served: waits for a free slot under ``max_concurrency``; tracks ``peak_active``."""
        if self._slots is not None:
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
    args = ap.parse_args(argv)
    srv = LLMTestServer(latency_s=args.latency, max_concurrency=args.max_concurrency or None)
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
