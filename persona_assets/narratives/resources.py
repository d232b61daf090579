"""The one LLM client resource: any litellm model (the embedded local model by default), configured by the
Dagster UI/run config or by env vars. The API key is read from an env var (``EnvVar``) and never logged, put in
metadata or shown in the UI (Dagster shows the variable's name, not its value); credentials inside the endpoint URL
are redacted wherever it is shown.

The embedded model (``local/<name>``) runs behind a local llama.cpp server that this resource starts on demand
(``core/narratives/llama_server.py``): the first call of a run takes a lease on a running server of the same
configuration or starts one; the lease ends with the run, and the server stops ``local_linger_s`` after the last
lease (so the runs of one backfill or ``make run`` share it), or when every process holding a lease has died."""

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dagster import ConfigurableResource, EnvVar

from persona_assets.core.narratives.call_cache import RedisCallCache, is_redis_url
from persona_assets.core.narratives.client import LiteLLMClient, redact_endpoint
from persona_assets.core.narratives.engine import CallCache, Client, EngineSettings
from persona_assets.core.narratives.llama_server import (
    DEFAULT_LINGER_S,
    DEFAULT_SLOTS,
    LocalServerClient,
    ServerConfig,
)
from persona_assets.core.narratives.local_model import DEFAULT_LOCAL_MODEL, INPROCESS_PROVIDER, PROVIDER, local_model
from persona_assets.core.narratives.prompts import PromptProfile, select_profile

DEFAULT_MODEL = f"{PROVIDER}/{DEFAULT_LOCAL_MODEL}"
ENV_MODEL, ENV_API_BASE, ENV_API_KEY = "SG_PERSONAS_LLM_MODEL", "SG_PERSONAS_LLM_API_BASE", "SG_PERSONAS_LLM_API_KEY"
ENV_CALL_CACHE = "SG_PERSONAS_CALL_CACHE"
ENV_PROFILE = "SG_PERSONAS_LLM_PROMPT_PROFILE"
ENV_SLOTS = "SG_PERSONAS_LOCAL_SLOTS"
#: a call's time limit by default (``NarrativeLLM.call_timeout_s``)
REMOTE_TIMEOUT_S = 300.0
LOCAL_TIMEOUT_S = 1200.0
#: the adaptive limit's ceiling for a remote provider when ``max_in_flight`` is 0 (the engine finds the real limit)
REMOTE_CEILING = 256


def local_slots(configured: int = 0) -> int:
    """Parallel slots of the embedded server: ``configured``, else ``$SG_PERSONAS_LOCAL_SLOTS``, else 4."""
    return configured if configured > 0 else max(1, int(os.environ.get(ENV_SLOTS) or DEFAULT_SLOTS))


class NarrativeLLM(ConfigurableResource):
    """Model, endpoint, sampling and reliability settings of every narrative call.

    ``model`` is a litellm model string: ``local/<name>`` for the embedded model behind the local llama.cpp
    server (no key, offline), ``openai/gpt-4o-mini``, ``nvidia_nim/meta/llama-3.1-8b-instruct``,
    ``hosted_vllm/<model>`` or ``openai/<model>`` with ``api_base`` for any OpenAI-compatible server,
    ``ollama_chat/<model>`` … (``inprocess/<name>``: the same weights in process, the benchmark's baseline).
    ``extra_body`` goes into every request's JSON as is (``{"reasoning_effort": "low"}``,
    ``{"chat_template_kwargs": {"enable_thinking": false}}`` for vLLM/reasoning models).
    """

    model: str = DEFAULT_MODEL
    api_base: str | None = None
    api_key: str | None = None  # set with EnvVar("SG_PERSONAS_LLM_API_KEY"); never logged
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 900
    structured_output: bool = True  # send the JSON schema as response_format (a grammar for the local model)
    max_in_flight: int = 0  # the adaptive limit's ceiling; 0: twice the local server's slots, else 256
    extra_body: dict[str, Any] = {}  # noqa: RUF012 - pydantic copies the default
    max_retries: int = 4
    backoff_base_s: float = 0.5
    timeout_s: float = 0.0  # seconds a call may take; 0: 300 for a remote provider, 1,200 for the embedded server
    max_attempts: int = 4  # generations per record (first answer + repairs or resamples), then failed
    # rounds of the revision pass: texts repeating an earlier record's of the run are asked for again (0: none)
    revise_repeats: int = 2
    # where finished calls are kept: a SQLite file (default <dataset root>/cache/llm_calls.sqlite: one machine), or
    # redis://host:port/db, shared by every worker of a distributed run (core/narratives/call_cache.py)
    cache_path: str = ""
    prompt_profile: str = ""  # compact | full; default: chosen by model (compact for small models, else full)
    local_slots: int = 0  # parallel slots of the embedded server; 0: $SG_PERSONAS_LOCAL_SLOTS or 4
    local_threads: int = 0  # its threads; 0: one per usable CPU
    local_linger_s: float = DEFAULT_LINGER_S  # how long it outlives its last lease (for the next run of a backfill)

    @property
    def is_local(self) -> bool:
        return self.model.startswith(f"{PROVIDER}/")

    def profile(self) -> PromptProfile:
        """The prompt profile: ``prompt_profile`` if set, else the one ``select_profile`` picks for ``model``."""
        return select_profile(self.model, self.prompt_profile)

    def cache_file(self, data_root: Path) -> Path:
        """The SQLite call cache: ``cache_path``, else ``<data_root>/cache/llm_calls.sqlite``."""
        return Path(self.cache_path).resolve() if self.cache_path else data_root / "cache" / "llm_calls.sqlite"

    def open_cache(self, data_root: Path) -> CallCache | RedisCallCache:
        """The call cache of a run: Redis when ``cache_path`` is a ``redis://`` URL, else the SQLite file."""
        if is_redis_url(self.cache_path):
            return RedisCallCache(self.cache_path)
        return CallCache(self.cache_file(data_root))

    @property
    def is_inprocess(self) -> bool:
        return self.model.startswith(f"{INPROCESS_PROVIDER}/")

    def server_config(self) -> ServerConfig:
        return ServerConfig(
            local_model(self.model).name, slots=local_slots(self.local_slots), threads=self.local_threads
        )

    def in_flight(self) -> int:
        """The ceiling of the engine's adaptive limit."""
        if self.max_in_flight > 0:
            return self.max_in_flight
        if self.is_local:
            return 2 * local_slots(self.local_slots)
        if self.is_inprocess:
            return max(1, int(os.environ.get("SG_PERSONAS_LOCAL_WORKERS", "1")))
        return REMOTE_CEILING

    def call_timeout_s(self) -> float:
        """How long a call may take before it counts as a timeout (and is retried): ``timeout_s``, else 300 s for a
        remote provider and 1,200 s for the embedded server. On 2 cores a call there can wait for a slot behind a
        wave of 4 fresh prompts (~270 s, the first answers of make run) and then take ~200 s itself: at 300 s,
        every make run lost 2 to 8 calls to timeouts, each up to 300 s of a slot's work thrown away."""
        if self.timeout_s > 0:
            return self.timeout_s
        return LOCAL_TIMEOUT_S if self.is_local else REMOTE_TIMEOUT_S

    def initial_in_flight(self) -> int:
        """Where the adaptive limit starts. The embedded server's slot count is known (we start it): start there,
        so that a small step (make run narrates 4 records a step) fills the server from its first call instead of
        climbing 1 → 2 → 4 with each level held for a measured round trip (~45 s a call on 2 cores), and the
        controller still finds what the server serves (above the slots it only queues). An in-process provider
        starts at its ceiling (its worker count); a remote provider at 8."""
        if self.is_local:
            return min(local_slots(self.local_slots), self.in_flight())
        if self.is_inprocess:
            return self.in_flight()
        return min(8, self.in_flight())

    def client(self) -> Client:
        """The engine's client; a :class:`LocalServerClient` (close it: see :meth:`open_client`) for ``local/…``."""
        if self.is_local:
            return LocalServerClient(self.server_config(), self.local_linger_s, request_timeout_s=self.call_timeout_s())
        if self.is_inprocess:
            from persona_assets.core.narratives.inprocess_model import register_inprocess_provider

            local_model(self.model)  # fail early on an unknown local model
            register_inprocess_provider()
        return LiteLLMClient(self.model, self.api_base, self.api_key, request_timeout_s=self.call_timeout_s())

    @contextlib.contextmanager
    def open_client(self) -> Iterator[Client]:
        """The client for one run; the embedded server's lease (if one was taken) is released at the end."""
        client = self.client()
        try:
            yield client
        finally:
            close = getattr(client, "close", None)
            if close is not None:
                close()

    def engine_settings(self, areas: tuple[str, ...]) -> EngineSettings:
        params: dict[str, Any] = {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens}
        profile = self.profile()
        if self.extra_body:
            params["extra_body"] = dict(self.extra_body)
        if self.structured_output:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "persona_narratives", "schema": profile.answer_schema()},
            }
        return EngineSettings(
            model=self.model,
            params=params,
            max_in_flight=self.in_flight(),
            initial_in_flight=self.initial_in_flight(),
            max_retries=self.max_retries,
            backoff_base_s=self.backoff_base_s,
            timeout_s=self.call_timeout_s(),
            max_attempts=self.max_attempts,
            revise_repeats=self.revise_repeats,
            areas=areas,
            profile=profile.name,
        )

    def describe(self) -> dict[str, Any]:
        """What may be shown (metadata, logs): everything but the key, and the endpoint without the credentials it
        may carry (``user:password@``, ``?key=…``: see ``redact_endpoint``)."""
        out: dict[str, Any] = {
            "model": self.model,
            "api_base": redact_endpoint(self.api_base) or "(provider default)",
            "api_key": "set (from env)" if self.api_key else "none",
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "max_in_flight": self.in_flight(),
            "max_attempts": self.max_attempts,
            "revise_repeats": self.revise_repeats,
            "prompt_profile": self.profile().name,
            "prompt_version": self.profile().prompt_version,
        }
        if self.extra_body:
            out["extra_body"] = dict(self.extra_body)
        if self.is_local or self.is_inprocess:
            spec = local_model(self.model)
            out.update({"local_weights": spec.upstream, "licence": spec.licence, "weights_sha256": spec.sha256})
        if self.is_local:
            cfg = self.server_config()
            out["local_server"] = {"slots": cfg.slots, "threads": cfg.resolved_threads(), "ctx": cfg.ctx_per_slot}
        return out


def configured_llm_model() -> str:
    """The model string the environment configures (``SG_PERSONAS_LLM_MODEL``), else the embedded default: what
    ``llm_from_env`` binds and what the narratives' code version digests."""
    return os.environ.get(ENV_MODEL) or DEFAULT_MODEL


def configured_prompt_version() -> str:
    """The prompt version (shared + profile) the environment configures: the profile
    ``SG_PERSONAS_LLM_PROMPT_PROFILE`` names, else the one chosen for ``configured_llm_model()``; what the
    narratives' code version digests."""
    return select_profile(configured_llm_model(), os.environ.get(ENV_PROFILE, "")).prompt_version


def llm_from_env() -> NarrativeLLM:
    """The resource as the environment configures it: ``SG_PERSONAS_LLM_MODEL``, ``SG_PERSONAS_LLM_API_BASE``,
    ``SG_PERSONAS_LLM_API_KEY``, ``SG_PERSONAS_CALL_CACHE`` and ``SG_PERSONAS_LLM_PROMPT_PROFILE`` (each optional;
    without them, the embedded local model with the profile chosen for it and the SQLite cache under the data root)."""
    kwargs: dict[str, Any] = {}
    for field, var in (
        ("model", ENV_MODEL),
        ("api_base", ENV_API_BASE),
        ("api_key", ENV_API_KEY),
        ("cache_path", ENV_CALL_CACHE),
        ("prompt_profile", ENV_PROFILE),
    ):
        if os.environ.get(var):
            kwargs[field] = EnvVar(var)
    return NarrativeLLM(**kwargs)


def configured_llm_pool() -> str:
    """The concurrency pool of the narratives (``dagster.yaml``: ``concurrency.pools``): one per LLM endpoint, as
    the environment configures it: ``llm/local`` for the embedded model, ``llm/<host:port>`` for an endpoint
    (``SG_PERSONAS_LLM_API_BASE``), else ``llm/<provider>`` (``openai``, ``nvidia_nim`` …)."""
    model = configured_llm_model()
    if model.startswith(f"{PROVIDER}/"):
        return "llm/local"
    api_base = os.environ.get(ENV_API_BASE)
    if api_base:
        url = urlsplit(api_base)  # host and port only: never credentials a URL may carry
        return f"llm/{url.hostname}{f':{url.port}' if url.port else ''}" if url.hostname else "llm/endpoint"
    return f"llm/{model.split('/', 1)[0]}"
