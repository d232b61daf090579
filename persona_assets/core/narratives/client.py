"""The one client over litellm: the same code path for the embedded model, OpenAI, NVIDIA NIM, vLLM, Ollama or
any OpenAI-compatible server. Secrets come in as values (the Dagster resource reads them from env vars) and are
never logged or returned.

Every call is one ``litellm.acompletion``, kept lean: litellm costs several ms of CPU per call in the calling
process, which limits how many calls one process can keep going (``sharded.py``, ``benchmarks/README.md``):

- the cost is the response's ``_hidden_params["response_cost"]``, which litellm has already computed (with the
  same calculator) for its own logging: no second ``completion_cost`` pass over every response, which for a
  model litellm cannot price (a local model, a self-hosted server's name) searched litellm's whole price map
  again on every call only to fail (cost 0, as before). Unpriced models are deliberately *not* registered in
  litellm's price map: the registration is process-global and would also zero the price of a priced model whose
  server answers under the registered name.
"""

from __future__ import annotations

import contextlib
import email.utils
import gc
import json
import math
import os
import re
import socket
import sys
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from persona_assets.core.narratives.engine import Completion, PermanentError, TransientError

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_LOG", "ERROR")


_FROZEN = False


def _litellm() -> Any:
    """litellm, imported on first use. Its import builds hundreds of thousands of long-lived objects (the price
    map, provider tables); left in the collected generations, every full (generation-2) collection walks them all
    and stalls the event loop for ~0.2 s, delaying every call in flight. So on first import they are collected
    once and moved to the permanent generation (``gc.freeze``, as for a pre-fork server); only objects created
    later are tracked as before. This is process-wide and happens once, when the first client is built (before
    any call, so that no call's timeout includes the import): that pays one full collection, and whatever else
    is alive then (e.g. the Dagster op's own objects) is frozen too, so any of it that later becomes cyclic
    garbage is not reclaimed (bounded by what existed at that moment)."""
    global _FROZEN
    import litellm

    if not _FROZEN:
        _FROZEN = True
        litellm.suppress_debug_info = True
        gc.collect()
        gc.freeze()
    return litellm


def _retry_after(exc: BaseException) -> float | None:
    """The delay a provider asked for (``Retry-After`` in seconds or as an HTTP date, or ``retry-after-ms``), or
    None when there is none or it is unusable: a negative, non-finite or unreadable value means "no advice", so the
    engine's own backoff applies (a negative one must not mean "retry at once")."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or getattr(exc, "headers", None) or {}
    if not hasattr(headers, "get"):
        return None
    seconds: float | None = None
    if (ms := headers.get("retry-after-ms")) is not None:
        with contextlib.suppress(TypeError, ValueError):
            seconds = float(ms) / 1000
    if seconds is None and (value := headers.get("retry-after") or headers.get("Retry-After")) is not None:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            with contextlib.suppress(TypeError, ValueError, IndexError):
                seconds = (email.utils.parsedate_to_datetime(str(value)) - datetime.now(UTC)).total_seconds()
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _cost(resp: Any) -> float:
    hidden = getattr(resp, "_hidden_params", None) or {}
    value = hidden.get("response_cost") if hasattr(hidden, "get") else getattr(hidden, "response_cost", None)
    try:
        return float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0


#: HTTP statuses worth retrying (the OpenAI SDK's own list): request timeout, conflict, too early, rate limit, 5xx.
RETRY_STATUSES = frozenset({408, 409, 425, 429})
STATUS_REASONS = {
    400: "bad request",
    401: "authentication failed",
    402: "payment required",
    403: "permission denied",
    404: "not found",
    405: "method not allowed",
    413: "request too large",
    415: "unsupported media type",
    422: "unprocessable entity",
}

#: Every exception class of litellm 1.110, most specific first: (class name, retry?, reason). ``None`` as retry
#: means "decide by the HTTP status"; ``None`` as reason means "the HTTP status". Checked against litellm's own
#: list by ``tests/test_provider_faults.py`` (a class added by a litellm upgrade fails that test until mapped).
EXCEPTION_KINDS: tuple[tuple[str, bool | None, str | None], ...] = (
    ("ContextWindowExceededError", False, "context window exceeded"),
    ("ContentPolicyViolationError", False, "content policy violation"),
    ("UnsupportedParamsError", False, "unsupported parameters"),
    ("LiteLLMUnknownProvider", False, "unknown provider"),
    ("PaymentRequiredError", False, "payment required (402)"),
    ("RejectedRequestError", False, "request rejected by the proxy"),
    ("ImageFetchError", False, "image fetch failed"),
    ("MalformedRequestFieldError", False, "malformed request field"),
    ("UnsupportedEndpointError", False, "unsupported endpoint"),
    ("EndpointNotSupportedByModelError", False, "endpoint not supported by the model"),
    ("VectorStoreSearchError", False, "vector store search failed"),
    ("InvalidRequestError", False, "invalid request"),
    ("AuthenticationError", False, "authentication failed (401)"),  # and CallerCredentialAuthenticationError
    ("PermissionDeniedError", False, "permission denied (403)"),
    ("NotFoundError", False, "not found (404)"),
    ("UnprocessableEntityError", False, "unprocessable entity (422)"),
    ("BadRequestError", None, None),  # 400 (422 for some providers): permanent by its status
    ("BudgetExceededError", False, "budget exceeded"),
    ("ModelNotMappedError", False, "model not mapped"),
    ("GuardrailRaisedException", False, "blocked by a guardrail"),
    ("BlockedPiiEntityError", False, "blocked by a guardrail (PII)"),
    ("ModifyResponseException", False, "blocked by a guardrail"),
    ("SensitiveDataRouteException", False, "blocked by a guardrail (sensitive data)"),
    ("RateLimitError", True, "429"),  # and CallerCredentialRateLimitError
    ("Timeout", True, "timeout"),  # a status here (408, 504) is the provider's own timeout answer
    ("BadGatewayError", True, "502"),
    ("ServiceUnavailableError", True, "503"),  # and MidStreamFallbackError
    ("InternalServerError", True, None),
    ("JSONSchemaValidationError", True, "malformed response (answer does not match the JSON schema)"),
    ("APIResponseValidationError", True, "malformed response"),
    ("APIConnectionError", True, "connection error"),
    ("APIError", None, None),  # and MockException: by its status
    ("OpenAIError", None, None),
)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it was raised from (``__cause__``/``__context__``), innermost last."""
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out and len(out) < 12:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def _status(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def _by_status(status: int | None, retry: bool | None, exc: BaseException) -> TransientError | PermanentError | None:
    if status is None:
        return None
    if retry is True or (retry is None and (status in RETRY_STATUSES or status >= 500)):
        return TransientError(str(status), _retry_after(exc))
    return PermanentError(f"{STATUS_REASONS.get(status, 'HTTP error')} ({status})")


def _unsent(chain: list[BaseException]) -> PermanentError | None:
    """A request the HTTP client refused to send (a bad setting, e.g. ``user:password@`` in the endpoint together
    with an API key, or no key at all): retrying cannot help. The message is kept, with any URL in it redacted."""
    inner = chain[-1]
    if type(inner) in (ValueError, TypeError) or (type(inner).__module__, type(inner).__name__) == (
        "openai",
        "OpenAIError",
    ):
        text = re.sub(r"\w+://\S+", lambda m: str(redact_endpoint(m.group(0))), str(inner).splitlines()[0][:160])
        return PermanentError(f"request not sent ({type(inner).__name__}: {text})")
    return None


def classify_error(exc: BaseException) -> TransientError | PermanentError:
    """What a failed call means: worth retrying (:class:`TransientError`, whose ``kind`` names what happened) or
    not (:class:`PermanentError`, with the reason). What happened on the wire wins over litellm's class, which
    for the OpenAI-compatible providers reports a refused connection or a malformed 200 response as a "500"."""
    chain = _chain(exc)
    answered = any(type(e).__name__ == "HTTPStatusError" for e in chain)  # the server sent an HTTP status
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return TransientError("connection refused")
    if any(isinstance(e, socket.gaierror) for e in chain):
        return TransientError("connection error (host not found)")
    if not answered and (
        "Invalid response object" in str(exc)
        or "response with no 'choices'" in str(exc)
        or "'choices' that" in str(exc)
    ):
        return TransientError("malformed response")
    if not answered and any(isinstance(e, json.JSONDecodeError | UnicodeDecodeError) for e in chain):
        return TransientError("malformed response (unreadable body)")
    exceptions = sys.modules.get("litellm.exceptions")
    for name, retry, reason in EXCEPTION_KINDS:
        cls = getattr(exceptions, name, None) if exceptions is not None else None
        if not (isinstance(cls, type) and isinstance(exc, cls)):
            continue
        status = _status(exc)
        if name == "Timeout" and answered and status is not None:
            return TransientError(str(status), _retry_after(exc))
        if name in ("InternalServerError", "APIConnectionError") and not answered:
            connection = any(type(e).__name__ in ("APIConnectionError", "ConnectError") for e in chain[1:])
            if connection or name == "APIConnectionError":
                return TransientError("connection error")
            if (unsent := _unsent(chain)) is not None:
                return unsent
        if reason is None:
            decided = _by_status(status if status is not None else 500, retry, exc)
            assert decided is not None
            return decided
        if retry:
            return TransientError(reason, _retry_after(exc))
        return PermanentError(reason)
    decided = _by_status(_status(exc), None, exc)  # e.g. an openai.APIStatusError litellm did not wrap
    if decided is not None:
        return decided
    if isinstance(exc, ValueError):
        return TransientError("malformed response (unreadable body)")
    return PermanentError(f"unexpected error ({type(exc).__name__})")


def _count(value: Any) -> int:
    """A token count from ``usage``: a non-negative whole number, or 0 for anything else."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return max(int(value), 0)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return 0


def message_text(resp: Any) -> str:
    """The text of the first choice; a malformed response (no choices, no message, content that is neither a
    string nor a list of text parts) is a :class:`TransientError` naming what was wrong."""
    choices = getattr(resp, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise TransientError("malformed response (no choices)")
    message = getattr(choices[0], "message", None)
    if message is None:
        raise TransientError("malformed response (no message)")
    content = getattr(message, "content", None)
    if content is None:
        return ""
    if isinstance(content, list):
        parts = [p.get("text") if isinstance(p, dict) else getattr(p, "text", None) for p in content]
        if all(isinstance(p, str) for p in parts):
            return "".join(parts)  # type: ignore[arg-type]
    if not isinstance(content, str):
        raise TransientError(f"malformed response (content is {type(content).__name__})")
    return content


_SECRET_NAMES = re.compile(
    r"(key|token|secret|passw|pwd|auth|credential|signature|^sig$|session|cookie|^code$|^x-amz-)", re.IGNORECASE
)
_SECRET_VALUE = re.compile(
    r"^(sk-|nvapi-|ghp_|gho_|hf_|xox[abp]-|AKIA|Bearer )|^(?=.*\d)(?=.*[A-Za-z])[\w\-.~+/=]{24,}$"
)
REDACTED = "***"


def redact_endpoint(url: str | None) -> str | None:
    """An endpoint URL fit to show or log: userinfo (``user:secret@``) and the values of query parameters that
    are named like a credential (``key``, ``api_key``, ``token``, ``sig``…) or look like one (a known key prefix,
    or 24+ characters mixing letters and digits) become ``***``; a fragment is dropped. Scheme, host, port and
    path are kept (a secret in the path itself is not recognised: keep keys out of paths)."""
    if not url:
        return url
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    safe = [(k, REDACTED if _SECRET_NAMES.search(k) or _SECRET_VALUE.search(v) else v) for k, v in query]
    return urllib.parse.urlunsplit(
        (parts.scheme, netloc, parts.path, urllib.parse.urlencode(safe, safe="*") if query else parts.query, "")
    )


#: What a keyless OpenAI-compatible server (llama-server, vLLM or NIM started without ``--api-key``) is sent as
#: the key: litellm's ``openai/`` provider refuses to send a request without one ("Missing credentials"), and such a
#: server ignores it. Not a secret.
NO_KEY = "sk-local-no-key"


def needs_placeholder_key(model: str, api_base: str | None, api_key: str | None) -> bool:
    """``openai/<model>`` at an explicit ``api_base`` with no key given, in the call or as ``OPENAI_API_KEY``:
    a local or self-hosted server, which must not fail every record for want of a key it does not check."""
    return bool(api_base) and not api_key and model.startswith("openai/") and not os.environ.get("OPENAI_API_KEY")


class LiteLLMClient:
    def __init__(
        self, model: str, api_base: str | None = None, api_key: str | None = None, request_timeout_s: float = 120.0
    ) -> None:
        self.model = model
        self.api_base = api_base
        self._api_key = api_key
        self.request_timeout_s = request_timeout_s
        # Imported here, not on the first call: the import takes seconds (14-40 s on a loaded machine), and the
        # engine's timeout clock for the first call must not include it.
        _litellm()

    def __repr__(self) -> str:  # never show the key, nor credentials inside the endpoint
        return f"LiteLLMClient(model={self.model!r}, api_base={redact_endpoint(self.api_base)!r})"

    def _base_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": self.model, "num_retries": 0, "timeout": self.request_timeout_s}
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self._api_key:
            kwargs["api_key"] = self._api_key
        elif needs_placeholder_key(self.model, self.api_base, self._api_key):
            kwargs["api_key"] = NO_KEY
        return kwargs

    async def complete(self, messages: list[dict[str, str]], params: dict[str, Any]) -> Completion:
        litellm = _litellm()
        kwargs = {**self._base_kwargs(), "messages": messages, **params}
        try:
            resp = await litellm.acompletion(**kwargs)
        except Exception as exc:  # every failure becomes a retry or a permanent failure with a reason
            raise classify_error(exc) from None
        return completion_of(resp)


def _reasoning_tokens(usage: Any) -> int:
    details = getattr(usage, "completion_tokens_details", None)
    return _count(getattr(details, "reasoning_tokens", None) if details is not None else None)


def completion_of(resp: Any) -> Completion:
    """The answer's text (``message.content`` only: a reasoning model's ``reasoning_content`` is kept out; a
    malformed response is a :class:`TransientError` naming what was wrong), usage (completion tokens include
    reasoning tokens, as providers count them) and ``finish_reason``. An empty answer is transient, unless it was
    cut at ``max_tokens`` (e.g. all spent on reasoning): the engine then asks again with more room."""
    text = message_text(resp)
    finish_reason = getattr(resp.choices[0], "finish_reason", None)
    if not text.strip() and finish_reason != "length":
        raise TransientError("empty message")
    usage = getattr(resp, "usage", None)
    return Completion(
        text=text,
        prompt_tokens=_count(getattr(usage, "prompt_tokens", 0)),
        completion_tokens=_count(getattr(usage, "completion_tokens", 0)),
        cost=_cost(resp),
        finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        reasoning_tokens=_reasoning_tokens(usage),
    )


@dataclass(frozen=True)
class LiteLLMClientFactory:
    """A picklable recipe for a :class:`LiteLLMClient`, for worker processes (``sharded.ShardedEngine``); the key
    is left out of its repr."""

    model: str
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    request_timeout_s: float = 120.0

    def __repr__(self) -> str:  # the key left out, credentials inside the endpoint redacted
        return (
            f"LiteLLMClientFactory(model={self.model!r}, api_base={redact_endpoint(self.api_base)!r}, "
            f"request_timeout_s={self.request_timeout_s!r})"
        )

    def __call__(self) -> LiteLLMClient:
        return LiteLLMClient(self.model, self.api_base, self.api_key, self.request_timeout_s)
