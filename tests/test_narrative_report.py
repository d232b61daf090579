"""The narrative report: every figure on small tables whose answers are known, the command over files, and the
asset in an in-process materialisation."""

import json
import random
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from persona_assets.core.narratives.examples import RETIRED_EXAMPLES, choose_example
from persona_assets.core.narratives.metrics import (
    EncodedWords,
    count_tokens,
    count_trigrams,
    distinct_n,
    distinctive_terms,
    find_near_duplicates,
    find_nouns,
    find_repeats,
    split_words,
)
from persona_assets.core.narratives.partition import COLUMNS
from persona_assets.core.narratives.prompts import COMPACT, RETIRED_SHOWS_EXAMPLE
from persona_assets.core.narratives.report import (
    build_narrative_report,
    main,
    profile_of,
    shown_example,
    summarise_for_card,
)
from persona_assets.core.schema import LIST_FIELDS, LLM_FIELDS, PLANNING_AREAS, RESIDENT_COLUMNS


def resident(i: int, **over) -> dict:
    base = {c: None for c in RESIDENT_COLUMNS}
    base.update(
        uuid=f"00000000-0000-5000-8000-{i:012d}",
        full_name=f"Tan Wei Ming{chr(65 + i % 26)}",
        first_name=f"Wei Ming{chr(65 + i % 26)}",
        last_name="Tan",
        sex="Male",
        age=40,
        marital_status="Married",
        religion="Buddhism",
        education_level="Secondary",
        labour_force_status="Employed",
        occupation="Clerical Support Workers",
        industry="Public Administration & Education",
        planning_area="Bedok",
        dwelling_type="HDB 4-Room Flats",
        country="Singapore",
    )
    return {**base, **over}


def row(rec: dict, texts: dict, status: str = "ok", attempts: int = 1, version: str = COMPACT.prompt_version) -> dict:
    out = {c: None for c in COLUMNS}
    out.update(
        uuid=rec["uuid"],
        planning_area=rec["planning_area"],
        status=status,
        attempts=attempts,
        failure_reasons=[] if status == "ok" else ["length: persona"],
        rejected_reasons=["name: persona"] * (attempts - 1),
        model="openai/test",
        prompt_version=version,
    )
    if status == "ok":
        out.update(texts)
    return out


def texts_for(rec: dict, i: int) -> dict:
    first = rec["first_name"]
    words = ["kite", "chess", "opera", "cycling", "baking", "fishing", "pottery", "karaoke"]
    t = {
        f: f"{first} spends quiet evenings on {words[i % 8]} number {i} for {f} near Bedok Reservoir."
        for f in LLM_FIELDS
    }
    for f in LIST_FIELDS:
        t[f] = [f"{words[i % 8]} {i}", f"item {i}", f"thing {i}"]
    return t


def test_metrics_on_known_inputs() -> None:
    assert count_tokens(["hello world"]).tolist() == [2]
    assert split_words("Tan Wei Ming's bak kut teh", ["tan", "wei", "ming"]) == ["<name>", "bak", "kut", "teh"]
    assert distinct_n([["a", "b", "a", "b"]], 2) == pytest.approx(2 / 3)
    same = split_words("enjoys badminton and reading books at the park every weekend")
    other = split_words("writes poetry about the sea while riding the early train to work")
    assert find_near_duplicates([same, same[:-1], other]).tolist() == [True, True, False]
    assert find_nouns(split_words("plays badminton at the community centre on sundays")) == ["centre", "sundays"]


def _reference_ngram_figures(word_lists: list[list[str]], n: int) -> tuple[float, Counter]:
    grams = [[tuple(w[i : i + n]) for i in range(len(w) - n + 1)] for w in word_lists]
    total = sum(len(g) for g in grams)
    distinct = len({x for g in grams for x in g}) / total if total else 0.0
    return distinct, Counter(" ".join(x) for g in grams for x in set(g))


@pytest.mark.parametrize("fallback", [False, True])
def test_distinct_n_and_trigrams_match_counting_tuples(fallback: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The integer-coded n-grams give exactly what counting tuples gives, and so does the tuple path used when a
    vocabulary is too large for the codes (forced here)."""
    if fallback:
        monkeypatch.setattr(EncodedWords, "grams", lambda self, n: None)
    rng = random.Random(5)
    vocab = ["a", "b", "c", "<name>", "d/o", "it's", "x9"]
    for _ in range(400):
        lists = [[rng.choice(vocab) for _ in range(rng.randint(0, 7))] for _ in range(rng.randint(0, 6))]
        for n in (1, 2, 3, 4):
            assert distinct_n(lists, n) == pytest.approx(_reference_ngram_figures(lists, n)[0])
        assert count_trigrams(lists) == _reference_ngram_figures(lists, 3)[1]


def test_near_duplicates_at_scale_exact_copies_templates_and_distinct_texts() -> None:
    """Exact copies are flagged outright; a template filled in 400 times (every band's bucket above
    BUCKET_ALL_PAIRS) is flagged throughout; texts drawn at random from a large vocabulary are not; and the flags do
    not depend on the order of the texts."""
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(5000)]
    text = (
        "lives in bedok where she spends her evenings at the hawker centre near her block and on sundays she takes "
        "her mother to the market before they cook a long lunch for the {} family"
    )
    template = text.split()
    filled = [[w.format(rng.choice(vocab)) if "{}" in w else w for w in template] for _ in range(400)]
    distinct = [[rng.choice(vocab) for _ in range(20)] for _ in range(400)]
    copy = [rng.choice(vocab) for _ in range(20)]
    texts = [*filled, *distinct, copy, list(copy), []]
    flags = find_near_duplicates(texts)
    assert flags[:400].all() and not flags[400:800].any()
    assert flags[800] and flags[801] and not flags[802]
    order = list(range(len(texts)))
    rng.shuffle(order)
    shuffled = find_near_duplicates([texts[i] for i in order])
    assert [bool(shuffled[order.index(i)]) for i in range(len(texts))] == flags.tolist()


def _jaccard(a: list[str], b: list[str]) -> float:
    sa = {tuple(a[i : i + 3]) for i in range(max(1, len(a) - 2))}
    sb = {tuple(b[i : i + 3]) for i in range(max(1, len(b) - 2))}
    return len(sa & sb) / len(sa | sb)


def test_repeats_are_the_later_text_of_every_near_duplicate_pair() -> None:
    """Checked pair by pair against exact Jaccard on a corpus with planted near-duplicates (one or two words
    changed), chains, exact copies and an empty text: a text is a repeat exactly when an earlier text is its
    near-duplicate, so the texts that are not repeats hold no near-duplicate pair."""
    rng = random.Random(3)
    vocab = [f"w{i}" for i in range(300)]
    texts: list[list[str]] = []
    for _ in range(120):
        if texts and rng.random() < 0.4:
            base = list(rng.choice(texts)) or [rng.choice(vocab) for _ in range(15)]
            base[rng.randrange(len(base))] = rng.choice(vocab)  # one word changed: a near-duplicate (or a chain)
            texts.append(base)
        else:
            texts.append([rng.choice(vocab) for _ in range(rng.randint(8, 20))])
    texts += [list(texts[5]), []]
    expected = [
        bool(t) and any(bool(texts[j]) and _jaccard(texts[j], t) >= 0.6 for j in range(i)) for i, t in enumerate(texts)
    ]
    repeats = find_repeats(texts)
    assert repeats.tolist() == expected and 20 < sum(expected) < 100
    kept = [t for t, r in zip(texts, repeats, strict=True) if not r]
    assert not find_near_duplicates(kept).any()
    assert find_repeats([["a", "b", "c"], ["a", "b", "c"], [], []]).tolist() == [False, True, False, False]


def test_distinctive_terms_come_from_the_examples_and_exclude_shared_words() -> None:
    terms = distinctive_terms()
    old = terms[RETIRED_EXAMPLES[0].key]
    assert {"crane", "quay", "port"} <= old["professional_persona"]
    assert "bak kut teh" in old["culinary_persona"] and "teenage sons" in old["family_persona"]
    singles = {t for per_field in terms.values() for ts in per_field.values() for t in ts if " " not in t}
    assert not singles & {"weekend", "weekends", "family", "sunday", "evening"}  # everyday words are no one's


def test_report_figures_on_a_known_table() -> None:
    recs = [resident(i) for i in range(8)]
    rows = [row(r, texts_for(r, i), attempts=1 + (i % 2)) for i, r in enumerate(recs[:6])]
    # record 6 copies record 0's texts (a near-duplicate); record 7 failed
    rows.append(row(recs[6], {**texts_for(recs[0], 0), "persona": texts_for(recs[6], 6)["persona"]}))
    rows.append(row(recs[7], {}, status="failed", attempts=4))
    report = build_narrative_report(pd.DataFrame(rows), pd.DataFrame(recs))
    s = report.summary
    assert (s["records"], s["ok"], s["failed"]) == (8, 7, 1)
    assert s["first_try_ok_rate"] == pytest.approx(4 / 8, abs=1e-3)
    assert s["repairs_per_record"] == pytest.approx((0 + 1 + 0 + 1 + 0 + 1 + 0 + 3) / 8, abs=1e-3)
    assert s["near_duplicate_record_share"] == pytest.approx(2 / 7, abs=1e-3)  # record 0 and its copy
    assert s["real_place_text_share"] == 1.0  # every text names Bedok Reservoir
    assert s["example_anchoring_share"] == 0.0
    rules = report.rules.set_index("rule")
    assert rules.loc["name", "rejected_answers"] == 3 + 3 and rules.loc["length", "failed_records"] == 1
    assert set(report.fields["field"]) == set(LLM_FIELDS)
    assert (report.fields["tokens_mean"] > 5).all()
    figures = report.figures()
    assert {"record", "persona", "rule:name"} <= set(figures["scope"])
    assert "Narrative quality" in summarise_for_card(figures)


def test_anchoring_is_measured_against_the_example_each_record_was_shown() -> None:
    """Texts that reuse the retired example's crane and port: anchored when the prompt showed it (an old prompt
    version), counted as background when it did not (compact v1, which showed a rotated example)."""
    (ROTATED,) = [v for v, shown in RETIRED_SHOWS_EXAMPLE.items() if shown]
    recs = [resident(i) for i in range(4)]
    old = RETIRED_EXAMPLES[0].answer
    rows = []
    for i, r in enumerate(recs):
        t = texts_for(r, i)
        t["professional_persona"] = f"{r['first_name']} operates a quay crane at the port and checks every load."
        rows.append(row(r, t, version="2026-11-25.4" if i < 2 else ROTATED))
    report = build_narrative_report(pd.DataFrame(rows), pd.DataFrame(recs))
    assert shown_example("2026-11-25.4", recs[0]["uuid"]) == RETIRED_EXAMPLES[0].key
    assert shown_example(ROTATED, recs[2]["uuid"]) == choose_example(recs[2]["uuid"]).key
    assert shown_example(COMPACT.prompt_version, recs[2]["uuid"]) == choose_example(recs[2]["uuid"]).key
    (zero_shot,) = [v for v, shown in RETIRED_SHOWS_EXAMPLE.items() if not shown]
    assert shown_example(zero_shot, recs[2]["uuid"]) is None  # compact v2 showed none
    assert not profile_of(zero_shot).shows_example and profile_of(ROTATED).shows_example
    a = report.anchoring.set_index("example")
    assert a.loc[RETIRED_EXAMPLES[0].key, "anchored_when_shown"] == 1.0
    assert a.loc[RETIRED_EXAMPLES[0].key, "anchored_when_not_shown"] == 1.0  # the two compact records reuse it too
    assert report.summary["example_anchoring_share"] == pytest.approx(2 / 4, abs=1e-3)  # only the old prompts showed it
    assert "quay crane" in dict(report.anchored_terms) and old["professional_persona"]


def test_the_command_reads_folders_and_writes_the_page_charts_and_json(tmp_path) -> None:
    recs = [resident(i) for i in range(6)]
    narr, res = tmp_path / "narratives", tmp_path / "residents"
    narr.mkdir()
    res.mkdir()
    for part in (0, 3):
        pd.DataFrame([row(r, texts_for(r, i)) for i, r in enumerate(recs) if part <= i < part + 3]).to_parquet(
            narr / f"p{part}.parquet"
        )
        pd.DataFrame(recs[part : part + 3]).to_parquet(res / f"p{part}.parquet")
    out, js = tmp_path / "report", tmp_path / "summary.json"
    assert main(["--narratives", str(narr), "--residents", str(res), "--out", str(out), "--json", str(js)]) == 0
    assert (out / "index.html").read_text().count("data:image/png;base64") == 5
    assert json.loads(js.read_text())["summary"]["records"] == 6
    assert (out / "figures.csv").exists() and (out / "summary.json").exists()


def test_records_without_a_resident_are_an_error() -> None:
    rec = resident(0)
    with pytest.raises(ValueError, match="no resident"):
        build_narrative_report(pd.DataFrame([row(rec, texts_for(rec, 0))]), pd.DataFrame([resident(1)]))


def test_the_asset_writes_the_report_under_the_data_root(tmp_path) -> None:
    from _helpers import warehouse_resources
    from dagster import AssetSpec, materialize

    from persona_assets.core.storage import store_partition
    from persona_assets.narratives.assets import narrative_report
    from persona_assets.partitions import planning_area_partitions

    data = tmp_path / "data"
    db = data / "sg_personas.duckdb"
    recs = [resident(i) for i in range(3)]
    narr = pd.DataFrame([row(r, texts_for(r, i)) for i, r in enumerate(recs)])
    for area in PLANNING_AREAS:  # every partition, most of them empty
        mine = area == "Bedok"
        store_partition(
            pd.DataFrame(recs if mine else [], columns=list(RESIDENT_COLUMNS)), data, db, "sample", "residents", area
        )
        store_partition(narr if mine else narr.iloc[:0], data, db, "narratives", "persona_narratives", area)
    upstream = [
        AssetSpec("residents", partitions_def=planning_area_partitions, metadata={"schema": "sample"}),
        AssetSpec("persona_narratives", partitions_def=planning_area_partitions, metadata={"schema": "narratives"}),
    ]
    result = materialize(
        [*upstream, narrative_report], selection=[narrative_report], resources=warehouse_resources(data)
    )
    assert result.success
    md = result.asset_materializations_for_node("narrative_report")[0].metadata
    assert md["records"].value == 3 and "ok-rate" in md["key_figures"].value
    assert (data / "reports" / "narrative_report" / "index.html").exists()
    assert np.isclose(md["ok_rate"].value, 1.0)


def test_the_report_is_the_same_bytes_under_another_hash_seed(tmp_path) -> None:
    """Counters filled from sets break ties by insertion order, which follows the interpreter's hash seed: two
    processes with different seeds must still write the same figures, JSON and PNG charts."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    recs = [resident(i) for i in range(6)]
    pd.DataFrame([row(r, texts_for(r, i)) for i, r in enumerate(recs)]).to_parquet(tmp_path / "n.parquet")
    pd.DataFrame(recs).to_parquet(tmp_path / "r.parquet")
    root = Path(__file__).resolve().parents[1]
    for seed in ("1", "2"):
        args = ["--narratives", str(tmp_path / "n.parquet"), "--residents", str(tmp_path / "r.parquet")]
        args += ["--out", str(tmp_path / seed)]
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)}
        cmd = [sys.executable, "-m", "persona_assets.core.narratives.report", *args]
        subprocess.run(cmd, check=True, env=env, cwd=root, capture_output=True)
    files = sorted(p.name for p in (tmp_path / "1").iterdir())
    assert {"summary.json", "figures.csv", "trigrams.png", "nouns.png"} <= set(files)
    for name in files:
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes(), name
