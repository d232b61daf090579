"""Gates over the whole dataset: a pass/fail pair for the residents, narratives and published-personas suites,
and an end-to-end Dagster run of publish_job (after the narrative report over the narrated sample, as report_job
runs it) where a corrupted partition blocks publication while the live release stays byte-identical."""

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dagster import AssetSpec, DagsterInstance, materialize

from persona_assets.core.census import area_adult_population, summarise_planning_areas
from persona_assets.core.dataset_settings import SETTINGS_KEY, encode_settings
from persona_assets.core.gx_suites import run_suite
from persona_assets.core.model.allocation import allocate_areas
from persona_assets.core.model.residents import sample_residents
from persona_assets.core.names import ENGLISH_LABELS, NameModel, build_name_tokens
from persona_assets.core.narratives.partition import COLUMNS
from persona_assets.core.narratives.prompts import PROMPT_VERSION
from persona_assets.core.publish.join import count_join, join_personas
from persona_assets.core.quality import (
    add_narrative_checks,
    add_persona_checks,
    build_narrative_suite_parameters,
    compute_min_ok_share,
    find_secret_like,
    list_expected_areas,
)
from persona_assets.core.storage import store_partition, store_table
from persona_assets.testing.llm_server import narrative_for

TOTAL = 1_500
SEED = 11
RESIDENTS_SETTINGS = {SETTINGS_KEY: encode_settings({"total_records": TOTAL, "base_seed": SEED})}
NARRATIVES_SETTINGS = {SETTINGS_KEY: encode_settings({"records_per_partition": "2"})}


@pytest.fixture(scope="module")
def dataset(network, census_frames):
    """A small dataset: residents of every area (1,500 in all) with names, one ok narrative per populated area
    (texts from the test server's generator), and the tables the publish stage reads."""
    respop, ura = census_frames["respop_2025"], census_frames["ura_planning_areas"]
    areas = summarise_planning_areas(respop, ura)
    alloc = allocate_areas(areas.set_index("planning_area")["residents_15plus"], TOTAL)
    tokens = build_name_tokens(
        {"cea": census_frames["cea_name_tokens"]}, census_frames["chinese_surnames_2000"], pd.read_csv(ENGLISH_LABELS)
    )
    hashes = census_frames["cea_name_hashes"]
    names = (NameModel(tokens), hashes)
    residents = {
        a: sample_residents(network, a, area_adult_population(respop, ura, a), int(alloc[a]), SEED, names=names)
        for a in areas["planning_area"]
    }
    narratives = {}
    for a, df in residents.items():
        rows = []
        for rec in df.head(2).to_dict("records"):
            texts = narrative_for({"full_name": rec["full_name"], "sex": rec["sex"], "planning_area": a})
            texts = {k: (f"{v} ({rec['uuid'][:8]})" if isinstance(v, str) else v) for k, v in texts.items()}
            rows.append(
                {
                    "uuid": rec["uuid"],
                    "planning_area": a,
                    "status": "ok",
                    "attempts": 1,
                    "failure_reasons": [],
                    **texts,
                    "model": "openai/test-model",
                    "prompt_version": PROMPT_VERSION,
                }
            )
        narratives[a] = pd.DataFrame(rows, columns=list(COLUMNS))
    return residents, narratives, areas, hashes


def _all(parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts.values(), ignore_index=True)


def _populated(areas: pd.DataFrame) -> list[str]:
    return list_expected_areas(areas, TOTAL)


# ------------------------------------------------------------------------------------------ pass/fail pairs


def test_residents_suite_passes_over_the_dataset_and_fails_on_a_missing_area(dataset) -> None:
    residents, _, areas, _ = dataset
    df = _all(residents)
    params = {"expected_areas": _populated(areas)}
    ok = run_suite(df, "residents", parameters=params)
    assert ok.success, ok.summary()
    missing = df[df["planning_area"] != "Bedok"]
    report = run_suite(missing, "residents", parameters=params)
    assert not report.success
    assert {f.expectation for f in report.failures} == {"expect_column_distinct_values_to_equal_set"}


def test_residents_suite_fails_on_bad_values_naming_the_column(dataset) -> None:
    df = dataset[0]["Bedok"].copy()
    df.loc[df.index[0], "age"] = 7
    df.loc[df.index[1], "religion"] = "Jedi"
    df.loc[df.index[2], "uuid"] = df.loc[df.index[3], "uuid"]
    report = run_suite(df, "residents", parameters={"expected_areas": ["Bedok"]})
    assert {f.column for f in report.failures} == {"age", "religion", "uuid"}
    assert run_suite(dataset[0]["Bedok"], "residents", parameters={"expected_areas": ["Bedok"]}).success


def test_narratives_suite_passes_and_fails_on_ok_rate_duplicates_and_lists(dataset) -> None:
    narratives = _all(dataset[1])
    params = build_narrative_suite_parameters(narratives)
    assert run_suite(add_narrative_checks(narratives), "narratives", parameters=params).success
    bad = narratives.copy()
    n_fail = int(len(bad) * 0.45)  # 55% ok of ~100 records: below the 62% that 100 records may show
    bad.loc[: n_fail - 1, "status"] = "failed"
    bad["failure_reasons"] = [["name: persona"]] * len(bad)
    bad.loc[n_fail, "persona"] = bad.loc[n_fail + 1, "persona"]
    bad.at[n_fail + 2, "skills_and_expertise_list"] = ["only one"]
    bad.loc[n_fail + 3, "status"] = "failed"
    bad.at[n_fail + 3, "failure_reasons"] = []
    report = run_suite(add_narrative_checks(bad), "narratives", parameters=build_narrative_suite_parameters(bad))
    failed = {(f.expectation, f.column) for f in report.failures}
    assert ("expect_column_values_to_be_in_set", "status") in failed  # shown below 70% at 95% confidence
    assert ("expect_column_values_to_be_unique", "persona") in failed
    assert ("expect_column_values_to_be_between", "check__skills_and_expertise_list_items") in failed
    assert ("expect_column_values_to_be_in_set", "check__failed_without_reason") in failed


def test_the_ok_rate_gate_threshold_is_the_95_percent_score_bound_of_70_percent() -> None:
    assert compute_min_ok_share(8) == pytest.approx(0.4335, abs=1e-4)  # 4 of 8 may pass, 3 of 8 may not
    assert compute_min_ok_share(100) == pytest.approx(0.6246, abs=1e-4)
    assert compute_min_ok_share(148_000) == pytest.approx(0.6980, abs=1e-4)
    assert compute_min_ok_share(0) == 0.0 and compute_min_ok_share(1) == 0.0  # one record shows nothing
    shares = [compute_min_ok_share(n) for n in (2, 8, 30, 100, 1_000, 148_000)]
    assert shares == sorted(shares) and shares[-1] < 0.7  # stricter with every record, never above the target


@pytest.mark.parametrize(("n", "ok", "passes"), [(8, 4, True), (8, 3, False), (8, 8, True), (1_000, 660, False)])
def test_the_ok_rate_gate_refuses_only_what_the_sample_shows_below_70_percent(
    dataset, n: int, ok: int, passes: bool
) -> None:
    """Through GX: 4 of 8 ok is not evidence of a model below 70% (a model ok 83% of the time shows 5 of 8 in one
    run of six); 3 of 8 is; 66% of 1,000 is too."""
    base = _all(dataset[1])
    rows = pd.concat([base] * (n // len(base) + 1), ignore_index=True).head(n).copy()
    rows["uuid"] = [f"u{i}" for i in range(n)]  # (repeated texts fail their own expectations; only status is read)
    rows.loc[ok:, "status"] = "failed"
    rows["failure_reasons"] = [[] if i < ok else ["sex: persona"] for i in range(n)]
    report = run_suite(add_narrative_checks(rows), "narratives", parameters=build_narrative_suite_parameters(rows))
    status = [f for f in report.failures if f.column == "status"]
    assert (not status) is passes, report.failures


def test_personas_suite_passes_and_fails_on_a_register_name_a_secret_and_a_type(dataset) -> None:
    residents, narratives, areas, hashes = dataset
    personas = join_personas(_all(residents), _all(narratives))
    counts = count_join(TOTAL, _all(narratives), len(personas))
    params = {"min_rows": 1, "max_rows": TOTAL, "populated_areas": _populated(areas)}
    assert counts["failed_excluded"] == 0 and len(personas) == counts["ok"]
    assert run_suite(add_persona_checks(personas, hashes), "personas_dataset", parameters=params).success
    bad = personas.copy()
    frame = add_persona_checks(bad, hashes)
    frame.loc[0, "check__register_full_name"] = True  # the digest lookup itself is tested in test_names.py
    bad.loc[1, "travel_persona"] = bad.loc[1, "travel_persona"] + " key sk-abcdefghijklmnopqrstuvwxyz0123"
    frame["check__secret_like"] = add_persona_checks(bad, hashes)["check__secret_like"]
    frame["age"] = frame["age"].astype(float)
    report = run_suite(frame, "personas_dataset", parameters=params)
    failed = {f.column for f in report.failures}
    assert {"check__register_full_name", "check__secret_like", "age"} <= failed


def test_secret_like_is_found_in_texts_and_list_items_and_only_there() -> None:
    key = "sk-abcdefghijklmnopqrstuvwxyz0123"
    frame = pd.DataFrame(
        {
            "persona": ["a quiet man", f"uses {key} daily", "plain", "plain", None],
            "hobbies": [["chess"], ["go"], ["reads", "hf_" + "a" * 24], np.array(["x", "y"]), []],
            "age": [30, 40, 50, 60, 70],
            "area": pd.Categorical(["Bishan", "Bishan", "Bedok", "AKIA" + "A" * 16, "Bedok"]),
        },
        index=[10, 11, 12, 13, 14],
    )
    found = find_secret_like(frame)
    assert found.dtype == bool and list(found.index) == [10, 11, 12, 13, 14]
    assert found.tolist() == [False, True, True, True, False]
    # a bearer token whose word and value sit in two fields of the row (texts are searched joined by newlines)
    split = pd.DataFrame({"a": ["Authorization: Bearer"], "b": ["abcdefghijklmnopqrstuvwx"]})
    assert find_secret_like(split).tolist() == [True]
    assert find_secret_like(frame.iloc[0:0]).tolist() == []


# ------------------------------------------------------------------------------- end to end through Dagster


def _tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.mark.slow
def test_a_corrupted_partition_blocks_publication_and_the_live_release_stays(
    dataset, tmp_path, monkeypatch, request
) -> None:
    from _helpers import open_in_chromium, warehouse_resources

    from persona_assets.core.reports import REPORTS_URL_ENV, ReportServer
    from persona_assets.narratives.assets import narrative_report
    from persona_assets.partitions import planning_area_partitions
    from persona_assets.publish.assets import personas_candidate, personas_dataset

    residents, narratives, areas, hashes = dataset
    data = tmp_path / "data"
    db = data / "sg_personas.duckdb"
    for a in residents:
        store_partition(residents[a], data, db, "sample", "residents", a, RESIDENTS_SETTINGS)
        store_partition(narratives[a], data, db, "narratives", "persona_narratives", a, NARRATIVES_SETTINGS)
    store_table(areas, data, db, "census", "planning_areas")
    store_table(hashes, data, db, "census", "cea_name_hashes")
    fit = pd.DataFrame(
        {
            "scope": ["Singapore"],
            "field": ["sex"],
            "n": [TOTAL],
            "tvd_synthetic_official": [0.01],
            "official_source": ["respop_2025"],
        }
    )
    store_table(fit, data, db, "model", "fit_report")
    upstream = [
        AssetSpec("residents", partitions_def=planning_area_partitions, metadata={"schema": "sample"}),
        AssetSpec("persona_narratives", partitions_def=planning_area_partitions, metadata={"schema": "narratives"}),
        AssetSpec(["census", "planning_areas"]),
        AssetSpec(["census", "cea_name_hashes"]),
        AssetSpec("fit_report", metadata={"schema": "model"}),
        AssetSpec("narrative_report", metadata={"schema": "narratives"}),
    ]
    instance = DagsterInstance.ephemeral()
    reports = ReportServer(data, port=0).start()  # what make dev runs beside the UI; the links point at it
    request.addfinalizer(reports.stop)
    monkeypatch.setenv(REPORTS_URL_ENV, reports.url)
    # the narrative report over the narrated sample, as report_job runs it before publish_job
    reported = materialize(
        [*upstream[:2], narrative_report], selection=[narrative_report], resources=warehouse_resources(data)
    )
    assert reported.success
    assert reported.asset_materializations_for_node("narrative_report")[0].metadata["records"].value == sum(
        len(n) for n in narratives.values()
    )
    assert (data / "reports" / "narrative_report" / "lengths.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    def publish():
        return materialize(
            [*upstream, personas_candidate, personas_dataset],
            selection=[personas_candidate, personas_dataset],
            resources=warehouse_resources(data),
            instance=instance,
            raise_on_error=False,
        )

    first = publish()
    assert first.success, [e.description for e in first.get_asset_check_evaluations()]
    live = data / "published"
    assert live.is_symlink() and (live / "README.md").exists()
    card = (live / "README.md").read_text(encoding="utf-8")
    assert f"`base_seed` = {SEED}" in card and f"--total-records {TOTAL} --seed {SEED} --narratives 2" in card
    assert "Narrative quality (`narrative_report`" in card and "reports/narrative_report/index.html" in card
    personas = pd.read_parquet(live / "personas")
    assert len(personas) == sum(len(n) for n in narratives.values()) and personas.shape[1] == 38
    assert isinstance(personas["hobbies_and_interests_list"].iloc[0], np.ndarray | list)
    assert len(pd.read_parquet(live / "residents")) == TOTAL
    assert (data / "reports" / "data_docs" / "index.html").exists()
    assert "<h1>" in (live / "README.html").read_text(encoding="utf-8")  # the card rendered for the report server
    meta = {e.asset_key.path[-1]: e.materialization.metadata for e in first.get_asset_materialization_events()}
    assert meta["personas_candidate"]["data_docs"].value.endswith("/reports/data_docs/index.html")
    assert meta["personas_candidate"]["data_docs"].value.startswith("http://127.0.0.1:")
    assert "| ok-rate | 100.0% |" in meta["personas_candidate"]["quality_summary"].value
    assert meta["personas_dataset"]["dataset_card"].value.endswith("/published/README.html")
    links = [
        meta["personas_candidate"]["data_docs"].value,
        meta["personas_dataset"]["dataset_card"].value,
        meta["personas_dataset"]["dataset_card_markdown"].value,
    ]
    opened = open_in_chromium(links, reports.url, tmp_path / "chromium")  # each link renders, from the server alone
    for url, status, outside, _title in opened:
        assert status == 200 and not outside, (url, status, outside)
    assert "sg-personas dataset card" in [t for *_, t in opened]
    target, digest = os.readlink(live), _tree_digest(live.resolve())

    # corrupt one partition on disk: a 7-year-old "resident" in Bedok
    bedok = residents["Bedok"].copy()
    bedok.loc[bedok.index[0], "age"] = 7
    store_partition(bedok, data, db, "sample", "residents", "Bedok", RESIDENTS_SETTINGS)
    second = publish()
    assert not second.success
    checks = {e.check_name: e for e in second.get_asset_check_evaluations()}
    assert not checks["residents_dataset_suite"].passed
    assert "age" in checks["residents_dataset_suite"].description  # a readable reason, shown in the UI
    assert checks["personas_dataset_suite"].passed
    skipped = [e for e in second.all_events if e.event_type_value in ("STEP_SKIPPED", "ASSET_MATERIALIZATION_PLANNED")]
    assert skipped is not None
    assert not [e for e in second.get_asset_materialization_events() if e.asset_key.path == ["personas_dataset"]]
    assert os.readlink(live) == target and _tree_digest(live.resolve()) == digest  # the earlier release is untouched

    # a partition made with other settings (another seed): publication refuses the mix, naming the partition
    store_partition(residents["Bedok"], data, db, "sample", "residents", "Bedok", RESIDENTS_SETTINGS)
    other = {SETTINGS_KEY: encode_settings({"total_records": TOTAL, "base_seed": SEED + 1})}
    store_partition(residents["Yishun"], data, db, "sample", "residents", "Yishun", other)
    third = publish()
    assert not third.success
    failure = [e for e in third.all_events if e.event_type_value == "STEP_FAILURE"][0]
    message = failure.step_failure_data.error.message
    assert "residents: the partitions do not share one set of recorded settings" in message
    assert f'"base_seed":{SEED + 1}' in message and "1 partition(s): Yishun" in message
    assert os.readlink(live) == target and _tree_digest(live.resolve()) == digest
