"""Ten records through the ``full`` prompt profile against the project's test server (its answers are canned):
what the prompt looks like for a capable endpoint. Writes the rendered requests (system prompt, facts, answer
schema) and the engine's results to ``benchmarks/results/full_profile_messages.json`` and a readable Markdown
copy beside it.

    python benchmarks/render_full_profile.py [--residents DIR_OR_PARQUET]

Records: the first ten residents (in uuid-hash order, as ``select_records`` draws them) of the residents table
given, else of a fresh 2,000-record sample of Bedok and Woodlands with the default seed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

import pandas as pd
from _common import sample_snapshot_residents

from persona_assets.core.narratives.client import LiteLLMClient
from persona_assets.core.narratives.engine import CallCache, EngineSettings, NarrativeEngine
from persona_assets.core.narratives.partition import select_records
from persona_assets.core.narratives.prompts import FULL
from persona_assets.core.narratives.report import read_table
from persona_assets.core.schema import PLANNING_AREAS
from persona_assets.testing.llm_server import LLMTestServer

OUT = Path(__file__).resolve().parent / "results"


def sample_residents_default() -> pd.DataFrame:
    parts = sample_snapshot_residents(2000, ("Bedok", "Woodlands"))
    return pd.concat(parts.values(), ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--residents", type=Path, help="residents table (Parquet file or folder)")
    args = ap.parse_args()
    residents = read_table(args.residents) if args.residents else sample_residents_default()
    records = select_records(residents, 10).to_dict("records")
    server = LLMTestServer().start()
    try:
        settings = EngineSettings(
            model="openai/test-model",
            params={
                "temperature": 0.7,
                "top_p": 0.95,
                "max_tokens": 2000,
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "persona_narratives", "schema": FULL.answer_schema()},
                },
            },
            areas=tuple(PLANNING_AREAS),
            profile=FULL.name,
        )
        with tempfile.TemporaryDirectory() as tmp:
            client = LiteLLMClient("openai/test-model", server.base_url, "sk-test-not-a-secret")
            engine = NarrativeEngine(client, CallCache(Path(tmp) / "cache.sqlite"), settings)
            results = asyncio.run(engine.run(records))
        bodies = list(server.bodies)
    finally:
        server.stop()
    out = {
        "profile": FULL.name,
        "prompt_version": FULL.prompt_version,
        "note": "Requests as the test server received them; its answers are canned (they pass the validator), so "
        "only the prompt's shape is shown here, not a model's writing.",
        "requests": [{"messages": b["messages"], "response_format": b.get("response_format")} for b in bodies],
        "results": [
            {"uuid": r.uuid, "status": r.status, "attempts": r.attempts, "reasons": r.reasons} for r in results
        ],
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "full_profile_messages.json").write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding="utf-8")
    lines = [
        f"# Ten records, `full` prompt profile (`{FULL.prompt_version}`), against the test server",
        "",
        out["note"],
        "",
        "## System prompt (the same for every record)",
        "",
        "```text",
        bodies[0]["messages"][0]["content"],
        "```",
        "",
        "## The ten requests' FACTS",
        "",
    ]
    for i, b in enumerate(bodies, start=1):
        roles = [m["role"] for m in b["messages"]]
        lines += [
            f"{i}. roles {roles}",
            "",
            "   ```text",
            "   " + b["messages"][-1]["content"].replace("\n", "\n   "),
            "   ```",
            "",
        ]
    lines += [
        "## Answer schema (response_format)",
        "",
        "```json",
        json.dumps(bodies[0].get("response_format"), indent=1, ensure_ascii=False),
        "```",
        "",
    ]
    (OUT / "full_profile_messages.md").write_text("\n".join(lines), encoding="utf-8")
    print(f"{len(bodies)} requests, {sum(r.status == 'ok' for r in results)}/{len(results)} ok -> {OUT}")


if __name__ == "__main__":
    main()
