"""End-to-end tests against a live ``dagster dev`` (webserver, daemon, code server) started by the test on
127.0.0.1, with its own temporary Dagster instance and warehouse, and narratives through the local
OpenAI-compatible test server (``persona_assets.testing.llm_server``). Nothing leaves the loopback interface.

The upstream assets (census tables, the persona network and name tokens, the Bedok population, and the sample
and narratives of Tampines) are materialised first, in a subprocess with the same environment, into the same
instance. Then, through the GraphQL API the UI itself uses: a backfill of partition Bedok for ``residents`` and
``persona_narratives`` runs on the daemon; both assets are materialised for Bedok, their checks passed in that
run, and the other partitions are untouched (materialisation counts, Parquet files). The lineage walks upstream
from ``personas_dataset`` to the census sources. Finally headless Chromium (Playwright, Debian's
``/usr/bin/chromium``) opens the asset graph and the partitions of ``residents`` and saves screenshots to
``tests/artifacts/``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from persona_assets.testing.dagster_dev import DagsterDev, dagster_dev, no_proxy_for_loopback, write_instance_yaml
from persona_assets.testing.llm_server import LLMTestServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path(os.environ.get("SG_PERSONAS_CHROMIUM", "/usr/bin/chromium"))

BACKFILLED = "Bedok"
UNTOUCHED = "Tampines"
ASSETS = ("residents", "persona_narratives")
CHECKS = {
    "residents": ("residents_fidelity", "residents_privacy", "residents_gx_suite"),
    "persona_narratives": ("narratives_accounted",),
}
BACKFILL_TIMEOUT_S = 600
UPSTREAM_TIMEOUT_S = 900

#: Run in a subprocess so that the ``llm`` resource reads the test server's env vars at import.
UPSTREAM_SCRIPT = f"""
import sys, time
from dagster import DagsterInstance
from persona_assets.definitions import defs

instance = DagsterInstance.get()
plan = [
    ("census_tables_job", None),
    ("model_job", None),
    ("area_population_job", {BACKFILLED!r}),
    ("sample_job", {UNTOUCHED!r}),
    ("narratives_job", {UNTOUCHED!r}),
]
for job, partition in plan:
    t = time.monotonic()
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance, partition_key=partition, raise_on_error=False
    )
    status = "ok" if result.success else "FAILED"
    print(f"{{job}} {{partition or ''}}: {{status}} in {{time.monotonic() - t:.1f}} s", flush=True)
    if not result.success:
        sys.exit(1)
"""

LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on PartitionKeysNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}
"""

BACKFILL_STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      isAssetBackfill
      partitionNames
      assetSelection { path }
      error { message }
      runs { runId status tags { key value } }
    }
    ... on PythonError { message }
    ... on BackfillNotFoundError { message }
  }
}
"""

MATERIALIZATIONS = """
query Mats($key: AssetKeyInput!, $partitions: [String!]) {
  assetOrError(assetKey: $key) {
    __typename
    ... on Asset { assetMaterializations(partitions: $partitions) { runId partition timestamp } }
  }
}
"""

# The checks of the partitioned assets are partitioned (persona_assets/partitions.py): each execution carries its
# partition; they are selected by the backfill's run ids (whose dagster/partition tag is asserted).
CHECK_EXECUTIONS = """
query Checks($key: AssetKeyInput!, $check: String!) {
  assetCheckExecutions(assetKey: $key, checkName: $check, limit: 20) {
    runId
    status
    partition
    evaluation { success description }
  }
}
"""

PARTITION_KEYS = """
query Keys($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) { __typename ... on AssetNode { partitionKeys } }
}
"""

ASSET_GRAPH = """
query { assetNodes { assetKey { path } dependencyKeys { path } groupName isPartitioned } }
"""

RUN_ERRORS = """
query Logs($runId: ID!) {
  logsForRun(runId: $runId) {
    __typename
    ... on EventConnection { events { __typename ... on MessageEvent { level message stepKey } } }
  }
}
"""


@dataclass
class Stack:
    dev: DagsterDev
    llm: LLMTestServer
    data_dir: Path
    upstream_log: Path


@dataclass
class Backfill:
    backfill_id: str
    status: str
    run_ids: list[str]
    run_partitions: list[str | None]
    seconds: float
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


def _run_partition(tags: dict[str, str]) -> str | None:
    """The one partition a run covers: its ``dagster/partition`` tag, or a range of one partition (the
    ``dagster/asset_partition_range_*`` tags a backfill policy's runs carry)."""
    if "dagster/partition" in tags:
        return tags["dagster/partition"]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    return start if start is not None and start == end else None


def _key(name: str) -> dict[str, list[str]]:
    return {"path": name.split("/")}


def _materializations(dev: DagsterDev, asset: str, partition: str) -> list[dict]:
    data = dev.graphql(MATERIALIZATIONS, {"key": _key(asset), "partitions": [partition]})["assetOrError"]
    if data["__typename"] != "Asset":  # never materialised
        return []
    return data["assetMaterializations"]


def _parquet_state(data_dir: Path) -> dict[str, tuple[int, int]]:
    """Every Parquet file of the warehouse: (mtime_ns, size)."""
    return {
        str(p.relative_to(data_dir)): (p.stat().st_mtime_ns, p.stat().st_size)
        for p in sorted((data_dir / "warehouse").rglob("*.parquet"))
    }


def _run_errors(dev: DagsterDev, run_id: str) -> str:
    try:
        logs = dev.graphql(RUN_ERRORS, {"runId": run_id})["logsForRun"]
    except Exception as exc:  # diagnostics only: never mask the real failure
        return f"(could not read the run's logs: {exc})"
    events = logs.get("events", []) if logs["__typename"] == "EventConnection" else []
    errors = [f"[{e.get('stepKey')}] {e['message']}" for e in events if e.get("level") in ("ERROR", "CRITICAL")]
    return "\n".join(errors[-10:]) or "(no ERROR events)"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("ui_e2e")
    home, data = base / "dagster_home", base / "data"
    data.mkdir()
    write_instance_yaml(home, ROOT / "dagster.yaml")
    with ExitStack() as stack_:
        llm = LLMTestServer().start()
        stack_.callback(llm.stop)
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "SG_PERSONAS_DATA_DIR": str(data),
            "SG_PERSONAS_LLM_MODEL": "openai/test-model",
            "SG_PERSONAS_LLM_API_BASE": llm.base_url,
            "SG_PERSONAS_LLM_API_KEY": "sk-test-not-a-secret",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        }
        env.update(no_proxy_for_loopback(env))
        upstream_log = base / "upstream.log"
        with open(upstream_log, "wb") as log:
            try:
                proc = subprocess.run(
                    [sys.executable, "-c", UPSTREAM_SCRIPT],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=UPSTREAM_TIMEOUT_S,
                )
                rc = proc.returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
        if rc != 0:
            tail = "\n".join(upstream_log.read_text(errors="replace").splitlines()[-60:])
            pytest.fail(f"upstream materialisation failed ({rc}):\n{tail}")
        dev = stack_.enter_context(dagster_dev(home, env, log_path=base / "dagster_dev.log"))
        yield Stack(dev=dev, llm=llm, data_dir=data, upstream_log=upstream_log)


@pytest.fixture(scope="module")
def bedok_backfill(stack: Stack) -> Backfill:
    dev = stack.dev
    before = {
        "parquet": _parquet_state(stack.data_dir),
        "untouched": {a: len(_materializations(dev, a, UNTOUCHED)) for a in ASSETS},
        "backfilled": {a: len(_materializations(dev, a, BACKFILLED)) for a in ASSETS},
        "llm_requests": stack.llm.requests,
    }
    params = {
        "partitionNames": [BACKFILLED],
        "assetSelection": [_key(a) for a in ASSETS],
        "fromFailure": False,
        "title": "ui e2e: Bedok",
    }
    started = time.monotonic()
    launched = dev.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    status, info = "REQUESTED", {}
    while time.monotonic() - started < BACKFILL_TIMEOUT_S:
        info = dev.graphql(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        assert info["__typename"] == "PartitionBackfill", info
        status = info["status"]
        if status in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"):
            break
        assert dev.alive(), f"dagster dev died during the backfill\n{dev.log_tail(120)}"
        time.sleep(2.0)
    runs = info.get("runs") or []
    if status not in ("COMPLETED", "COMPLETED_SUCCESS") or any(r["status"] != "SUCCESS" for r in runs):
        details = "\n".join(
            f"run {r['runId']} {r['status']}: {_run_errors(dev, r['runId'])}" for r in runs if r["status"] != "SUCCESS"
        )
        pytest.fail(
            f"backfill {backfill_id} ended {status} after {time.monotonic() - started:.0f} s "
            f"(limit {BACKFILL_TIMEOUT_S} s); error: {info.get('error')}\nruns: {runs}\n{details}\n"
            f"--- dagster dev log ({dev.log_path}) ---\n{dev.log_tail(120)}"
        )
    seconds = time.monotonic() - started
    after = {
        "parquet": _parquet_state(stack.data_dir),
        "untouched": {a: len(_materializations(dev, a, UNTOUCHED)) for a in ASSETS},
        "backfilled": {a: _materializations(dev, a, BACKFILLED) for a in ASSETS},
        "llm_requests": stack.llm.requests,
    }
    partitions = [_run_partition({t["key"]: t["value"] for t in r["tags"]}) for r in runs]
    return Backfill(backfill_id, status, [r["runId"] for r in runs], partitions, seconds, before, after)


def test_backfill_of_one_partition_materialises_both_assets(stack: Stack, bedok_backfill: Backfill) -> None:
    bf = bedok_backfill
    assert bf.run_ids, "the backfill launched no run"
    assert bf.run_partitions == [BACKFILLED] * len(bf.run_ids)
    for asset in ASSETS:
        assert bf.before["backfilled"][asset] == 0
        mats = bf.after["backfilled"][asset]
        assert len(mats) == 1, (asset, mats)
        assert mats[0]["partition"] == BACKFILLED and mats[0]["runId"] in bf.run_ids
    warehouse = stack.data_dir / "warehouse"
    assert (warehouse / "sample" / "residents" / "bedok.parquet").exists()
    assert (warehouse / "narratives" / "persona_narratives" / "bedok.parquet").exists()
    assert bf.after["llm_requests"] > bf.before["llm_requests"]  # the narratives went through the test server


def test_checks_passed_in_the_backfill_run(stack: Stack, bedok_backfill: Backfill) -> None:
    for asset, checks in CHECKS.items():
        for check in checks:
            execs = stack.dev.graphql(CHECK_EXECUTIONS, {"key": _key(asset), "check": check})["assetCheckExecutions"]
            ours = [e for e in execs if e["runId"] in bedok_backfill.run_ids]
            assert len(ours) == 1, (asset, check, execs)
            assert ours[0]["status"] == "SUCCEEDED", (asset, check, ours[0])
            assert ours[0]["evaluation"]["success"] is True, (asset, check, ours[0])
            assert ours[0]["partition"] == BACKFILLED, (asset, check, ours[0])
            assert ours[0]["evaluation"]["description"].startswith(f"{BACKFILLED}: "), (asset, check, ours[0])


def test_other_partitions_untouched(stack: Stack, bedok_backfill: Backfill) -> None:
    bf = bedok_backfill
    for asset in ASSETS:
        assert bf.before["untouched"][asset] >= 1, f"{asset} {UNTOUCHED} was not materialised upstream"
        assert bf.after["untouched"][asset] == bf.before["untouched"][asset], asset
    rewritten = {"warehouse/sample/residents/bedok.parquet", "warehouse/narratives/persona_narratives/bedok.parquet"}
    before, after = bf.before["parquet"], bf.after["parquet"]
    assert f"warehouse/sample/residents/{UNTOUCHED.lower()}.parquet" in before
    assert f"warehouse/census/area_population/{BACKFILLED.lower()}.parquet" in before
    assert set(after) - set(before) == rewritten  # only the backfilled partition's files are new
    changed = sorted(p for p in before if after.get(p) != before[p])
    assert changed == [], f"Parquet files rewritten by a backfill of {BACKFILLED} alone: {changed}"


def test_lineage_from_the_dataset_reaches_the_census_sources(stack: Stack) -> None:
    nodes = stack.dev.graphql(ASSET_GRAPH)["assetNodes"]
    deps = {"/".join(n["assetKey"]["path"]): ["/".join(d["path"]) for d in n["dependencyKeys"]] for n in nodes}
    assert "personas_dataset" in deps
    seen, todo = set(), ["personas_dataset"]
    while todo:
        for up in deps.get(todo.pop(), []):
            if up not in seen:
                seen.add(up)
                todo.append(up)
    expected = {
        "census/respop_2025",
        "census/cea_name_hashes",
        "census/area_population",
        "persona_network",
        "name_tokens",
        "residents",
        "persona_narratives",
        "personas_candidate",
    }
    assert expected <= seen, sorted(expected - seen)
    partitioned = {"/".join(n["assetKey"]["path"]) for n in nodes if n["isPartitioned"]}
    assert {"residents", "persona_narratives", "census/area_population"} <= partitioned


def _browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium): no browser check of the UI")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (dev extra): no browser check of the UI"
    )
    return sync_api, [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--no-proxy-server",
    ]


def test_ui_shows_the_asset_graph_and_the_55_partitions(stack: Stack, bedok_backfill: Backfill, tmp_path: Path) -> None:
    sync_api, args = _browser()
    keys = stack.dev.graphql(PARTITION_KEYS, {"key": _key("residents")})["assetNodeOrError"]["partitionKeys"]
    assert len(keys) == 55 and BACKFILLED in keys
    network = stack.dev.graphql(PARTITION_KEYS, {"key": _key("persona_network")})["assetNodeOrError"]
    assert network["__typename"] == "AssetNode" and network["partitionKeys"] == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    url = stack.dev.url
    # every group expanded but census (29 tables): the whole pipeline stays legible in one screenshot
    expanded = ",".join(f"global@global:{g}" for g in ("model", "names", "sample", "narratives", "publish"))
    with sync_api.sync_playwright() as pw:
        # a persistent context is a fresh --user-data-dir; headless=True is Chromium's new headless mode
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=args,
            viewport={"width": 2000, "height": 1250},
        )
        try:
            page = ctx.new_page()
            page.set_default_timeout(90_000)

            page.goto(f"{url}/asset-groups?{urlencode({'expanded': expanded})}", wait_until="domcontentloaded")
            # the graph is virtualised: only nodes inside the viewport are in the page, and with 45 assets the
            # initial view no longer holds the model group (persona_network; asserted through the API below)
            try:
                for name in ("name_tokens", "residents", "persona_narratives", "personas_dataset"):
                    page.get_by_text(name, exact=True).first.wait_for(state="visible")
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "asset_graph_failed.png"))  # what the page showed instead
                (ARTIFACTS / "asset_graph_failed.txt").write_text(page.inner_text("body"))
                raise
            page.get_by_text("census", exact=True).first.wait_for(state="visible")  # the collapsed group
            page.wait_for_timeout(2000)  # let the zoom-to-fit and the edges settle
            page.screenshot(path=str(ARTIFACTS / "asset_graph.png"))
            graph_text = page.inner_text("body")
            (ARTIFACTS / "asset_graph.txt").write_text(graph_text)

            page.goto(f"{url}/assets/residents?view=partitions", wait_until="domcontentloaded")
            page.get_by_text(re.compile(r"^\d+ Partitions? Selected$")).first.wait_for(state="visible")
            page.get_by_text(re.compile(r"^Missing \(\d+\)$")).first.wait_for(state="visible")
            page.get_by_text(BACKFILLED, exact=True).first.click()
            page.get_by_text(bedok_backfill.run_ids[0][:8], exact=True).first.wait_for(state="visible")
            page.wait_for_timeout(1000)
            page.screenshot(path=str(ARTIFACTS / "residents_partitions.png"))
            text = page.inner_text("body")
            (ARTIFACTS / "residents_partitions.txt").write_text(text)
        finally:
            ctx.close()
    assert (ARTIFACTS / "asset_graph.png").stat().st_size > 20_000
    assert (ARTIFACTS / "residents_partitions.png").stat().st_size > 20_000
    assert "Global asset lineage" in graph_text
    selected = re.search(r"(\d+) Partitions? Selected", text)
    assert selected and int(selected.group(1)) == 55, text[:1500]
    counts = {k: int(v) for k, v in re.findall(r"(Failed|Materialized|Materializing|Missing) \((\d+)\)", text)}
    assert counts.get("Materialized") == 2, counts  # Tampines (upstream) and Bedok (the backfill)
    assert counts.get("Failed") == 0 and counts.get("Materializing") == 0, counts
    assert sum(counts.values()) == 55, counts
    listed = [k for k in keys if re.search(rf"^{re.escape(k)}$", text, re.M)]
    assert keys[0] in listed and BACKFILLED in listed and len(listed) >= 20  # the list is virtualised
    assert re.search(rf"^{BACKFILLED}\s*\n\s*Materialized", text, re.M), "Bedok's detail pane"
