"""The embedded model's weights run in the calling process by llama-cpp-python, registered with litellm as the
custom provider ``inprocess`` (``litellm.acompletion(model="inprocess/<name>", ...)``). This was the default before
the local llama.cpp server (``llama_server.py``); it is kept as the baseline of
``benchmarks/bench_local_narration.py`` and needs the optional ``inprocess-llm`` extra (llama-cpp-python compiles
from source).

- **Loaded once per process**, in a small pool of ``$SG_PERSONAS_LOCAL_WORKERS`` (default 1) model instances
  with ``$SG_PERSONAS_LOCAL_THREADS`` (default 1) threads each; each instance serves one request at a time
  (llama.cpp contexts are not thread-safe), so the provider is thread-safe. Parallelism comes from several
  processes (one per core), which share the weights through the page cache (the file is memory-mapped).
- **Structured output**: a JSON schema passed as ``response_format`` becomes a llama.cpp grammar.
- **Styles**: instruction-tuned models get their chat template; base models get the messages flattened into a
  few-shot continuation prompt.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

from persona_assets.core.narratives.local_model import INPROCESS_PROVIDER, LocalModel, ensure_weights, local_model

PROVIDER = INPROCESS_PROVIDER


def continuation_prompt(messages: list[dict[str, str]]) -> str:
    """Chat messages flattened for a base model: instructions, then FACTS/JSON pairs, ending at the open answer."""
    parts: list[str] = []
    for m in messages:
        content = m.get("content", "")
        if m.get("role") == "system":
            parts.append(content)
        elif m.get("role") == "user":
            parts.append(content.split("\n", 1)[0])
        else:
            parts.append(f"JSON: {content}")
    return "\n\n".join(parts) + "\nJSON: "


class _Pool:
    """``size`` llama.cpp instances of one model; each serves one request at a time."""

    def __init__(self, spec: LocalModel, path: Path, size: int, threads: int) -> None:
        from llama_cpp import Llama

        self.spec = spec
        self._free: queue.Queue[Any] = queue.Queue()
        for _ in range(size):
            self._free.put(
                Llama(
                    model_path=str(path),
                    n_ctx=spec.n_ctx,
                    n_threads=threads,
                    n_threads_batch=threads,
                    verbose=False,
                )
            )
        self._grammars: dict[str, Any] = {}
        self._grammar_lock = threading.Lock()

    def grammar(self, schema: dict[str, Any]) -> Any:
        from llama_cpp import LlamaGrammar

        key = json.dumps(schema, sort_keys=True)
        with self._grammar_lock:
            if key not in self._grammars:
                self._grammars[key] = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
            return self._grammars[key]

    def generate(self, messages: list[dict[str, str]], params: dict[str, Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "temperature": float(params.get("temperature", 0.7)),
            "top_p": float(params.get("top_p", 0.95)),
            "max_tokens": int(params.get("max_tokens") or 1024),
        }
        if params.get("seed") is not None:
            kwargs["seed"] = int(params["seed"])
        schema = _schema_of(params.get("response_format"))
        if schema is not None:
            kwargs["grammar"] = self.grammar(schema)
        llm = self._free.get()
        try:
            if self.spec.style == "chat":
                out = llm.create_chat_completion(messages=messages, **kwargs)
                text = out["choices"][0]["message"]["content"] or ""
            else:
                out = llm.create_completion(prompt=continuation_prompt(messages), **kwargs)
                text = out["choices"][0]["text"] or ""
        finally:
            self._free.put(llm)
        return {"text": text, "usage": out.get("usage", {}), "finish_reason": out["choices"][0].get("finish_reason")}


def _schema_of(response_format: Any) -> dict[str, Any] | None:
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_schema":
        js = response_format.get("json_schema") or {}
        return js.get("schema") if isinstance(js, dict) else None
    if response_format.get("type") == "json_object":
        return response_format.get("schema") or {"type": "object"}
    return None


_POOLS: dict[str, _Pool] = {}
_POOLS_LOCK = threading.Lock()


def pool_for(name: str) -> _Pool:
    """The process-wide pool for a model (created, and its weights verified, on first use)."""
    spec = local_model(name)
    with _POOLS_LOCK:
        if spec.name not in _POOLS:
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads must not spin
            path = ensure_weights(spec)
            size = max(1, int(os.environ.get("SG_PERSONAS_LOCAL_WORKERS", "1")))
            threads = max(1, int(os.environ.get("SG_PERSONAS_LOCAL_THREADS", "1")))
            _POOLS[spec.name] = _Pool(spec, path, size, threads)
        return _POOLS[spec.name]


def _response(model: str, result: dict[str, Any], model_response: Any) -> Any:
    from litellm.types.utils import Choices, Message, Usage

    usage = result["usage"] or {}
    model_response.choices = [
        Choices(
            index=0,
            finish_reason=result.get("finish_reason") or "stop",
            message=Message(role="assistant", content=result["text"]),
        )
    ]
    model_response.model = model
    model_response.created = int(time.time())
    model_response.usage = Usage(
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=int(usage.get("completion_tokens", 0)),
        total_tokens=int(usage.get("total_tokens", 0)),
    )
    return model_response


_REGISTERED = False


def register_inprocess_provider() -> None:
    """Register the ``inprocess`` provider with litellm (idempotent; the model loads on its first request)."""
    global _REGISTERED
    if _REGISTERED:
        return
    import asyncio

    import litellm

    class LocalLLM(litellm.CustomLLM):
        def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            params = dict(kwargs.get("optional_params") or {})
            result = pool_for(model).generate(messages, params)
            return _response(f"{PROVIDER}/{model}", result, kwargs["model_response"])

        async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            params = dict(kwargs.get("optional_params") or {})
            pool = await asyncio.to_thread(pool_for, model)
            result = await asyncio.to_thread(pool.generate, messages, params)
            return _response(f"{PROVIDER}/{model}", result, kwargs["model_response"])

    handler = LocalLLM()
    others = [p for p in (litellm.custom_provider_map or []) if p.get("provider") != PROVIDER]
    litellm.custom_provider_map = [*others, {"provider": PROVIDER, "custom_handler": handler}]
    _REGISTERED = True


class InprocessClientFactory:
    """A picklable recipe for a client of the in-process provider in a worker process (``sharded.ShardedEngine``):
    registers the provider there, then returns a plain :class:`LiteLLMClient`."""

    def __init__(self, model: str, request_timeout_s: float = 600.0) -> None:
        self.model, self.request_timeout_s = model, request_timeout_s

    def __call__(self) -> Any:
        from persona_assets.core.narratives.client import LiteLLMClient

        local_model(self.model)
        register_inprocess_provider()
        return LiteLLMClient(self.model, request_timeout_s=self.request_timeout_s)
