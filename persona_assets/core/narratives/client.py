"""The one client over litellm: the same code path for the embedded model, OpenAI, NVIDIA NIM, vLLM, Ollama or
any OpenAI-compatible server. Secrets come in as values (the Dagster resource reads them from env vars) and are
never logged or returned."""

from __future__ import annotations

import os
from typing import Any

from persona_assets.core.narratives.engine import Completion, PermanentError, TransientError

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_LOG", "ERROR")


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("retry-after") or headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


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

    async def complete(self, messages: list[dict[str, str]], params: dict[str, Any]) -> Completion:
        import litellm

        litellm.suppress_debug_info = True
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "num_retries": 0,
            "timeout": self.request_timeout_s,
            **params,
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self._api_key:
            kwargs["api_key"] = self._api_key
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
        text = resp.choices[0].message.content or ""
        if not text.strip():
            raise TransientError("empty message")
        usage = getattr(resp, "usage", None)
        try:
            cost = float(litellm.completion_cost(completion_response=resp) or 0.0)
        except Exception:  # noqa: BLE001 - unknown models have no price: cost 0
            cost = 0.0
        return Completion(
            text=text,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cost=cost,
        )
