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

import gc
import os
from dataclasses import dataclass, field
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
    later are tracked as before. This is process-wide and happens once, on the first call: that call pays one
    full collection, and whatever else is alive then (e.g. the Dagster op's own objects) is frozen too, so any
    of it that later becomes cyclic garbage is not reclaimed (bounded by what existed at that moment)."""
    global _FROZEN
    import litellm

    if not _FROZEN:
        _FROZEN = True
        litellm.suppress_debug_info = True
        gc.collect()
        gc.freeze()
    return litellm


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("retry-after") or headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _cost(resp: Any) -> float:
    hidden = getattr(resp, "_hidden_params", None) or {}
    value = hidden.get("response_cost") if hasattr(hidden, "get") else getattr(hidden, "response_cost", None)
    try:
        return float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0


class LiteLLMClient:
    def __init__(
        self, model: str, api_base: str | None = None, api_key: str | None = None, request_timeout_s: float = 120.0
    ) -> None:
        self.model = model
        self.api_base = api_base
        self._api_key = api_key
        self.request_timeout_s = request_timeout_s

    def __repr__(self) -> str:  # never show the key
        return f"LiteLLMClient(model={self.model!r}, api_base={self.api_base!r})"

    def _base_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": self.model, "num_retries": 0, "timeout": self.request_timeout_s}
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self._api_key:
            kwargs["api_key"] = self._api_key
        return kwargs

    async def complete(self, messages: list[dict[str, str]], params: dict[str, Any]) -> Completion:
        litellm = _litellm()
        kwargs = {**self._base_kwargs(), "messages": messages, **params}
        try:
            resp = await litellm.acompletion(**kwargs)
        except litellm.RateLimitError as exc:
            raise TransientError("429", _retry_after(exc)) from None
        except (litellm.AuthenticationError, litellm.PermissionDeniedError, litellm.NotFoundError) as exc:
            raise PermanentError(type(exc).__name__) from None
        except litellm.BadRequestError as exc:
            raise PermanentError(f"bad request ({type(exc).__name__})") from None
        except litellm.Timeout:
            raise TransientError("timeout") from None
        except (litellm.InternalServerError, litellm.ServiceUnavailableError) as exc:
            raise TransientError(f"{getattr(exc, 'status_code', '5xx')}") from None
        except litellm.APIConnectionError:
            raise TransientError("connection or unreadable body") from None
        except litellm.APIError as exc:
            code = getattr(exc, "status_code", None)
            raise TransientError(f"api error {code}") from None
        except ValueError:
            raise TransientError("unreadable body") from None
        return completion_of(resp)


def _reasoning_tokens(usage: Any) -> int:
    details = getattr(usage, "completion_tokens_details", None)
    value = getattr(details, "reasoning_tokens", None) if details is not None else None
    return int(value or 0)


def completion_of(resp: Any) -> Completion:
    """The answer's text (``message.content`` only: a reasoning model's ``reasoning_content`` is kept out), usage
    (completion tokens include reasoning tokens, as providers count them) and ``finish_reason``. An empty answer
    is transient, unless it was cut at ``max_tokens`` (e.g. all spent on reasoning): the engine then asks again
    with more room."""
    choice = resp.choices[0]
    text = choice.message.content or ""
    finish_reason = getattr(choice, "finish_reason", None)
    if not text.strip() and finish_reason != "length":
        raise TransientError("empty message")
    usage = getattr(resp, "usage", None)
    return Completion(
        text=text,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cost=_cost(resp),
        finish_reason=finish_reason,
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

    def __call__(self) -> LiteLLMClient:
        return LiteLLMClient(self.model, self.api_base, self.api_key, self.request_timeout_s)
