"""The one LLM client resource: any litellm model (the embedded local model by default), configured by the
Dagster UI/run config or by env vars. The API key is read from an env var (``EnvVar``) and never logged, put in
metadata or shown in the UI (Dagster shows the variable's name, not its value); credentials inside the endpoint URL
are redacted wherever it is shown."""

import os
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, EnvVar

from persona_assets.core.narratives.client import LiteLLMClient, redact_endpoint
from persona_assets.core.narratives.engine import EngineSettings
from persona_assets.core.narratives.local_model import DEFAULT_LOCAL_MODEL, PROVIDER, local_model
from persona_assets.core.narratives.prompts import PromptProfile, select_profile

DEFAULT_MODEL = f"{PROVIDER}/{DEFAULT_LOCAL_MODEL}"
ENV_MODEL, ENV_API_BASE, ENV_API_KEY = "SG_PERSONAS_LLM_MODEL", "SG_PERSONAS_LLM_API_BASE", "SG_PERSONAS_LLM_API_KEY"
ENV_PROFILE = "SG_PERSONAS_LLM_PROMPT_PROFILE"


class NarrativeLLM(ConfigurableResource):
    """Model, endpoint, sampling and reliability settings of every narrative call.

    ``model`` is a litellm model string: ``local/<name>`` for the embedded llama.cpp model (no key, offline),
    ``openai/gpt-4o-mini``, ``nvidia_nim/meta/llama-3.1-8b-instruct``, ``hosted_vllm/<model>`` or
    ``openai/<model>`` with ``api_base`` for any OpenAI-compatible server, ``ollama_chat/<model>`` …
    """

    model: str = DEFAULT_MODEL
    api_base: str | None = None
    api_key: str | None = None  # set with EnvVar("SG_PERSONAS_LLM_API_KEY"); never logged
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 900
    structured_output: bool = True  # send the JSON schema as response_format (a grammar for the local model)
    max_in_flight: int = 0  # 0: the local model's pool size for local/…, else 16
    max_retries: int = 4
    backoff_base_s: float = 0.5
    timeout_s: float = 300.0
    max_attempts: int = 4  # generations per record (first answer + repairs or resamples), then failed
    cache_path: str = ""  # default <dataset root>/cache/llm_calls.sqlite
    prompt_profile: str = ""  # compact | full; default: chosen by model (compact for small models, else full)

    @property
    def is_local(self) -> bool:
        return self.model.startswith(f"{PROVIDER}/")

    def profile(self) -> PromptProfile:
        """The prompt profile: ``prompt_profile`` if set, else the one ``select_profile`` picks for ``model``."""
        return select_profile(self.model, self.prompt_profile)

    def cache_file(self, data_root: Path) -> Path:
        """The call cache: ``cache_path``, else ``<data_root>/cache/llm_calls.sqlite``."""
        return Path(self.cache_path).resolve() if self.cache_path else data_root / "cache" / "llm_calls.sqlite"

    def in_flight(self) -> int:
        if self.max_in_flight > 0:
            return self.max_in_flight
        return max(1, int(os.environ.get("SG_PERSONAS_LOCAL_WORKERS", "1"))) if self.is_local else 16

    def client(self) -> LiteLLMClient:
        if self.is_local:
            from persona_assets.core.narratives.local_model import register_local_provider

            local_model(self.model)  # fail early on an unknown local model
            register_local_provider()
        return LiteLLMClient(self.model, self.api_base, self.api_key, request_timeout_s=self.timeout_s)

    def engine_settings(self, areas: tuple[str, ...]) -> EngineSettings:
        params: dict[str, Any] = {"temperature": self.temperature, "top_p": self.top_p, "max_tokens": self.max_tokens}
        profile = self.profile()
        if self.structured_output:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "persona_narratives", "schema": profile.answer_schema()},
            }
        return EngineSettings(
            model=self.model,
            params=params,
            max_in_flight=self.in_flight(),
            max_retries=self.max_retries,
            backoff_base_s=self.backoff_base_s,
            timeout_s=self.timeout_s,
            max_attempts=self.max_attempts,
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
            "prompt_profile": self.profile().name,
            "prompt_version": self.profile().prompt_version,
        }
        if self.is_local:
            spec = local_model(self.model)
            out.update({"local_weights": spec.upstream, "licence": spec.licence, "weights_sha256": spec.sha256})
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
    ``SG_PERSONAS_LLM_API_KEY`` and ``SG_PERSONAS_LLM_PROMPT_PROFILE`` (each optional; without them, the embedded
    local model with the profile chosen for it)."""
    kwargs: dict[str, Any] = {}
    for field, var in (
        ("model", ENV_MODEL),
        ("api_base", ENV_API_BASE),
        ("api_key", ENV_API_KEY),
        ("prompt_profile", ENV_PROFILE),
    ):
        if os.environ.get(var):
            kwargs[field] = EnvVar(var)
    return NarrativeLLM(**kwargs)
