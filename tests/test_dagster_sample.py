"""In-process Dagster runs of the model and sample stages on a temporary warehouse: the network, residents
partitions with their blocking fidelity check, exact re-runs of one partition, empty partitions."""

import hashlib
import json
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from _helpers import canonical_digest, warehouse_resources
from dagster import AssetKey, DagsterInstance, materialize

from persona_assets.census.assets import area_population, census_assets, planning_areas
from persona_assets.core.dataset_settings import SETTINGS_KEY
from persona_assets.model.assets import persona_network
from persona_assets.names.assets import name_tokens
from persona_assets.sample.assets import residents

pytestmark = pytest.mark.slow


def _resources(data: Path, **settings: object) -> dict[str, object]:
    return warehouse_resources(data, **settings)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DagsterInstance]:
    data = tmp_path_factory.mktemp("warehouse")
    instance = DagsterInstance.ephemeral()
    result = materialize(
        [*census_assets, planning_areas, persona_network, name_tokens], resources=_resources(data), instance=instance
    )
    assert result.success
    mat = [e for e in result.get_asset_materialization_events() if e.asset_key == AssetKey("persona_network")]
    meta = mat[0].materialization.metadata
    assert "census2020_religion_pa" in meta["provenance_and_assumptions"].value
    assert "assumption:" in meta["provenance_and_assumptions"].value
    net_dir = data / "models" / "persona_network"
    assert (net_dir / "versions" / (net_dir / "CURRENT").read_text() / "cpts.npz").exists()
    return data, instance


def _sample(data: Path, instance: DagsterInstance, area: str, total: int = 148_000):
    return materialize(
        [area_population, residents, *census_assets, planning_areas, persona_network, name_tokens],
        selection=[area_population, residents],
        partition_key=area,
        resources=_resources(data, total_records=total, base_seed=7),
        instance=instance,
    )


def test_residents_partition_with_passing_fidelity_check(warehouse) -> None:
    data, instance = warehouse
    result = _sample(data, instance, "Bedok")
    assert result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["residents_fidelity"].passed
    assert checks["residents_privacy"].passed
    assert checks["residents_privacy"].metadata["register_full_name_matches"].value == 0
    assert checks["residents_fidelity"].metadata["max_tvd"].value < 0.05
    path = data / "warehouse" / "sample" / "residents" / "bedok.parquet"
    df = pd.read_parquet(path)
    mat = [e for e in result.get_asset_materialization_events() if e.asset_key == AssetKey("residents")][0]
    assert len(df) == mat.materialization.metadata["records"].value > 5000
    # the records the commit before issue 14 sampled with this seed, and the settings they were made with
    golden = json.loads((Path(__file__).parent / "golden" / "residents_partitions.json").read_text())
    (expected,) = [g for g in golden["partitions"] if (g["planning_area"], g["base_seed"]) == ("Bedok", 7)]
    assert canonical_digest(df) == expected["canonical_sha256"]
    settings = {"base_seed": 7, "total_records": 148_000}
    assert json.loads(pq.read_schema(path).metadata[SETTINGS_KEY.encode()]) == settings
    assert mat.materialization.metadata["dataset_settings"].value == settings
    assert set(df["planning_area"]) == {"Bedok"}
    assert df[["first_name", "last_name", "full_name"]].notna().all().all()
    malay_men = df[(df.ethnicity == "Malay") & (df.sex == "Male")]
    assert malay_men["full_name"].str.contains(" bin ").all()


def test_one_partition_rerun_alone_reproduces_its_file_byte_for_byte(warehouse) -> None:
    data, instance = warehouse
    assert _sample(data, instance, "Yishun").success
    path = data / "warehouse" / "sample" / "residents" / "yishun.parquet"
    first = _sha(path)
    other = data / "warehouse" / "sample" / "residents" / "bedok.parquet"
    other_before = _sha(other) if other.exists() else None
    assert _sample(data, instance, "Yishun").success
    assert _sha(path) == first
    if other_before is not None:
        assert _sha(other) == other_before  # other partitions untouched


def test_area_without_residents_gives_an_empty_partition_with_a_note(warehouse) -> None:
    data, instance = warehouse
    result = _sample(data, instance, "Central Water Catchment")
    assert result.success
    mat = [e for e in result.get_asset_materialization_events() if e.asset_key == AssetKey("residents")][0]
    assert "no residents" in mat.materialization.metadata["note"].value
    assert pd.read_parquet(data / "warehouse" / "sample" / "residents" / "central_water_catchment.parquet").empty


def test_duckdb_view_spans_the_partitions(warehouse) -> None:
    data, instance = warehouse
    assert _sample(data, instance, "Sengkang").success
    with duckdb.connect(str(data / "sg_personas.duckdb"), read_only=True) as con:
        areas = dict(con.execute("select planning_area, count(*) from sample.residents group by 1").fetchall())
    assert "Sengkang" in areas and areas["Sengkang"] > 5000


def test_narratives_partition_against_the_fault_server(warehouse) -> None:
    """persona_narratives for Bedok through a real local OpenAI-compatible server that fails some requests:
    every chosen record is accounted for, metadata counts tokens and reasons, and an unchanged re-run makes zero
    calls at the server."""
    from persona_assets.narratives.assets import persona_narratives
    from persona_assets.narratives.resources import NarrativeLLM
    from persona_assets.testing.llm_server import LLMTestServer

    data, instance = warehouse
    assert _sample(data, instance, "Bedok").success

    from persona_assets.core.narratives.partition import select_records
    from persona_assets.core.narratives.prompts import read_facts

    def plan(request: dict, seen: int) -> str | None:  # the first answer for names of even length fails validation
        name = read_facts(request["messages"])["full_name"]
        return "bad_narrative" if seen == 1 and len(name) % 2 == 0 else None

    server = LLMTestServer(plan=plan).start()
    try:
        llm = NarrativeLLM(
            model="openai/test-model",
            api_base=server.base_url,
            api_key="sk-test-not-a-secret",
            cache_path=str(data / "cache" / "calls.sqlite"),
            backoff_base_s=0.01,
            timeout_s=10,
        )

        def run():
            return materialize(
                [
                    area_population,
                    residents,
                    persona_narratives,
                    *census_assets,
                    planning_areas,
                    persona_network,
                    name_tokens,
                ],
                selection=[persona_narratives],
                partition_key="Bedok",
                resources={**_resources(data, base_seed=7, records_per_partition="9"), "llm": llm},
                instance=instance,
            )

        result = run()
        assert result.success
        first_calls = server.requests
        assert first_calls == 9 + server.faults_served["bad_narrative"]
        assert server.faults_served["bad_narrative"] > 0  # resampling was exercised
        nar_path = data / "warehouse" / "narratives" / "persona_narratives" / "bedok.parquet"
        df = pd.read_parquet(nar_path)
        assert json.loads(pq.read_schema(nar_path).metadata[SETTINGS_KEY.encode()]) == {"records_per_partition": "9"}
        people = select_records(pd.read_parquet(data / "warehouse" / "sample" / "residents" / "bedok.parquet"), 9)
        assert list(df["uuid"]) == list(people["uuid"])
        assert people["age"].nunique() > 1  # a random sample of the partition, not its first (youngest) rows
        assert set(df["status"]) == {"ok"}  # bad first answers were resampled
        assert (df["attempts"] >= 1).all() and df["skills_and_expertise_list"].map(len).min() >= 3
        meta = [e for e in result.get_asset_materialization_events()][0].materialization.metadata
        assert meta["records"].value == 9 and meta["ok"].value == 9
        assert meta["completion_tokens"].value == 200 * first_calls
        assert "sk-test" not in str({k: v.value for k, v in meta.items()})
        check = result.get_asset_check_evaluations()[0]
        assert check.check_name == "narratives_accounted" and check.passed

        assert run().success
        assert server.requests == first_calls  # unchanged re-run: every call served from the cache
        with duckdb.connect(str(data / "sg_personas.duckdb"), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM narratives.persona_narratives").fetchone()[0] == 9
    finally:
        server.stop()


def test_a_network_code_change_shows_stale_in_the_ui_down_the_graph(warehouse, tmp_path: Path) -> None:
    """What the UI shows (Dagster's stale-status resolver over the instance) after an edit of the network code,
    in a copy of the repository: persona_network is stale at once (new code version), so are the residents (their
    code imports the network module); once the network is re-materialised the residents are stale through its new
    data version, and once they are, the narratives; re-materialising brings each back to fresh (the narratives
    with zero new LLM calls). Census tables and name tokens stay fresh throughout."""
    import shutil

    from dagster import AssetsDefinition
    from dagster._core.definitions.data_version import StaleStatus
    from dagster._utils.test.data_versions import get_stale_status_resolver

    from persona_assets.code_versions import list_code_versions
    from persona_assets.definitions import defs
    from persona_assets.narratives.assets import persona_narratives
    from persona_assets.narratives.resources import NarrativeLLM, configured_llm_model
    from persona_assets.testing.llm_server import LLMTestServer

    data, instance = warehouse
    area = "Bukit Timah"
    root = Path(__file__).resolve().parents[1]
    server = LLMTestServer().start()
    llm = NarrativeLLM(model="openai/test-model", api_base=server.base_url, api_key="sk-test", timeout_s=10)
    resources = {**_resources(data, base_seed=7, records_per_partition="2"), "llm": llm}

    def run(assets: list[AssetsDefinition], key: str, partition: str | None = None) -> None:
        selected = [a for a in assets if AssetKey.from_user_string(key) in a.keys]
        result = materialize(
            assets, selection=selected, partition_key=partition, resources=resources, instance=instance
        )
        assert result.success

    def status(assets: list[AssetsDefinition]) -> dict[str, StaleStatus]:
        resolver = get_stale_status_resolver(instance, assets)
        keys = {"persona_network": None, "residents": area, "persona_narratives": area, "name_tokens": None}
        out = {k: resolver.get_status(AssetKey(k), p) for k, p in keys.items()}
        out["census/respop_2025"] = resolver.get_status(AssetKey(["census", "respop_2025"]))
        return out

    fresh = dict.fromkeys(["persona_network", "residents", "persona_narratives", "name_tokens"], StaleStatus.FRESH)
    try:
        current = list(defs.assets)
        needed = [*census_assets, planning_areas, area_population, persona_network, name_tokens, residents]
        assert _sample(data, instance, area).success
        run([*needed, persona_narratives], "persona_narratives", area)
        assert status(current) == {**fresh, "census/respop_2025": StaleStatus.FRESH}

        copy = tmp_path / "repo"
        for folder in ("persona_assets", "census_sources", "expectations"):
            shutil.copytree(root / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
        with open(copy / "persona_assets" / "core" / "model" / "network.py", "a", encoding="utf-8") as fh:
            fh.write("\n# a change to the network code\n")
        versions = list_code_versions(copy, configured_llm_model())
        edited = [
            a.map_asset_specs(lambda s: s.replace_attributes(code_version=versions[s.key.to_user_string()]))
            for a in current
        ]
        resolver = get_stale_status_resolver(instance, edited)
        causes = [c.reason for c in resolver.get_stale_causes(AssetKey("persona_network"))]
        assert causes == ["has a new code version"]
        stale = StaleStatus.STALE
        assert status(edited) == {
            **fresh,
            "persona_network": stale,
            "residents": stale,
            "census/respop_2025": fresh["name_tokens"],
        }

        run(edited, "persona_network")  # the maintainer re-materialises the network ...
        causes = [
            c.reason for c in get_stale_status_resolver(instance, edited).get_stale_causes(AssetKey("residents"), area)
        ]
        assert "has a new dependency data version" in causes and "has a new code version" in causes
        assert status(edited)["persona_network"] == StaleStatus.FRESH
        run(edited, "residents", area)  # ... then backfills the area: now its narratives are stale
        assert status(edited) == {**fresh, "persona_narratives": stale, "census/respop_2025": StaleStatus.FRESH}
        calls = server.requests
        run(edited, "persona_narratives", area)
        assert status(edited) == {**fresh, "census/respop_2025": StaleStatus.FRESH}
        assert server.requests == calls  # the same residents, prompts and model: every text from the cache
    finally:
        server.stop()


def test_narratives_partition_through_the_embedded_server(warehouse, tmp_path: Path) -> None:
    """The default path: ``local/<model>`` makes the resource start the local llama.cpp server on demand (tiny
    Gemma, tiny ``max_tokens``: every answer is cut, so every record fails as truncated, with its reason), take a
    lease for the run and give it back; the server then stops after its linger. An unchanged re-run starts none."""
    from persona_assets.core.narratives.llama_server import LlamaServerError, find_binary, pid_alive, state_root
    from persona_assets.narratives.assets import persona_narratives
    from persona_assets.narratives.resources import NarrativeLLM

    try:
        find_binary()
    except LlamaServerError as exc:
        pytest.skip(str(exc))
    data, instance = warehouse
    assert _sample(data, instance, "Tampines").success
    llm = NarrativeLLM(
        model="local/gemma-3-270m",
        max_tokens=16,
        max_attempts=1,
        local_slots=2,
        local_linger_s=1.0,
        cache_path=str(tmp_path / "calls.sqlite"),
    )

    def run():
        return materialize(
            [
                area_population,
                residents,
                persona_narratives,
                *census_assets,
                planning_areas,
                persona_network,
                name_tokens,
            ],
            selection=[persona_narratives],
            partition_key="Tampines",
            resources={**_resources(data, records_per_partition="2"), "llm": llm},
            instance=instance,
        )

    servers = set(state_root().glob("gemma-3-270m-2x*"))
    result = run()
    assert result.success
    df = pd.read_parquet(data / "warehouse" / "narratives" / "persona_narratives" / "tampines.parquet")
    assert len(df) == 2 and set(df["status"]) == {"failed"}
    assert all(list(r) == ["truncated: answer cut at max_tokens=16"] for r in df["failure_reasons"])
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["calls"].value == 2 and meta["truncated_answers"].value == 2
    assert meta["llm"].value["local_server"]["slots"] == 2
    folder = next(iter(set(state_root().glob("gemma-3-270m-2x*")) | servers))
    state = (folder / "state.json").read_text() if (folder / "state.json").exists() else None
    if state:  # the run's lease is gone: the server stops after its linger
        pids = [json.loads(state)["pid"], json.loads(state)["server_pid"]]
        deadline = time.monotonic() + 15
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(pid_alive(p) for p in pids)
    assert run().success  # unchanged: all from the cache, no server started
    assert not (folder / "state.json").exists()
