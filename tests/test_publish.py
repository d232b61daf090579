"""Publication: the 38-field join, the atomic Hugging Face-layout release and the dataset card.

Small synthetic frames only (no pipeline data); the ``datasets`` round trip is skipped where the library is absent.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from persona_assets.core import schema as S
from persona_assets.core.publish import card as C
from persona_assets.core.publish import join as J
from persona_assets.core.publish import release as R

TRAITS = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")


# ------------------------------------------------------------------------------------------------ fixtures


def make_residents(n: int = 6, area: str = "Bedok", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        employed = i % 3 != 2
        rows.append(
            {
                "uuid": f"{area[:3].lower()}-{seed}-{i:04d}",
                "first_name": f"Wei Ming {i}",
                "middle_name": None,
                "last_name": "Tan",
                "full_name": f"Tan Wei Ming {i}",
                "preferred_english_name": "Jason" if i % 2 else None,
                "planning_area": area,
                "subzone": f"{area} North",
                "region": "East",
                "age": 20 + 7 * i,
                "sex": "Male" if i % 2 else "Female",
                "ethnicity": "Chinese",
                "religion": "Buddhism",
                "language_at_home": "Mandarin",
                "marital_status": "Single",
                "education_level": "Degree",
                "labour_force_status": "Employed" if employed else "Outside Labour Force",
                "occupation": "Professionals" if employed else "Retired",
                "industry": "Manufacturing" if employed else None,
                "monthly_income_band": "5,000-5,999" if employed else None,
                "dwelling_type": "HDB 4-Room Flats",
                "digital_familiarity": "high",
                "life_stage": "young adult",
                "big_five": {
                    t: {"t_score": int(s), "label": "average"}
                    for t, s in zip(TRAITS, rng.integers(45, 55, 5), strict=True)
                },
                "country": "Singapore",
            }
        )
    df = pd.DataFrame(rows)
    # columns in another order than the published one must not matter
    return df[[*df.columns[::-1]]]


def make_narratives(residents: pd.DataFrame, failed: dict[int, list[str]] | None = None, skip=()) -> pd.DataFrame:
    failed = failed or {}
    rows = []
    for i, r in enumerate(residents.itertuples(index=False)):
        if i in skip:
            continue
        ok = i not in failed
        texts = {f: (f"{r.full_name} text for {f}." if ok else None) for f in S.LLM_FIELDS}
        texts["skills_and_expertise_list"] = np.array(["welding", "cooking", "chess"], dtype=object) if ok else None
        texts["hobbies_and_interests_list"] = ["running", "reading", "kopi"] if ok else None
        rows.append(
            {
                "uuid": r.uuid,
                "planning_area": r.planning_area,
                "status": "ok" if ok else "failed",
                "attempts": 1 if ok else 3,
                "failure_reasons": np.array(failed.get(i, []), dtype=object),
                **texts,
                "model": "local/test",
                "prompt_version": "t1",
            }
        )
    return pd.DataFrame(rows)


def personas(n: int = 5, seed: int = 0) -> pd.DataFrame:
    res = make_residents(n, seed=seed)
    out = J.join_personas(res, make_narratives(res))
    return out


def card_for(configs: dict[str, pd.DataFrame], **kw) -> str:
    inputs = C.CardInputs(
        configs=configs,
        assumptions=["religion: independent of age and sex given area and ethnicity."],
        narrative_model="local/test-model",
        narrative_model_licence="Apache-2.0",
        prompt_version="t1",
        **kw,
    )
    return C.render_dataset_card(inputs)


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (following the ``published`` link) -> sha256, plus links -> target."""
    out = {}
    for dirpath, _, files in os.walk(folder, followlinks=False):
        for name in files:
            p = Path(dirpath) / name
            rel = str(p.relative_to(folder))
            out[rel] = "link:" + os.readlink(p) if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest()
    link = folder / R.PUBLISHED
    if link.is_symlink():
        out[R.PUBLISHED] = "link:" + os.readlink(link)
    return out


# ------------------------------------------------------------------------------------------------ the record


def test_field_order_is_the_38_published_fields() -> None:
    assert len(S.RECORD_FIELDS) == 38 == len(set(S.RECORD_FIELDS))
    assert (len(S.IDENTITY_FIELDS), len(S.LLM_FIELDS), len(S.CONTEXT_FIELDS)) == (6, 13, 19)
    assert S.RECORD_FIELDS[0] == "uuid"
    assert all(f.description for f in S.FIELDS.values())


def test_join_excludes_failed_narratives_and_counts_them() -> None:
    res = make_residents(6)
    nar = make_narratives(res, failed={1: ["name: persona", "age: persona"], 4: ["name: persona"]}, skip=(5,))
    out = J.join_personas(res, nar)
    counts = J.count_join(len(res), nar, len(out))

    assert list(out.columns) == list(S.RECORD_FIELDS)
    kept = [res["uuid"].iloc[i] for i in (0, 2, 3)]
    assert out["uuid"].tolist() == kept  # residents' order, failures and the un-narrated resident left out
    assert counts == {
        "residents": 6,
        "narrated": 5,
        "not_narrated": 1,
        "ok": 3,
        "failed_excluded": 2,
        "published": 3,
        "ok_rate": 0.6,
        "failed_by_reason": {"name: persona": 2, "age: persona": 1},
    }
    for f in S.LIST_FIELDS:
        assert all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in out[f])
    assert out["big_five"].iloc[0]["openness"]["label"] == "average"


def test_join_rejects_orphans_duplicates_and_mismatches() -> None:
    res = make_residents(4)
    nar = make_narratives(res)

    orphan = pd.concat([nar, make_narratives(make_residents(1, area="Yishun"))], ignore_index=True)
    with pytest.raises(ValueError, match="have no resident"):
        J.join_personas(res, orphan)
    with pytest.raises(ValueError, match="narratives: 1 duplicated uuid"):
        J.join_personas(res, pd.concat([nar, nar.iloc[:1]], ignore_index=True))
    with pytest.raises(ValueError, match="residents: 1 duplicated uuid"):
        J.join_personas(pd.concat([res, res.iloc[:1]], ignore_index=True), nar)
    moved = nar.assign(planning_area=["Bedok", "Bedok", "Tampines", "Bedok"])
    with pytest.raises(ValueError, match="planning_area differs"):
        J.join_personas(res, moved)
    with pytest.raises(ValueError, match="unknown status"):
        J.join_personas(res, nar.assign(status=["ok", "ok", "pending", "ok"]))
    with pytest.raises(ValueError, match="empty persona"):
        J.join_personas(res, nar.assign(persona=["x", " ", "y", "z"]))
    with pytest.raises(ValueError, match="lacks column"):
        J.join_personas(res.drop(columns=["big_five"]), nar)


# ------------------------------------------------------------------------------------------------ release


def test_write_release_layout_and_pandas_load(tmp_path: Path) -> None:
    df = personas(5)
    res = J.select_release_residents(make_residents(7, seed=1))
    info = R.write_release({"personas": df, "residents": res}, card_for({"personas": df}), tmp_path, rows_per_shard=2)

    link = tmp_path / "published"
    assert link.is_symlink() and os.readlink(link) == f"releases/{info.version}"
    assert info.path == tmp_path / "releases" / info.version and info.path.is_dir()
    assert R.list_releases(tmp_path) == [info.version] and R.find_live_release(tmp_path) == info.version
    assert sorted(p.name for p in (link / "personas").iterdir()) == [
        f"train-0000{i}-of-00003.parquet" for i in range(3)
    ]
    assert len(list((link / "residents").iterdir())) == 4
    assert (link / "README.md").read_text(encoding="utf-8").startswith("---\n")
    assert info.rows == {"personas": 5, "residents": 7}
    for f in info.files:
        assert hashlib.sha256((info.path / f.path).read_bytes()).hexdigest() == f.sha256
    assert not [p for p in (tmp_path / "releases").iterdir() if ".tmp-" in p.name]

    schema = pq.read_schema(link / "personas" / "train-00000-of-00003.parquet")
    assert schema.names == list(S.RECORD_FIELDS)
    assert schema.field("age").type == pa.int64()
    assert schema.field("skills_and_expertise_list").type == pa.list_(pa.string())
    assert pa.types.is_struct(schema.field("big_five").type)
    assert schema.field("big_five").type.field("openness").type.field("t_score").type == pa.int64()
    assert schema.field("middle_name").type == pa.string() and schema.field("middle_name").nullable

    loaded = pd.concat([pd.read_parquet(p) for p in sorted((link / "personas").glob("train-*.parquet"))])
    assert list(loaded.columns) == list(S.RECORD_FIELDS)
    assert loaded["uuid"].tolist() == df["uuid"].tolist()
    assert loaded["age"].dtype == np.int64
    assert loaded["middle_name"].isna().all()
    for f in S.LIST_FIELDS:
        assert all(len(v) == 3 and all(isinstance(x, str) for x in v) for v in loaded[f])
    assert loaded["skills_and_expertise_list"].iloc[0].tolist() == ["welding", "cooking", "chess"]
    assert loaded["big_five"].iloc[0] == df["big_five"].iloc[0]
    whole = pd.read_parquet(link / "personas")  # the folder, as the card shows
    assert sorted(whole["uuid"]) == sorted(df["uuid"])


def test_empty_config_still_has_the_schema(tmp_path: Path) -> None:
    empty = personas(3).iloc[:0]
    info = R.write_release({"personas": empty}, card_for({"personas": empty}), tmp_path)
    assert [f.path for f in info.files] == ["personas/train-00000-of-00001.parquet"]
    loaded = pd.read_parquet(tmp_path / "published" / "personas")
    assert len(loaded) == 0 and list(loaded.columns) == list(S.RECORD_FIELDS)


def test_same_content_gives_the_same_hash(tmp_path: Path) -> None:
    df = personas(4)
    a = R.write_release({"personas": df}, "card", tmp_path / "a")
    b = R.write_release({"personas": df.copy()}, "card", tmp_path / "b")
    assert a.content_hash == b.content_hash and a.version.endswith(a.content_hash[:8])
    c = R.write_release({"personas": df.iloc[:3]}, "card", tmp_path / "a")
    assert c.content_hash != a.content_hash


def test_second_release_swaps_the_link_and_keeps_the_first(tmp_path: Path) -> None:
    first = R.write_release({"personas": personas(3, seed=1)}, "card 1", tmp_path)
    second = R.write_release({"personas": personas(4, seed=2)}, "card 2", tmp_path)
    assert second.version > first.version
    assert os.readlink(tmp_path / "published") == f"releases/{second.version}"
    assert R.list_releases(tmp_path) == [first.version, second.version]
    assert (tmp_path / "releases" / first.version / "README.md").read_text() == "card 1"
    assert (tmp_path / "published" / "README.md").read_text() == "card 2"
    assert len(pd.read_parquet(tmp_path / "published" / "personas")) == 4
    assert not list(tmp_path.glob(".published.tmp-*"))


def test_failure_mid_write_leaves_the_live_release_untouched(tmp_path: Path, monkeypatch) -> None:
    R.write_release({"personas": personas(5, seed=1)}, "card 1", tmp_path, rows_per_shard=2)
    before = tree_digest(tmp_path)
    releases_before = R.list_releases(tmp_path)

    real = R._write_parquet
    calls = {"n": 0}

    def flaky(table, path):
        calls["n"] += 1
        if calls["n"] == 2:
            real(table, path)  # a partly written shard on disk, then the failure
            raise OSError("disk full (injected)")
        real(table, path)

    monkeypatch.setattr(R, "_write_parquet", flaky)
    with pytest.raises(OSError, match="injected"):
        R.write_release({"personas": personas(6, seed=2)}, "card 2", tmp_path, rows_per_shard=2)

    assert calls["n"] == 2
    assert tree_digest(tmp_path) == before  # byte-identical, same link target
    assert R.list_releases(tmp_path) == releases_before
    assert not [p for p in (tmp_path / "releases").iterdir() if ".tmp-" in p.name]
    assert not list(tmp_path.glob(".published.tmp-*"))
    assert (tmp_path / "published" / "README.md").read_text() == "card 1"


def test_failure_at_the_swap_removes_the_new_release(tmp_path: Path, monkeypatch) -> None:
    first = R.write_release({"personas": personas(3, seed=1)}, "card 1", tmp_path)
    before = tree_digest(tmp_path)

    def boom(*args, **kwargs):
        raise OSError("symlink failed (injected)")

    monkeypatch.setattr(R.os, "symlink", boom)
    with pytest.raises(OSError, match="injected"):
        R.write_release({"personas": personas(4, seed=2)}, "card 2", tmp_path)
    monkeypatch.undo()
    assert tree_digest(tmp_path) == before
    assert R.list_releases(tmp_path) == [first.version]


def test_pruning_keeps_the_newest_releases(tmp_path: Path) -> None:
    infos = [R.write_release({"personas": personas(2 + i, seed=i)}, f"card {i}", tmp_path, keep=2) for i in range(5)]
    versions = [i.version for i in infos]
    assert versions == sorted(versions)
    assert R.list_releases(tmp_path) == versions[-2:]
    assert R.find_live_release(tmp_path) == versions[-1]
    assert infos[2].pruned == (versions[0],)
    assert infos[4].pruned == (versions[2],)
    with pytest.raises(ValueError, match="keep"):
        R.write_release({"personas": personas(2)}, "card", tmp_path, keep=0)


def test_a_published_path_that_is_not_a_link_is_refused(tmp_path: Path) -> None:
    real_dir = tmp_path / "published"
    (real_dir / "personas").mkdir(parents=True)
    (real_dir / "personas" / "mine.parquet").write_bytes(b"not ours")
    with pytest.raises(ValueError, match="not a symlink to a release"):
        R.write_release({"personas": personas(3)}, "card", tmp_path)
    assert (real_dir / "personas" / "mine.parquet").read_bytes() == b"not ours"
    assert R.list_releases(tmp_path) == []


def test_versions_sort_by_age_even_if_the_clock_goes_back(tmp_path: Path, monkeypatch) -> None:
    first = R.write_release({"personas": personas(2)}, "card 1", tmp_path)
    monkeypatch.setattr(R, "_utcnow", lambda: datetime(2001, 1, 1, tzinfo=UTC))
    second = R.write_release({"personas": personas(3)}, "card 2", tmp_path, keep=1)
    assert second.version > first.version
    assert R.list_releases(tmp_path) == [second.version] and second.pruned == (first.version,)


def test_bad_cell_names_its_column(tmp_path: Path) -> None:
    df = personas(3)
    df["age"] = df["age"].astype(object)
    df.loc[1, "age"] = "forty"
    with pytest.raises(ValueError, match="column 'age'"):
        R.write_release({"personas": df}, "card", tmp_path)
    assert not (tmp_path / "published").exists()


# ------------------------------------------------------------------------------------------------ card


def test_card_header_parses_and_lists_both_configs() -> None:
    df = personas(5)
    res = J.select_release_residents(make_residents(8, seed=3))
    counts = {"residents": 8, "narrated": 6, "ok": 5, "failed_excluded": 1, "ok_rate": 5 / 6}
    card = card_for(
        {"personas": df, "residents": res},
        join_counts={**counts, "published": 5, "failed_by_reason": {"name: persona": 1}},
        register_names=37_571,
        register_full_name_matches=0,
        limitations=["A test limitation."],
    )
    head = C.parse_card_header(card)
    assert head["license"] == "cc-by-4.0" and head["language"] == ["en"]
    assert head["size_categories"] == ["n<1K"] and "text-generation" in head["task_categories"]
    assert {"synthetic", "personas", "singapore"} <= set(head["tags"])
    configs = {c["config_name"]: c for c in head["configs"]}
    assert configs["personas"]["default"] is True and "default" not in configs["residents"]
    assert configs["personas"]["data_files"] == [{"split": "train", "path": "personas/train-*.parquet"}]
    assert configs["residents"]["data_files"] == [{"split": "train", "path": "residents/train-*.parquet"}]
    info = {c["config_name"]: c for c in head["dataset_info"]}
    feats = {f["name"]: f for f in info["personas"]["features"]}
    assert [f["name"] for f in info["personas"]["features"]] == list(S.RECORD_FIELDS)
    assert feats["age"] == {"name": "age", "dtype": "int64"}
    assert feats["hobbies_and_interests_list"] == {"name": "hobbies_and_interests_list", "list": "string"}
    assert [t["name"] for t in feats["big_five"]["struct"]] == list(TRAITS)
    assert feats["big_five"]["struct"][0]["struct"] == [
        {"name": "t_score", "dtype": "int64"},
        {"name": "label", "dtype": "string"},
    ]
    assert info["personas"]["splits"][0]["num_examples"] == 5
    assert info["residents"]["splits"][0]["num_examples"] == 8
    assert len(info["residents"]["features"]) == 25

    body = card.split("\n---\n", 1)[1]
    table = [ln for ln in body.splitlines() if ln.startswith("| ") and ln.split("|")[1].strip().isdigit()]
    assert len(table) == 38
    assert "| 21 | `age` | int64 |" in body and "`respop_2025`" in body
    assert "| `persona` | string | 0.0% |" in body and "LLM (local/test-model)" in body
    assert "modelled rule" in body and "NVIDIA recipe" in body
    assert "Contains information from Singapore Residents by Planning Area / Subzone" in body
    assert "Singapore Open Data Licence v1.0" in body
    assert "- **ethnicity** (1 value): Chinese (100.0%) · Malay (0.0%)" in body
    assert "religion: independent of age and sex given area and ethnicity." in body
    assert "life_stage (rule, no table)" in body and "digital_familiarity (rule, no table)" in body
    assert "A test limitation." in body and "no households" in body
    assert "synthetic full names equal to a register name form: 0" in body
    assert "Validation pass rate (ok / narrated): 83.3%" in body
    assert "Nemotron-Personas-Singapore" in body and "local/test-model` (licence: Apache-2.0)" in body
    assert 'load_dataset("parquet", data_dir="personas", split="train")' in body
    assert card == card_for(
        {"personas": df, "residents": res},
        join_counts={**counts, "published": 5, "failed_by_reason": {"name: persona": 1}},
        register_names=37_571,
        register_full_name_matches=0,
        limitations=["A test limitation."],
    )  # deterministic


def test_card_requires_the_default_config() -> None:
    with pytest.raises(ValueError, match="default config"):
        card_for({"residents": J.select_release_residents(make_residents(2))})


def test_datasets_loads_the_release(tmp_path: Path) -> None:
    datasets = pytest.importorskip(
        "datasets",
        reason="Hugging Face `datasets` is not importable (optional; pandas loading is tested above)",
        exc_type=ImportError,
    )
    df = personas(5)
    res = J.select_release_residents(make_residents(7, seed=1))
    card = card_for({"personas": df, "residents": res})
    R.write_release({"personas": df, "residents": res}, card, tmp_path / "root", rows_per_shard=2)
    published = tmp_path / "root" / "published"
    cache = str(tmp_path / "hf_cache")

    ds = datasets.load_dataset("parquet", data_dir=str(published / "personas"), split="train", cache_dir=cache)
    assert ds.num_rows == 5 and ds.column_names == list(S.RECORD_FIELDS)
    assert sorted(ds["uuid"]) == sorted(df["uuid"])
    assert ds[0]["skills_and_expertise_list"] == ["welding", "cooking", "chess"]
    assert ds[0]["big_five"]["openness"]["label"] == "average"

    by_name = datasets.load_dataset(str(published), "residents", split="train", cache_dir=cache)
    assert by_name.num_rows == 7
    default = datasets.load_dataset(str(published), split="train", cache_dir=cache)
    assert default.num_rows == 5

    head = C.parse_card_header(card)
    declared = {c["config_name"]: c["features"] for c in head["dataset_info"]}
    assert datasets.Features._from_yaml_list(declared["personas"]) == ds.features
    assert datasets.Features._from_yaml_list(declared["residents"]) == by_name.features
