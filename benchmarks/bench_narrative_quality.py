"""Narrative quality before and after issue 13, measured by the narrative report on the same records.

Both runs narrate the same residents at the same time through one server, so neither gets a quieter machine; they
take hours on a shared 2-core machine, so both write their finished records as they go and resume from them::

    # the records: the first 3 of every populated area as the pipeline samples and selects them (148,000 residents,
    # default seed), laid out area by area in turns so that a stopped run has covered the areas evenly
    python benchmarks/bench_narrative_quality.py choose --out CHOSEN
    # one llama-server of the embedded model (4 slots, 2 threads, as make run starts it) until SIGTERM
    python benchmarks/bench_narrative_quality.py serve --url-file URL_FILE
    # before: main at c873492 (prompt version 2026-11-25.4: one worked example, no field meanings, the old rules)
    git worktree add /tmp/before c873492; cp CHOSEN/chosen.parquet BEFORE/
    PYTHONPATH=/tmp/before OPENAI_API_KEY=sk-local-no-key python benchmarks/replay_narratives.py \
        --chosen BEFORE/chosen.parquet --cache BEFORE/calls.sqlite --out BEFORE --api-base URL --in-flight 2
    # after: this code, the embedded model's name and the prompt profile chosen for it (compact)
    python benchmarks/bench_narrative_quality.py narrate --chosen CHOSEN/chosen.parquet --out AFTER \
        --api-base URL --in-flight 2
    # then all the after run's records in one engine run over its cache, as one partition's run: the revision pass
    # over texts repeating another record's compares them all (a run in chunks compares within a chunk)
    python benchmarks/bench_narrative_quality.py narrate --chosen CHOSEN/chosen.parquet --out AFTER \
        --api-base URL --in-flight 4 --whole
    # the report over both, the rules' false-positive rates on the labelled fixture, ten quoted records
    python benchmarks/bench_narrative_quality.py compare --before BEFORE --after AFTER [--earlier EARLIER]

``BEFORE`` holds ``chosen.parquet`` (the residents) and ``results.parquet`` (one row per record: uuid,
planning_area, status, attempts, failure_reasons, texts as JSON). ``AFTER`` gets ``narratives.parquet`` (the
pipeline's table, ``partition.COLUMNS``), ``summary.json`` and the call cache. Without ``--api-base``, ``narrate``
starts the embedded model itself through the project's supervisor and resource (``--threads``, ``--slots``).
The finished tables are kept in ``benchmarks/results/narrative_quality_runs/``: ``before/``, ``after/`` (this
prompt version) and the after runs of earlier compact versions (``after_compact_v1/``: rotated examples, also shown
in a repair after a copy; ``after_compact_v2/``: no example, stopped after 6 records). Copy them into ``BEFORE`` and
``AFTER`` and both runs go on with the records still to do; ``--earlier`` puts an earlier run beside them.

``compare`` writes ``benchmarks/results/narrative_quality_before_after.{json,md}`` and
``benchmarks/results/compact_profile_records.md`` (ten records of the after run, verbatim).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
from _common import REPO_ROOT, RESULTS_DIR, lscpu, machine_info, now_iso, sample_snapshot_residents

from persona_assets.core.narratives.engine import CallCache
from persona_assets.core.narratives.partition import COLUMNS, narrate_partition
from persona_assets.core.narratives.prompts import COMPACT
from persona_assets.core.narratives.report import build_narrative_report, describe, write_narrative_report
from persona_assets.core.narratives.validate import RULES
from persona_assets.core.schema import LIST_FIELDS, LLM_FIELDS, PLANNING_AREAS

MODEL = "local/qwen2.5-coder-1.5b-instruct"
SERVED_MODEL = "openai/qwen2.5-coder-1.5b-instruct"  # the same weights behind ``serve``'s server
BEFORE_PROMPT_VERSION = "2026-11-25.4"  # main at c873492
BEFORE_COMMIT = "c873492"
NAME = "narrative_quality_before_after"


# ------------------------------------------------------------------------------------------------ narrate


def narrate(
    chosen: Path, out: Path, threads: int, slots: int, chunk: int, first: Path | None, timeout_s: float,
    api_base: str = "", in_flight: int = 0, whole: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Narrate the records of ``chosen`` in chunks of ``chunk`` (each chunk's rows are written as soon as it is
    done: a run stopped early leaves the finished records in ``narratives.parquet``). ``first``: a results table
    whose records go first (those the before run finished, so that a stopped run still compares like with like).
    Each chunk's engine run starts at ``slots`` requests in flight (the resource starts a local model at 1 to
    measure the unloaded latency, which would leave the second slot idle for a whole answer in every chunk).

    ``api_base``: narrate through that server (``serve``) instead of one the resource starts, as
    ``openai/<model>`` with the compact profile (what the resource picks for the embedded model), at most
    ``in_flight`` requests at a time: the before run can then share the same server, each run holding half.

    ``whole``: every record of ``chosen`` in one engine run over the cache (the records done before come from
    it), so that the revision pass over repeated texts (``repeats.py``) compares them all (``repeat_scope="run"``:
    the pipeline compares the records of one partition, ~2,700 at 148,000; these are 2-3 per area, so compared
    by area they would meet almost none); a run in chunks compares only within a chunk. The totals add to the
    earlier summary's."""
    from persona_assets.narratives.resources import NarrativeLLM

    out.mkdir(parents=True, exist_ok=True)
    residents = pd.read_parquet(chosen)
    if first is not None:
        ahead = set(pd.read_parquet(first)["uuid"].astype(str))
        is_ahead = residents["uuid"].astype(str).isin(ahead)
        residents = pd.concat([residents[is_ahead], residents[~is_ahead]], ignore_index=True)
    if api_base:
        llm = NarrativeLLM(
            model=SERVED_MODEL,
            api_base=api_base,
            prompt_profile=COMPACT.name,
            max_in_flight=in_flight,
            cache_path=str(out / "calls.sqlite"),
            timeout_s=timeout_s,
        )
    else:
        llm = NarrativeLLM(
            model=MODEL,
            local_threads=threads,
            local_slots=slots,
            cache_path=str(out / "calls.sqlite"),
            local_linger_s=5,
            timeout_s=timeout_s,
        )
    start_at = in_flight if api_base else slots
    settings = dataclasses.replace(llm.engine_settings(tuple(PLANNING_AREAS)), initial_in_flight=start_at)
    if whole:  # 2-3 records of each of 42 areas: compared as one group, standing in for one partition's records
        settings = dataclasses.replace(settings, repeat_scope="run")
    cache = CallCache(out / "calls.sqlite")
    frames: list[pd.DataFrame] = []
    totals: dict[str, Any] = {"calls": 0, "cache_hits": 0, "retries": 0, "truncated_answers": 0}
    totals |= {"prompt_tokens": 0, "completion_tokens": 0, "revisions": 0}
    earlier_s, sessions = 0.0, 1
    if (out / "narratives.parquet").exists():  # resume: a table from an earlier session keeps its records
        before = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
        totals = {k: int(before.get(k, 0)) for k in totals}
        earlier_s, sessions = float(before.get("wall_s", 0.0)), int(before.get("sessions", 1)) + 1
        if whole:
            chunk = max(1, len(residents))
            print(f"whole: {len(residents)} records in one engine run over the cache", flush=True)
        else:
            frames.append(pd.read_parquet(out / "narratives.parquet"))
            residents = residents[~residents["uuid"].astype(str).isin(set(frames[0]["uuid"].astype(str)))]
            print(f"resuming: {len(frames[0])} records done, {len(residents)} to go", flush=True)
    elif whole:
        chunk = max(1, len(residents))
    total = sum(len(f) for f in frames) + len(residents)
    started = time.perf_counter()
    summary: dict[str, Any] = {}
    with llm.open_client() as client:
        for start in range(0, len(residents), chunk):
            frame, s = narrate_partition(residents.iloc[start : start + chunk], client, cache, settings)
            frames.append(frame)
            for k in totals:  # a --whole run redoes the revisions (from the cache): they are its own, not added
                totals[k] = int(s.get(k, 0)) if whole and k == "revisions" else totals[k] + int(s.get(k, 0))
            done = pd.concat(frames, ignore_index=True)
            done.to_parquet(out / "narratives.parquet", index=False)
            summary = {
                "name": "narrative_quality_after",
                "when": now_iso(),
                "model": llm.model,
                "llm": llm.describe(),
                "records": total,
                "records_done": len(done),
                "ok": int((done["status"] == "ok").sum()),
                "wall_s": round(earlier_s + time.perf_counter() - started, 1),
                "sessions": sessions,
                **totals,
                "machine": machine_info(),
            }
            (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
            print(f"{len(done)}/{total} records, {summary['ok']} ok, {summary['wall_s']:.0f} s", flush=True)
    cache.close()
    return summary


# ------------------------------------------------------------------------------------------------ choose, serve


def choose(out: Path, per_area: int, total: int) -> pd.DataFrame:
    """The records both runs narrate: the first ``per_area`` of every populated area in ``select_records``' order
    (those ``make run`` narrates with ``records_per_partition=per_area``), from a sample of ``total`` residents
    with the default seed, as the pipeline draws them; laid out area by area in turns (every area's first record,
    then every area's second, ...), so a run stopped early has covered the areas evenly."""
    from persona_assets.core.narratives.partition import select_records

    parts = []
    for people in sample_snapshot_residents(total).values():
        parts.append(select_records(people, per_area).assign(_turn=range(min(per_area, len(people)))))
    chosen = pd.concat(parts, ignore_index=True).sort_values("_turn", kind="stable").drop(columns="_turn")
    out.mkdir(parents=True, exist_ok=True)
    chosen.reset_index(drop=True).to_parquet(out / "chosen.parquet", index=False)
    return chosen


def serve(url_file: Path, slots: int, threads: int) -> None:
    """The embedded model's ``llama-server`` (``make run``'s settings unless told), its URL written to
    ``url_file``, until SIGTERM or SIGINT: one server for both runs, so neither gets a faster machine."""
    import signal

    from persona_assets.core.narratives.llama_server import ServerConfig, ServerProcess
    from persona_assets.core.narratives.local_model import ensure_weights, local_model

    name = MODEL.split("/", 1)[1]
    cfg = ServerConfig(model=name, slots=slots, threads=threads)
    log = url_file.with_suffix(".log")
    with ServerProcess(cfg, ensure_weights(local_model(name)), log=log) as server:
        url_file.write_text(server.base_url + "\n")
        print(f"{server.base_url} ({slots} slots, {cfg.resolved_threads()} threads; log {log})", flush=True)
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        try:
            while not stop and server.alive():
                time.sleep(1)
        except KeyboardInterrupt:
            pass


# ------------------------------------------------------------------------------------------------ compare


def before_table(folder: Path) -> pd.DataFrame:
    """The lead's ``results.parquet`` as the pipeline's narratives table."""
    results = pd.read_parquet(folder / "results.parquet")
    rows = []
    for r in results.to_dict("records"):
        texts = json.loads(r["texts"] or "{}")
        row = {
            "uuid": r["uuid"],
            "planning_area": r["planning_area"],
            "status": r["status"],
            "attempts": int(r["attempts"]),
            "failure_reasons": list(r["failure_reasons"]),
            "rejected_reasons": None,  # not recorded before issue 13
            "model": MODEL,
            "prompt_version": BEFORE_PROMPT_VERSION,
        }
        for f in LLM_FIELDS:
            value = texts.get(f) if r["status"] == "ok" else None
            row[f] = [str(x).strip() for x in value] if f in LIST_FIELDS and value is not None else value
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def rule_false_positives() -> dict[str, dict[str, Any]]:
    """Each rule's false positives on the hand-labelled fixture, both splits (``tests/test_rule_precision.py``)."""
    sys.path.insert(0, str(REPO_ROOT / "tests"))
    from test_rule_precision import measure

    out: dict[str, dict[str, Any]] = {}
    for split in ("development", "held_out"):
        for rule, c in measure(split).items():
            neg, fp = c.get("negatives", 0), c.get("false_positives", 0)
            entry = out.setdefault(rule, {})
            entry[split] = {"false_positives": fp, "negatives": neg, "rate": round(fp / max(1, neg), 4)}
            entry[split] |= {"violations": c.get("positives", 0), "caught": c.get("true_positives", 0)}
    return out


def _key_figures(report: Any, narratives: pd.DataFrame) -> dict[str, Any]:
    s = report.summary
    f = report.fields.set_index("field")
    attempts = pd.to_numeric(narratives["attempts"]).astype(int)
    return {
        "records": s["records"],
        "ok_rate": s["ok_rate"],
        "first_try_ok_rate": s["first_try_ok_rate"],
        "calls_per_record": round(float(attempts.mean()), 3),
        "near_duplicate_record_share": s["near_duplicate_record_share"],
        "example_anchoring_share": s["example_anchoring_share"],
        "example_anchoring_background_share": s["example_anchoring_background_share"],
        "tokens_per_persona_text_mean": s["tokens_per_persona_text_mean"],
        "tokens_per_record_mean": s["tokens_per_record_mean"],
        "real_place_text_share": s["real_place_text_share"],
        "ok_records_flagged_by_current_rules": s["ok_records_flagged_by_current_rules"],
        "distinct_2_mean": round(float(f["distinct_2"].mean()), 4),
        "distinct_3_mean": round(float(f["distinct_3"].mean()), 4),
    }


def _pct(v: Any) -> str:
    return "—" if v is None else f"{100 * float(v):.1f}%"


REPORT_COLUMNS = (
    ("before", "before"),
    ("after", "after"),
    ("before_all_finished", "before, all it finished"),
    ("earlier", "earlier after run"),
)


def columns_shown(result: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The report columns of ``result``: before, after, all the before run finished, and an earlier after run
    (``--earlier``) when one was given."""
    earlier = result.get("earlier")
    if not earlier:
        return tuple((side, label) for side, label in REPORT_COLUMNS if side != "earlier")
    version = str(earlier.get("prompt_version", "")).split("+")[-1]  # e.g. compact.1
    return tuple((side, f"after, {version}" if side == "earlier" else label) for side, label in REPORT_COLUMNS)


def _rows(result: dict[str, Any], part: str, key: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Per shown column, the rows of one report table (``fields``, ``rules``, ``anchoring``) by ``key``."""
    return {
        side: {r[key]: r for r in result[side]["report"][part]} if result.get(side) else {}
        for side, _ in columns_shown(result)
    }


def _rule(cells: int) -> str:
    return "| " + " | ".join(["---"] * cells) + " |"


def _in_flight(result: dict[str, Any], side: str) -> Any:
    """The most requests a run had in flight (its last session's setting), from its summary."""
    run = (result.get(side) or {}).get("run") or {}
    llm = (result.get("after_run") or {}).get("llm", {}) if side == "after" else {}
    return run.get("in_flight") or llm.get("max_in_flight") or "?"


def render_markdown(result: dict[str, Any]) -> str:  # noqa: C901 - one section after another
    shown = columns_shown(result)
    key_figures = {side: (result[side] or {}).get("key_figures", {}) for side, _ in shown}
    n = {side: k.get("records", 0) for side, k in key_figures.items()}
    lines = [
        "# Narrative quality before and after issue 13",
        "",
        f"Measured {result['when']} by `benchmarks/bench_narrative_quality.py` with the narrative report "
        f"(`core/narratives/report.py`). {result['records_note']}",
        "",
        f"- **before**: main at {BEFORE_COMMIT} (prompt version `{BEFORE_PROMPT_VERSION}`: one worked example, no "
        "field meanings, the old validator), narrated by `benchmarks/replay_narratives.py` with that commit's "
        "prompts, engine and validator.",
        f"- **after**: this code (prompt version `{COMPACT.prompt_version}`: six rotated worked examples, left out "
        "of a repair after a copy or anchor; field meanings, the new rules), narrated by this script's `narrate` "
        "with the pipeline's resource and engine (adaptive concurrency under the ceiling), then once more over all "
        "its records in one engine run (`--whole`, from the cache) for the revision pass over texts repeating "
        "another record's (`repeats.py`: 2 rounds; the records compared as one group, standing in for a "
        "partition's).",
        *(
            [
                f"- **{shown[-1][1]}**: an earlier after run (prompt version "
                f"`{result['earlier']['prompt_version']}`), over the compared records it finished; "
                f"{result.get('earlier_note', '')}"
            ]
            if result.get("earlier")
            else []
        ),
        f"- Model: {MODEL} (Q4_K_M GGUF) in one llama.cpp `llama-server` (4 slots, 2 threads) shared by the runs "
        f"(at most {_in_flight(result, 'before_all_finished')} requests in flight for the before run, "
        f"{_in_flight(result, 'after')} for the after run; while both ran, each had 2); temperature 0.7, top_p "
        f"0.95. Machine: {result['machine']['cpu_model']}, {result['machine']['cpu_count']} cores.",
    ]
    for label, run in (
        ("before", (result.get("before_all_finished") or {}).get("run", {})),
        ("after", result.get("after_run") or {}),
    ):
        done, wall = run.get("records_done"), run.get("wall_s")
        if done and wall:
            lines.append(
                f"- {label} run: {done} records finished in {wall:,.0f} s ({3600 * done / wall:.1f} records/hour, "
                f"{run.get('calls', 0)} calls, {run.get('prompt_tokens', 0):,} prompt and "
                f"{run.get('completion_tokens', 0):,} completion tokens; {run.get('sessions', 1)} session(s))."
            )
    if result.get("note"):
        lines += ["", result["note"]]
    lines += [
        "",
        "| figure | " + " | ".join(f"{label} ({n[side]})" for side, label in shown) + " | target |",
        _rule(len(shown) + 2),
    ]
    targets = {
        "ok_rate": "≥ 98%",
        "near_duplicate_record_share": "< 1%",
        "example_anchoring_share": "< 5%",
        "ok_records_flagged_by_current_rules": "0",
    }
    labels = {
        "ok_rate": "ok-rate",
        "first_try_ok_rate": "ok at the first answer",
        "calls_per_record": "generations per record (first answer + repairs/resamples)",
        "near_duplicate_record_share": "records sharing a near-duplicate text (Jaccard ≥ 0.6)",
        "example_anchoring_share": "records anchored to the worked example shown",
        "example_anchoring_background_share": "anchoring background (examples not shown)",
        "tokens_per_persona_text_mean": "tokens per persona text, mean (NVIDIA ≈ 54)",
        "tokens_per_record_mean": "tokens per record, mean (NVIDIA ≈ 800)",
        "real_place_text_share": "texts naming a real Singapore place",
        "ok_records_flagged_by_current_rules": "ok records the current rules flag",
        "distinct_2_mean": "distinct-2, mean over fields",
        "distinct_3_mean": "distinct-3, mean over fields",
    }
    for key, label in labels.items():
        cells = []
        for side, _ in shown:
            v = key_figures[side].get(key)
            cells.append(_pct(v) if ("rate" in key or "share" in key) else ("—" if v is None else str(v)))
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {targets.get(key, '')} |")

    fields = _rows(result, "fields", "field")
    lines += ["", "## Length (tokens, o200k_base: p10 / p50 / p90) and distinct-3 per field", ""]
    lines += ["| field | " + " | ".join(label for _, label in shown) + " |", _rule(len(shown) + 1)]
    for f in LLM_FIELDS:
        cells = []
        for side, _ in shown:
            x = fields[side].get(f)
            cells.append(
                f"{x['tokens_p10']:.0f} / {x['tokens_p50']:.0f} / {x['tokens_p90']:.0f}; {x['distinct_3']:.3f}"
                if x and x.get("tokens_p50") is not None
                else "—"
            )
        lines.append(f"| {f} | " + " | ".join(cells) + " |")

    rules = _rows(result, "rules", "rule")
    lines += [
        "",
        "## Validator reasons per rule",
        "",
        "`failed`: reasons of records that ended failed; `rejected`: reasons of every rejected answer on the way "
        "(recorded from issue 13 on: the before run has none); `flagged now`: ok texts that today's rules reject.",
        "",
        "| rule | " + " | ".join(f"{label}: failed / rejected / flagged now" for _, label in shown) + " |",
        _rule(len(shown) + 1),
    ]
    for rule in RULES:
        cells, any_count = [], False
        for side, _ in shown:
            r = rules[side].get(rule)
            if not r:
                cells.append("—")
                continue
            counts = (r["failed_records"], r["rejected_answers"], r["ok_texts_flagged_now"])
            any_count |= any(counts)
            cells.append(" / ".join(str(c) for c in counts))
        if any_count:
            lines.append(f"| {rule} | " + " | ".join(cells) + " |")

    lines += [
        "",
        "## Rules' false positives on the hand-labelled fixture (`tests/fixtures/narratives/labelled_texts.json`)",
        "",
        "| rule | development: FP / negatives | held-out: FP / negatives | violations caught (all) |",
        "| --- | --- | --- | --- |",
    ]
    for rule, e in result["rule_false_positives"].items():
        d, h = e["development"], e["held_out"]
        caught = f"{d['caught'] + h['caught']} / {d['violations'] + h['violations']}"
        lines.append(
            f"| {rule} | {d['false_positives']} / {d['negatives']} ({_pct(d['rate'])}) | "
            f"{h['false_positives']} / {h['negatives']} ({_pct(h['rate'])}) | {caught} |"
        )

    anchoring = _rows(result, "anchoring", "example")
    lines += ["", "## Anchoring per worked example: records shown it, anchored when shown / when not shown", ""]
    lines += ["| example | " + " | ".join(label for _, label in shown) + " |", _rule(len(shown) + 1)]
    examples = sorted({k for side in anchoring.values() for k in side})
    for ex in examples:
        cells = []
        for side, _ in shown:
            r = anchoring[side].get(ex)
            cells.append(
                f"{r['records_shown']}: {_pct(r['anchored_when_shown'])} / {_pct(r['anchored_when_not_shown'])}"
                if r
                else "—"
            )
        lines.append(f"| {ex} | " + " | ".join(cells) + " |")
    lines += ["", "## Runs", ""]
    for side in ("before_all_finished", "after", *(["earlier"] if result.get("earlier") else [])):
        run = (result.get(side) or {}).get("run") or result.get(f"{side}_run") or {}
        lines.append(f"- {side}: " + (", ".join(f"{k} {v}" for k, v in run.items()) or "—"))
    return "\n".join(lines) + "\n"


def render_records(narratives: pd.DataFrame, residents: pd.DataFrame, n: int = 10) -> str:
    """The first ``n`` records of the after run (in the order narrated), each text verbatim."""
    people = residents.assign(uuid=residents["uuid"].astype(str)).set_index("uuid")
    lines = [
        f"# {min(n, len(narratives))} records of the `compact` profile from the embedded model, verbatim",
        "",
        f"Model {MODEL} (Q4_K_M) behind llama.cpp's `llama-server`, this branch's engine and compact profile "
        f"(`benchmarks/bench_narrative_quality.py narrate`); the first {n} records narrated, in order, whatever "
        f"their status ({len(narratives)} finished in this run). Facts shown are the record's.",
    ]
    for r in narratives.head(n).to_dict("records"):
        p = people.loc[str(r["uuid"])]
        lines += [
            "",
            f"## {p['full_name']} — {p['age']}, {p['sex']}, {p['planning_area']}",
            "",
            f"{p['ethnicity']}, {p['religion']}, {p['marital_status']}; {p['education_level']}; "
            f"{p['labour_force_status']}, {p['occupation']} ({p['industry']}); {p['dwelling_type']}. "
            f"Status **{r['status']}** after {r['attempts']} generation(s)"
            + (f"; rejected on the way: {'; '.join(r['rejected_reasons'])}" if len(r["rejected_reasons"]) else "")
            + (f"; failed: {'; '.join(r['failure_reasons'])}" if r["status"] != "ok" else "")
            + ".",
            "",
        ]
        if r["status"] == "ok":
            for f in LLM_FIELDS:
                value = r[f]
                text = "; ".join(str(x) for x in value) if f in LIST_FIELDS else str(value)
                lines.append(f"- `{f}`: {text}")
    return "\n".join(lines) + "\n"


def _side(narr: pd.DataFrame, residents: pd.DataFrame, run: dict[str, Any], report_dir: Path | None) -> dict[str, Any]:
    report = build_narrative_report(narr, residents)
    if report_dir:
        write_narrative_report(report, report_dir, f"narrative report ({report_dir.name})")
    keep = ("records", "records_done", "ok", "calls", "cache_hits", "wall_s", "sessions", "prompt_tokens")
    keep += ("completion_tokens", "truncated_answers", "in_flight")
    return {
        "prompt_version": ", ".join(sorted(set(narr["prompt_version"].astype(str)))),
        "key_figures": _key_figures(report, narr),
        "report": describe(report),
        "run": {k: run[k] for k in keep if k in run} | {"records_in_table": len(narr)},
    }


def _after_run(folder: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """An after run's narratives table and summary (empty when it has finished nothing yet)."""
    table, summary = folder / "narratives.parquet", folder / "summary.json"
    narratives = pd.read_parquet(table) if table.exists() else pd.DataFrame(columns=list(COLUMNS))
    return narratives, json.loads(summary.read_text()) if summary.exists() else {}


def compare(
    before: Path,
    after: Path,
    out_dir: Path,
    report_dirs: Path | None,
    note: str = "",
    earlier: Path | None = None,
    earlier_note: str = "",
) -> dict[str, Any]:
    """Both reports over the records both runs finished (like with like), and the before run's over all it
    finished; with ``earlier`` (an after run of an earlier version), its report over the compared records it
    finished too. An after run that has finished no record yet gives the before figures alone."""
    residents = pd.read_parquet(before / "chosen.parquet")
    after_narr, after_summary = _after_run(after)
    before_all = before_table(before)
    before_summary = json.loads((before / "summary.json").read_text()) if (before / "summary.json").exists() else {}
    common = set(after_narr["uuid"].astype(str)) & set(before_all["uuid"].astype(str))
    before_narr = before_all[before_all["uuid"].astype(str).isin(common)]
    after_common = after_narr[after_narr["uuid"].astype(str).isin(common)]

    def folder(name: str) -> Path | None:
        return report_dirs / name if report_dirs else None

    sides = {
        "before": _side(before_narr, residents, before_summary, folder("before")) if common else None,
        "after": _side(after_common, residents, after_summary, folder("after")) if common else None,
        "before_all_finished": _side(before_all, residents, before_summary, folder("before_all_finished")),
        "after_run": after_summary,
    }
    if earlier:
        earlier_narr, earlier_summary = _after_run(earlier)
        earlier_common = earlier_narr[earlier_narr["uuid"].astype(str).isin(common)]
        if len(earlier_common):
            sides["earlier"] = _side(earlier_common, residents, earlier_summary, folder("earlier"))
    areas = residents["planning_area"].nunique()
    records_note = (
        f"Before and after: the same {len(common)} records, those both runs finished, of the {len(residents)} "
        f"residents chosen (the first 3 per area of the pipeline's 148,000-resident sample, {areas} areas). "
        f"The before run had finished {len(before_all)} of them, the after run {len(after_narr)}."
    )
    result = {
        "name": NAME,
        "when": now_iso(),
        "records_note": records_note,
        "note": note,
        "earlier_note": earlier_note,
        "records_compared": len(common),
        **sides,
        "rule_false_positives": rule_false_positives(),
        "machine": machine_info() | {"lscpu": lscpu()},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{NAME}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    (out_dir / f"{NAME}.md").write_text(render_markdown(result), encoding="utf-8")
    if len(after_narr):
        (out_dir / "compact_profile_records.md").write_text(render_records(after_narr, residents), encoding="utf-8")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="step", required=True)
    n = sub.add_parser("narrate")
    n.add_argument("--chosen", type=Path, required=True)
    n.add_argument("--out", type=Path, required=True)
    n.add_argument("--threads", type=int, default=2)
    n.add_argument("--slots", type=int, default=2, help="parallel slots of the embedded server")
    n.add_argument("--chunk", type=int, default=2, help="records per engine run (partial results after each)")
    n.add_argument("--first", type=Path, help="a results table whose records are narrated first")
    n.add_argument(
        "--timeout",
        type=float,
        default=1800,
        help="seconds per request (the resource's 300 s is too short on a "
        "loaded 2-core machine: a timeout there is taken for overload and cuts the limit)",
    )
    n.add_argument("--api-base", default="", help="narrate through this server (serve) instead of starting one")
    n.add_argument("--in-flight", type=int, default=2, help="with --api-base: requests in flight at most")
    n.add_argument("--whole", action="store_true", help="all records in one engine run (the revision pass sees all)")
    ch = sub.add_parser("choose")
    ch.add_argument("--out", type=Path, required=True)
    ch.add_argument("--per-area", type=int, default=3)
    ch.add_argument("--total", type=int, default=148_000, help="residents sampled (the pipeline's default)")
    sv = sub.add_parser("serve")
    sv.add_argument("--url-file", type=Path, required=True)
    sv.add_argument("--slots", type=int, default=4)
    sv.add_argument("--threads", type=int, default=0, help="0: one per usable CPU")
    c = sub.add_parser("compare")
    c.add_argument("--before", type=Path, required=True)
    c.add_argument("--after", type=Path, required=True)
    c.add_argument("--out", type=Path, default=RESULTS_DIR)
    c.add_argument("--reports", type=Path, help="also write both narrative reports (HTML, PNG) here")
    c.add_argument("--note", default="", help="a paragraph for the Markdown (e.g. the state of an unfinished run)")
    c.add_argument("--earlier", type=Path, help="an after run of an earlier version, reported beside the others")
    c.add_argument("--earlier-note", default="", help="what the earlier version did differently")
    args = ap.parse_args(argv)
    if args.step == "narrate":
        narrate(
            args.chosen, args.out, args.threads, args.slots, args.chunk, args.first, args.timeout, args.api_base,
            args.in_flight, args.whole,
        )  # fmt: skip
    elif args.step == "choose":
        chosen = choose(args.out, args.per_area, args.total)
        print(f"{len(chosen)} records of {chosen['planning_area'].nunique()} areas -> {args.out / 'chosen.parquet'}")
    elif args.step == "serve":
        serve(args.url_file, args.slots, args.threads)
    else:
        result = compare(args.before, args.after, args.out, args.reports, args.note, args.earlier, args.earlier_note)
        print(render_markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
