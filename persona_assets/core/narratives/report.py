"""The narrative-quality report over every narrated record: lengths (tokens and characters, against NVIDIA's
release), diversity (distinct-2/3, near-duplicates, the most common 3-grams and nouns), example anchoring, the
validator's reasons per rule, first-try ok-rate and repairs, and real Singapore places named. How each figure is
measured is in ``metrics.py`` (text measures) and ``places.py`` (the gazetteer).

``build_narrative_report`` takes the narratives table (``partition.COLUMNS``; older tables without
``rejected_reasons`` are read too) and the residents table; ``write_narrative_report`` writes PNG charts, an
offline HTML page, ``figures.csv`` and ``summary.json`` into a folder. As a command, over any narratives table and
residents table (a Parquet file or a folder of them, e.g. the warehouse's)::

    python -m persona_assets.core.narratives.report --narratives data/warehouse/narratives/persona_narratives \\
        --residents data/warehouse/sample/residents --out reports/narrative_report --json summary.json

Pure Python (no Dagster).
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from persona_assets.core.narratives.examples import RETIRED_EXAMPLES, choose_example
from persona_assets.core.narratives.metrics import (
    ANCHOR_MIN_TERMS,
    NEAR_DUPLICATE_JACCARD,
    TOKEN_ENCODING,
    count_tokens,
    count_trigrams,
    distinct_n,
    distinctive_terms,
    encode_words,
    field_text,
    find_near_duplicates,
    find_nouns,
    list_grams,
    list_items,
    list_name_tokens,
    match_terms,
    split_clauses,
    split_words,
)
from persona_assets.core.narratives.partition import select_records
from persona_assets.core.narratives.places import find_places
from persona_assets.core.narratives.prompts import COMPACT, FULL, RETIRED_SHOWS_EXAMPLE, PromptProfile
from persona_assets.core.narratives.validate import NAME_COLUMNS, RULES, check_text
from persona_assets.core.schema import LIST_FIELDS, LLM_FIELDS, PERSONA_FIELDS, PLANNING_AREAS, TEXT_FIELDS

#: NVIDIA's release (Nemotron-Personas-Singapore, written by GPT-OSS-120B), as quoted in issue 13: about 118M
#: tokens for 148,000 records (about 800 a record) and about 54 tokens per persona text. A reference, not a
#: measurement of this project.
NVIDIA_TOKENS_PER_PERSONA = 54
NVIDIA_TOKENS_PER_RECORD = 800
TOP_TERMS = 30
#: Records the per-text rule, place, noun and anchoring measures read at most (a simple random sample in uuid-hash
#: order, as ``partition.select_records`` draws); lengths, distinct-n and near-duplicates use every record.
MAX_DETAIL_RECORDS = 10_000
#: Prompt versions before profiles existed (no ``+``) showed the one retired worked example.
LEGACY_EXAMPLE = RETIRED_EXAMPLES[0].key


@dataclass
class NarrativeReport:
    summary: dict[str, Any]
    fields: pd.DataFrame  # one row per LLM field
    rules: pd.DataFrame  # one row per validator rule
    trigrams: list[tuple[str, int]]
    nouns: list[tuple[str, int]]
    anchoring: pd.DataFrame  # one row per worked example
    anchored_terms: list[tuple[str, int]]
    lengths: dict[str, np.ndarray] = field(default_factory=dict)  # field -> tokens per text (for the charts)

    def figures(self) -> pd.DataFrame:
        """Every figure in long form (scope, metric, value): what the ``narrative_report`` asset stores."""
        rows = [("record", k, float(v)) for k, v in self.summary.items() if isinstance(v, int | float)]
        for _, r in self.fields.iterrows():
            rows += [(r["field"], k, float(v)) for k, v in r.items() if k != "field" and pd.notna(v)]
        for _, r in self.rules.iterrows():
            rows += [(f"rule:{r['rule']}", k, float(v)) for k, v in r.items() if k != "rule"]
        return pd.DataFrame(rows, columns=["scope", "metric", "value"])


def profile_of(prompt_version: object) -> PromptProfile:
    """The profile a prompt version string names (``…+full.1``); versions before profiles were compact. A retired
    version that showed no worked example (``RETIRED_SHOWS_EXAMPLE``) gets its profile without one, so that its
    texts are not checked for anchoring to an example they were never shown."""
    text = str(prompt_version or "")
    profile = FULL if f"+{FULL.name}." in text else COMPACT
    shown = RETIRED_SHOWS_EXAMPLE.get(text)
    return profile if shown is None or shown == profile.shows_example else replace(profile, shows_example=shown)


def shown_example(prompt_version: object, uuid: str) -> str | None:
    """The key of the worked example the record's prompt showed, if any."""
    text = str(prompt_version or "")
    if "+" not in text:
        return LEGACY_EXAMPLE
    return choose_example(uuid).key if profile_of(text).shows_example else None


def _reason_counts(series: pd.Series | None) -> Counter[str]:
    counts: Counter[str] = Counter()
    if series is None:
        return counts
    for reasons in series:
        for r in list_items(reasons):
            counts[r.split(":", 1)[0].strip()] += 1
    return counts


def rank_terms(counts: Counter[str], n: int = TOP_TERMS) -> list[tuple[str, int]]:
    """The ``n`` most common terms, ties in alphabetical order: the counters are filled from sets, whose order
    changes with the interpreter's hash seed, so ``Counter.most_common`` alone would break ties differently from
    one process to the next (the report must not)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def _percentiles(values: np.ndarray) -> dict[str, float]:
    if not len(values):
        return {"mean": np.nan, "p10": np.nan, "p50": np.nan, "p90": np.nan}
    return {
        "mean": round(float(values.mean()), 1),
        "p10": float(np.percentile(values, 10)),
        "p50": float(np.percentile(values, 50)),
        "p90": float(np.percentile(values, 90)),
    }


def build_narrative_report(narratives: pd.DataFrame, residents: pd.DataFrame) -> NarrativeReport:
    """The report over ``narratives`` (every narrated record, ok or failed) and the residents they describe."""
    if "uuid" not in narratives or "status" not in narratives:
        raise ValueError("the narratives table needs the columns uuid and status (persona_narratives)")
    narratives = narratives.assign(uuid=narratives["uuid"].astype(str))
    people = residents.assign(uuid=residents["uuid"].astype(str)).drop_duplicates("uuid").set_index("uuid")
    missing = sorted(set(narratives["uuid"]) - set(people.index))
    if missing:
        raise ValueError(f"{len(missing)} narrated records have no resident (first: {missing[0]})")
    ok = narratives[narratives["status"] == "ok"].reset_index(drop=True)
    records = people.loc[ok["uuid"]].reset_index().to_dict("records")
    names = [list_name_tokens(r.get(c) for c in NAME_COLUMNS) for r in records]
    attempts = pd.to_numeric(narratives.get("attempts"), errors="coerce").fillna(1).astype(int)
    n, n_ok = len(narratives), len(ok)
    detail = np.zeros(n_ok, dtype=bool)
    detail[select_records(ok[["uuid"]], MAX_DETAIL_RECORDS).index.to_numpy()] = True
    n_detail = int(detail.sum())

    # per field: lengths, diversity, near-duplicates, places, current rules
    field_rows, lengths, near_any = [], {}, np.zeros(n_ok, dtype=bool)
    trigrams: Counter[str] = Counter()
    nouns: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    flagged_records: dict[str, set[str]] = {}
    place_any = np.zeros(n_detail, dtype=bool)
    place_texts = 0
    words_by_field: dict[str, list[list[str]]] = {}
    record_tokens = np.zeros(n_ok, dtype=np.int64)
    profiles = [profile_of(v) for v in ok.get("prompt_version", pd.Series([None] * n_ok))]
    for f in LLM_FIELDS:
        texts = [field_text(f, v) for v in ok[f]] if f in ok else [""] * n_ok
        words = [split_words(t, nm) for t, nm in zip(texts, names, strict=True)]
        words_by_field[f] = [w for w, d in zip(words, detail, strict=True) if d]
        tokens = count_tokens(texts)
        chars = np.array([len(t) for t in texts], dtype=np.int64)
        record_tokens += tokens
        lengths[f] = tokens
        near = find_near_duplicates(words)
        near_any |= near
        encoded = encode_words(words)  # once for the 3-grams and distinct-n
        trigrams.update(count_trigrams(encoded))
        sampled = [
            (v, t, nm, r, p)
            for v, t, nm, r, p, d in zip(ok[f], texts, names, records, profiles, detail, strict=True)
            if d
        ]
        if f in LIST_FIELDS:
            for items, *_ in sampled:
                for item in list_items(items):
                    w = split_words(item)
                    if w:
                        nouns[w[-1]] += 1
        else:
            for _, t, nm, _, _ in sampled:
                for clause in split_clauses(t):
                    nouns.update(find_nouns(split_words(clause, nm)))
        places = np.array(
            [bool(find_places(t, [r.get("full_name"), r.get("preferred_english_name")])) for _, t, _, r, _ in sampled],
            dtype=bool,
        )
        if f in TEXT_FIELDS:
            place_any |= places
            place_texts += int(places.sum())
            for _, t, _, r, p in sampled:
                for reason in check_text(f, t, r, PLANNING_AREAS, p):
                    rule = reason.split(":", 1)[0]
                    flagged[rule] += 1
                    flagged_records.setdefault(rule, set()).add(str(r["uuid"]))
        row = {
            "field": f,
            "texts": n_ok,
            **{f"tokens_{k}": v for k, v in _percentiles(tokens).items()},
            **{f"chars_{k}": v for k, v in _percentiles(chars).items()},
            "distinct_2": round(distinct_n(encoded, 2), 4),
            "distinct_3": round(distinct_n(encoded, 3), 4),
            "near_duplicate_share": round(float(near.mean()), 4) if n_ok else 0.0,
            "real_place_share": round(float(places.mean()), 4) if n_detail else 0.0,
        }
        if f in LIST_FIELDS:
            row["items_mean"] = round(float(np.mean([len(list_items(v)) for v in ok[f]])), 2) if n_ok else np.nan
        field_rows.append(row)
    fields = pd.DataFrame(field_rows)

    # example anchoring
    sample = ok.loc[detail].reset_index(drop=True)
    anchoring, anchored_terms, anchored_share, background_share = _measure_anchoring(sample, words_by_field)

    # the validator's reasons per rule
    rejected = _reason_counts(narratives.get("rejected_reasons"))
    failed = _reason_counts(narratives.loc[narratives["status"] == "failed", "failure_reasons"])
    rules = pd.DataFrame(
        [
            {
                "rule": r,
                "rejected_answers": rejected.get(r, 0),
                "failed_records": failed.get(r, 0),
                "ok_texts_flagged_now": flagged.get(r, 0),
                "ok_records_flagged_now": len(flagged_records.get(r, ())),
            }
            for r in RULES
        ]
    )
    persona_tokens = np.concatenate([lengths[f] for f in PERSONA_FIELDS]) if n_ok else np.zeros(0)
    summary: dict[str, Any] = {
        "records": n,
        "ok": n_ok,
        "failed": n - n_ok,
        "ok_rate": round(n_ok / n, 4) if n else 0.0,
        "first_try_ok_rate": round(float(((narratives["status"] == "ok") & (attempts == 1)).mean()), 4) if n else 0.0,
        "repairs_per_record": round(float((attempts - 1).mean()), 3) if n else 0.0,
        "repairs_per_ok_record": round(float((attempts[narratives["status"] == "ok"] - 1).mean()), 3) if n_ok else 0.0,
        "rejected_reasons_recorded": bool(
            "rejected_reasons" in narratives and narratives["rejected_reasons"].notna().any()
        ),
        "tokens_per_record_mean": round(float(record_tokens.mean()), 1) if n_ok else 0.0,
        "tokens_per_persona_text_mean": round(float(persona_tokens.mean()), 1) if n_ok else 0.0,
        "nvidia_tokens_per_record": NVIDIA_TOKENS_PER_RECORD,
        "nvidia_tokens_per_persona_text": NVIDIA_TOKENS_PER_PERSONA,
        "near_duplicate_record_share": round(float(near_any.mean()), 4) if n_ok else 0.0,
        "near_duplicate_jaccard": NEAR_DUPLICATE_JACCARD,
        "example_anchoring_share": anchored_share,
        "example_anchoring_background_share": background_share,
        "real_place_text_share": round(place_texts / (n_detail * len(TEXT_FIELDS)), 4) if n_detail else 0.0,
        "real_place_record_share": round(float(place_any.mean()), 4) if n_detail else 0.0,
        "detail_records": n_detail,
        "ok_records_flagged_by_current_rules": len(set().union(*flagged_records.values())) if flagged_records else 0,
        "prompt_versions": ", ".join(sorted({str(v) for v in narratives.get("prompt_version", pd.Series()).dropna()})),
        "models": ", ".join(sorted({str(v) for v in narratives.get("model", pd.Series()).dropna()})),
        "token_encoding": TOKEN_ENCODING,
    }
    return NarrativeReport(
        summary=summary,
        fields=fields,
        rules=rules,
        trigrams=rank_terms(trigrams),
        nouns=rank_terms(nouns),
        anchoring=anchoring,
        anchored_terms=anchored_terms,
        lengths=lengths,
    )


def _measure_anchoring(
    ok: pd.DataFrame, words_by_field: dict[str, list[list[str]]]
) -> tuple[pd.DataFrame, list, float, float]:
    """Per example: records shown it, share of those anchored to it, share of the others anchored to it (the
    background rate of the measure); the most reused terms; overall shares. ``words_by_field``: each field's words
    of the records of ``ok``, in order."""
    terms = distinctive_terms()
    n = len(ok)
    shown = [
        shown_example(v, u) for v, u in zip(ok.get("prompt_version", pd.Series([None] * n)), ok["uuid"], strict=True)
    ]
    anchored = {k: np.zeros(n, dtype=bool) for k in terms}
    reused: Counter[str] = Counter()
    for f, word_lists in words_by_field.items():
        for i, words in enumerate(word_lists):
            grams = list_grams(words)
            for key, per_field in terms.items():
                found = match_terms(grams, per_field.get(f, frozenset()))
                if len(found) >= ANCHOR_MIN_TERMS:
                    anchored[key][i] = True
                    if shown[i] == key:
                        reused.update(found)
    rows = []
    shown_arr = np.array([s or "" for s in shown])
    for key in terms:
        is_shown = shown_arr == key
        rows.append(
            {
                "example": key,
                "retired": key in {e.key for e in RETIRED_EXAMPLES},
                "records_shown": int(is_shown.sum()),
                "anchored_when_shown": round(float(anchored[key][is_shown].mean()), 4) if is_shown.any() else np.nan,
                "anchored_when_not_shown": round(float(anchored[key][~is_shown].mean()), 4)
                if (~is_shown).any()
                else np.nan,
                "distinctive_terms": sum(len(v) for v in terms[key].values()),
            }
        )
    frame = pd.DataFrame(rows)
    with_example = np.array([s is not None for s in shown])
    share = (
        round(float(np.mean([anchored[s][i] for i, s in enumerate(shown) if s is not None])), 4)
        if with_example.any()
        else 0.0
    )
    background = [anchored[k][i] for i in range(n) for k in terms if k != shown[i]]
    return frame, rank_terms(reused), share, round(float(np.mean(background)), 4) if background else 0.0


# ------------------------------------------------------------------------------------------------ output


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def render_charts(report: NarrativeReport, out_dir: Path) -> dict[str, Path]:
    """PNG charts: tokens per text by field (box plot, NVIDIA's persona mean marked), distinct-3 and near-duplicate
    share by field, validator reasons per rule, the most common 3-grams and nouns."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    def save(name: str, fig: Any) -> None:
        path = out_dir / f"{name}.png"
        path.write_bytes(_png(fig))
        plt.close(fig)
        paths[name] = path

    fig, ax = plt.subplots(figsize=(9, 5))
    data = [report.lengths.get(f, np.zeros(0)) for f in LLM_FIELDS]
    boxes = [d if len(d) else [0] for d in data]
    ax.boxplot(boxes, orientation="horizontal", tick_labels=list(LLM_FIELDS), showfliers=False)
    ax.axvline(
        NVIDIA_TOKENS_PER_PERSONA, color="#c44e52", ls="--", label=f"NVIDIA persona mean ({NVIDIA_TOKENS_PER_PERSONA})"
    )
    ax.set_xlabel(f"tokens per text ({TOKEN_ENCODING})")
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    ax.set_title("Length of each field")
    save("lengths", fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 5), sharey=True)
    y = np.arange(len(report.fields))
    axes[0].barh(y, report.fields["distinct_3"], color="#4c72b0")
    axes[0].set_title("distinct-3 (higher: more varied)")
    axes[1].barh(y, report.fields["near_duplicate_share"], color="#dd8452")
    axes[1].set_title(f"near-duplicate share (Jaccard ≥ {NEAR_DUPLICATE_JACCARD})")
    axes[0].set_yticks(y, report.fields["field"].tolist(), fontsize=8)
    axes[0].invert_yaxis()
    save("diversity", fig)

    rules = report.rules[(report.rules.drop(columns="rule").sum(axis=1)) > 0]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.35 * len(rules) + 1)))
    y = np.arange(len(rules))
    for k, (col, colour) in enumerate(
        (("rejected_answers", "#4c72b0"), ("failed_records", "#c44e52"), ("ok_texts_flagged_now", "#55a868"))
    ):
        ax.barh(y + (k - 1) * 0.27, rules[col], height=0.27, label=col, color=colour)
    ax.set_yticks(y, rules["rule"].tolist(), fontsize=8)
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    ax.set_title("Validator reasons per rule")
    save("rules", fig)

    for name, items in (("trigrams", report.trigrams), ("nouns", report.nouns)):
        fig, ax = plt.subplots(figsize=(7, 7))
        labels = [t for t, _ in items][::-1]
        ax.barh(range(len(items)), [c for _, c in items][::-1], color="#8172b2")
        ax.set_yticks(range(len(items)), labels, fontsize=8)
        ax.set_title(f"{TOP_TERMS} most common {'3-grams' if name == 'trigrams' else 'nouns (heuristic)'}")
        save(name, fig)
    return paths


KEY_FIGURES = (
    ("records", "records narrated"),
    ("ok_rate", "ok-rate"),
    ("first_try_ok_rate", "ok at the first answer"),
    ("repairs_per_record", "repairs per record"),
    ("tokens_per_persona_text_mean", "tokens per persona text (NVIDIA ≈ 54)"),
    ("tokens_per_record_mean", "tokens per record (NVIDIA ≈ 800)"),
    ("near_duplicate_record_share", "records sharing a near-duplicate text"),
    ("example_anchoring_share", "records anchored to the example shown"),
    ("example_anchoring_background_share", "background (examples not shown)"),
    ("real_place_text_share", "texts naming a real Singapore place"),
    ("real_place_record_share", "records naming a real Singapore place"),
    ("ok_records_flagged_by_current_rules", "ok records the current rules flag"),
)


def render_markdown(report: NarrativeReport) -> str:
    """The key figures as a Markdown table (asset metadata, the dataset card)."""
    s = report.summary
    lines = ["| figure | value |", "| --- | --- |"]
    for key, label in KEY_FIGURES:
        v = s.get(key)
        shown = f"{100 * v:.1f}%" if isinstance(v, float) and ("rate" in key or "share" in key) else f"{v}"
        lines.append(f"| {label} | {shown} |")
    flagged = report.rules[report.rules["ok_texts_flagged_now"] > 0]
    if len(flagged):
        lines.append(
            "| current rules on ok texts | "
            + ", ".join(f"{r.rule} {r.ok_texts_flagged_now}" for r in flagged.itertuples())
            + " |"
        )
    return "\n".join(lines)


def render_html(report: NarrativeReport, charts: dict[str, Path], out: Path, title: str) -> Path:
    """A self-contained HTML page (charts inlined as data URIs; no external URL)."""
    s = report.summary
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;font-size:12px;"
        "margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px}img{max-width:900px;display:block;margin:1em 0}"
        "</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Models: {html.escape(s['models'] or '—')}; prompt versions: {html.escape(s['prompt_versions'] or '—')}. "
        f"Tokens: {TOKEN_ENCODING}. NVIDIA's figures are a reference quoted from its release, not measured here.</p>",
        "<h2>Key figures</h2>",
        pd.DataFrame([(label, s.get(key)) for key, label in KEY_FIGURES], columns=["figure", "value"]).to_html(
            index=False
        ),
        "<h2>Per field</h2>",
        report.fields.to_html(index=False, na_rep=""),
        "<h2>Validator reasons per rule</h2>",
        "<p>rejected_answers: reasons of answers the validator rejected during generation (recorded from this "
        "version on); failed_records: reasons of records that ended failed; ok_texts_flagged_now: the texts of ok "
        "records that the current rules would reject.</p>",
        report.rules.to_html(index=False),
        "<h2>Example anchoring</h2>",
        f"<p>A record is anchored to a worked example when one of its texts uses at least {ANCHOR_MIN_TERMS} of that "
        "example's distinctive terms for the same field (derived from the examples in code; see metrics.py). "
        "anchored_when_not_shown is the measure's background rate.</p>",
        report.anchoring.to_html(index=False, na_rep=""),
        "<p>Most reused terms: " + html.escape(", ".join(f"{t} ({c})" for t, c in report.anchored_terms)) + "</p>",
        "<h2>Most common 3-grams and nouns</h2>",
        pd.DataFrame(report.trigrams, columns=["3-gram", "texts"]).to_html(index=False),
        pd.DataFrame(report.nouns, columns=["noun", "count"]).to_html(index=False),
    ]
    for name, p in charts.items():
        data = base64.b64encode(p.read_bytes()).decode()
        parts.append(f"<h3>{html.escape(name)}</h3><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>")
    parts.append("</body></html>")
    out.write_text("\n".join(parts), encoding="utf-8")
    return out


def summarise_for_card(figures: pd.DataFrame) -> str | None:
    """The dataset card's summary from the stored figures (``NarrativeReport.figures``), or None without them."""
    rec = figures[figures["scope"] == "record"].set_index("metric")["value"] if len(figures) else pd.Series()
    if rec.empty or not rec.get("records"):
        return None

    def pct(key: str) -> str:
        return f"{100 * float(rec.get(key, 0)):.1f}%"

    return (
        f"- Narrative quality (`narrative_report`, {int(rec['records']):,} narrated records): "
        f"ok-rate {pct('ok_rate')}, "
        f"{pct('first_try_ok_rate')} at the first answer, {float(rec.get('repairs_per_record', 0)):.2f} repairs per "
        f"record; {float(rec.get('tokens_per_persona_text_mean', 0)):.0f} tokens per persona text and "
        f"{float(rec.get('tokens_per_record_mean', 0)):.0f} per record (NVIDIA's release: about "
        f"{NVIDIA_TOKENS_PER_PERSONA} and {NVIDIA_TOKENS_PER_RECORD}); {pct('near_duplicate_record_share')} of records "
        f"share a near-duplicate text with another (Jaccard ≥ {NEAR_DUPLICATE_JACCARD}); "
        f"{pct('example_anchoring_share')} reuse distinctive content of the worked example they were shown "
        f"(background {pct('example_anchoring_background_share')}); {pct('real_place_text_share')} of texts name a "
        "real Singapore place. Full report: `reports/narrative_report/index.html`."
    )


def write_narrative_report(
    report: NarrativeReport, out_dir: Path, title: str = "sg-personas narrative report"
) -> dict[str, Path]:
    """Charts, ``index.html``, ``figures.csv`` and ``summary.json`` under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    charts = render_charts(report, out_dir)
    page = render_html(report, charts, out_dir / "index.html", title)
    report.figures().to_csv(out_dir / "figures.csv", index=False)
    (out_dir / "summary.json").write_text(json.dumps(describe(report), indent=1, default=str), encoding="utf-8")
    return {"index": page, **charts}


def describe(report: NarrativeReport) -> dict[str, Any]:
    """Everything as JSON-ready values (the command's ``--json``)."""
    return {
        "summary": report.summary,
        "fields": report.fields.replace({np.nan: None}).to_dict("records"),
        "rules": report.rules.to_dict("records"),
        "anchoring": report.anchoring.replace({np.nan: None}).to_dict("records"),
        "anchored_terms": report.anchored_terms,
        "trigrams": report.trigrams,
        "nouns": report.nouns,
    }


def read_table(path: Path) -> pd.DataFrame:
    """A Parquet file, or every ``*.parquet`` in a folder, as one frame."""
    if path.is_dir():
        files = sorted(path.glob("*.parquet"))
        if not files:
            raise FileNotFoundError(f"{path}: no .parquet files")
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    return pd.read_parquet(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--narratives", type=Path, required=True, help="narratives table: a Parquet file or a folder")
    ap.add_argument("--residents", type=Path, required=True, help="residents table: a Parquet file or a folder")
    ap.add_argument("--out", type=Path, help="folder for the HTML page, charts, figures.csv and summary.json")
    ap.add_argument("--json", type=Path, help="write the figures as JSON to this file")
    args = ap.parse_args(argv)
    report = build_narrative_report(read_table(args.narratives), read_table(args.residents))
    if args.out:
        paths = write_narrative_report(report, args.out)
        print(f"report: {paths['index']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(describe(report), indent=1, default=str), encoding="utf-8")
    print(render_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
