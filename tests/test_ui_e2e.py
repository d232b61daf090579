"""End-to-end tests against a live ``dagster dev`` (webserver, daemon, code server) started by the test on
127.0.0.1, with its own temporary Dagster instance and warehouse, the report server ``make dev`` runs beside it
(``persona_assets/core/reports.py``, on a free port; ``$SG_PERSONAS_REPORTS_URL`` points the assets' links at it),
and narratives through the local OpenAI-compatible test server (``persona_assets.testing.llm_server``). Nothing
leaves the loopback interface.

The upstream assets (census tables, the persona network and name tokens, the Bedok and Bishan populations, and
the sample and narratives of Tampines) are materialised first, in a subprocess with the same environment, into the
same instance. Then, through the GraphQL API the UI itself uses: a backfill of partition Bedok for ``residents``
and ``persona_narratives`` runs on the daemon; both assets are materialised for Bedok, their checks passed in that
run, and the other partitions are untouched (materialisation counts, Parquet files). The lineage walks upstream
from ``personas_dataset`` to the census sources.

Then headless Chromium (Playwright, Debian's ``/usr/bin/chromium``) opens the asset graph and the partitions of
``residents``; reads a check result of ``residents`` that names its partition (Bedok) in the checks tab; does what
the README's "Backfilling what changed" says (the asset page, *Materialize…*, one partition ticked in the dialog,
*Launch 1 run*) for Bishan and waits for that run to succeed; and, once the rest of the dataset, the reports and
the publication are materialised (they read every partition, by design), clicks each report link on the asset
pages: every page answers 200, renders, and makes no request off the loopback interface. Screenshots (and the
text of each page) go to ``tests/artifacts/``, on failure too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from persona_assets.core.reports import REPORTS_URL_ENV, ReportServer
from persona_assets.testing.dagster_dev import DagsterDev, dagster_dev, no_proxy_for_loopback, write_instance_yaml
from persona_assets.testing.llm_server import LLMTestServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path(os.environ.get("SG_PERSONAS_CHROMIUM", "/usr/bin/chromium"))

BACKFILLED = "Bedok"
UNTOUCHED = "Tampines"
#: Launched in the browser the way the README says (its population is upstream, its residents are not).
CLICKED = "Bishan"
ASSETS = ("residents", "persona_narratives")
CHECKS = {
    "residents": ("residents_fidelity", "residents_privacy", "residents_gx_suite"),
    "persona_narratives": ("narratives_accounted",),
}
BACKFILL_TIMEOUT_S = 600
UPSTREAM_TIMEOUT_S = 900
RUN_TIMEOUT_S = 600
PUBLISH_TIMEOUT_S = 1200

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
    ("area_population_job", {CLICKED!r}),
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

#: The rest of the dataset, then the reports and the publication: fit_report, narrative_report and
#: personas_candidate read every partition (an unpartitioned asset over a partitioned one), and the gates of
#: personas_candidate require every area the allocation gives records (``make run --areas`` leaves them out for that
#: reason), so the partitions still missing are materialised first, over contiguous ranges (one run each, as a
#: backfill policy groups them), with the same default settings as every other run of the stack.
PUBLISH_SCRIPT = """
import sys, time
from dagster import AssetKey, DagsterInstance
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from persona_assets.definitions import defs
from persona_assets.partitions import PLANNING_AREAS

instance = DagsterInstance.get()


def run(job, first=None, last=None):
    t = time.monotonic()
    tags = {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last} if first else None
    result = defs.resolve_job_def(job).execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    status = "ok" if result.success else "FAILED"
    print(f"{job} {first or ''}..{last or ''}: {status} in {time.monotonic() - t:.1f} s", flush=True)
    if not result.success:
        sys.exit(1)


def missing_spans(asset):
    done = instance.get_materialized_partitions(AssetKey(asset))
    spans, span = [], []
    for area in [*PLANNING_AREAS, None]:
        if area is not None and area not in done:
            span.append(area)
        elif span:
            spans.append((span[0], span[-1]))
            span = []
    return spans


for job, asset in (("sample_job", "residents"), ("narratives_job", "persona_narratives")):
    for first, last in missing_spans(asset):
        run(job, first, last)
run("report_job")
run("publish_job")
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

RUNS = """
query Runs($filter: RunsFilter!) {
  runsOrError(filter: $filter) {
    __typename
    ... on Runs { results { runId status jobName tags { key value } } }
    ... on PythonError { message }
  }
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
    reports: ReportServer
    data_dir: Path
    env: dict[str, str]
    logs: Path


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


def _run_script(script: str, env: dict[str, str], log_path: Path, timeout_s: float, what: str) -> None:
    """Run ``script`` in a Python subprocess with ``env`` (output to ``log_path``); fail naming ``what``."""
    with open(log_path, "wb") as log:
        try:
            rc = subprocess.run(
                [sys.executable, "-c", script],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout_s,
            ).returncode
        except subprocess.TimeoutExpired:
            rc = f"timeout after {timeout_s:.0f} s"
    if rc != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-60:])
        pytest.fail(f"{what} failed ({rc}):\n{tail}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = tmp_path_factory.mktemp("ui_e2e")
    home, data = base / "dagster_home", base / "data"
    data.mkdir()
    write_instance_yaml(home, ROOT / "dagster.yaml")
    with ExitStack() as stack_:
        llm = LLMTestServer().start()
        stack_.callback(llm.stop)
        # what make dev starts beside the UI (persona_assets/dev.py), on a free loopback port
        reports = ReportServer(data, "127.0.0.1", 0).start()
        stack_.callback(reports.stop)
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "SG_PERSONAS_DATA_DIR": str(data),
            "SG_PERSONAS_LLM_MODEL": "openai/test-model",
            "SG_PERSONAS_LLM_API_BASE": llm.base_url,
            "SG_PERSONAS_LLM_API_KEY": "sk-test-not-a-secret",
            REPORTS_URL_ENV: reports.url,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        }
        env.update(no_proxy_for_loopback(env))
        _run_script(UPSTREAM_SCRIPT, env, base / "upstream.log", UPSTREAM_TIMEOUT_S, "upstream materialisation")
        dev = stack_.enter_context(dagster_dev(home, env, log_path=base / "dagster_dev.log"))
        yield Stack(dev=dev, llm=llm, reports=reports, data_dir=data, env=env, logs=base)


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


@contextmanager
def _chromium(profile: Path) -> Iterator[Any]:
    """A Playwright context of headless Chromium (a persistent context is a fresh --user-data-dir; headless=True is
    Chromium's new headless mode); closed, with the browser, at the end of the block."""
    sync_api, args = _browser()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=args,
            viewport={"width": 2000, "height": 1250},
        )
        ctx.set_default_timeout(90_000)
        try:
            yield ctx
        finally:
            ctx.close()


def _save(page: Any, name: str) -> str:
    """A screenshot and the text of ``page`` in tests/artifacts/ (``<name>.png``, ``<name>.txt``); returns the text."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    text = page.inner_text("body")
    (ARTIFACTS / f"{name}.txt").write_text(text)
    return text


@contextmanager
def _saved_on_failure(page: Any, name: str) -> Iterator[None]:
    """What ``page`` showed when the block failed, as ``<name>_failed.png`` and ``.txt``, before the error goes on."""
    try:
        yield
    except Exception:
        with suppress(Exception):
            _save(page, f"{name}_failed")
        raise


def test_ui_shows_the_asset_graph_and_the_55_partitions(stack: Stack, bedok_backfill: Backfill, tmp_path: Path) -> None:
    keys = stack.dev.graphql(PARTITION_KEYS, {"key": _key("residents")})["assetNodeOrError"]["partitionKeys"]
    assert len(keys) == 55 and BACKFILLED in keys
    network = stack.dev.graphql(PARTITION_KEYS, {"key": _key("persona_network")})["assetNodeOrError"]
    assert network["__typename"] == "AssetNode" and network["partitionKeys"] == []
    url = stack.dev.url
    # every group expanded but census (29 tables): the whole pipeline stays legible in one screenshot
    expanded = ",".join(f"global@global:{g}" for g in ("model", "names", "sample", "narratives", "publish"))
    with _chromium(tmp_path / "chromium-profile") as ctx:
        page = ctx.new_page()
        page.goto(f"{url}/asset-groups?{urlencode({'expanded': expanded})}", wait_until="domcontentloaded")
        # the graph is virtualised: only nodes inside the viewport are in the page, and with 45 assets the
        # initial view no longer holds the model group (persona_network; asserted through the API below)
        with _saved_on_failure(page, "asset_graph"):
            for name in ("name_tokens", "residents", "persona_narratives", "personas_dataset"):
                page.get_by_text(name, exact=True).first.wait_for(state="visible")
            page.get_by_text("census", exact=True).first.wait_for(state="visible")  # the collapsed group
        page.wait_for_timeout(2000)  # let the zoom-to-fit and the edges settle
        graph_text = _save(page, "asset_graph")

        page.goto(f"{url}/assets/residents?view=partitions", wait_until="domcontentloaded")
        with _saved_on_failure(page, "residents_partitions"):
            page.get_by_text(re.compile(r"^\d+ Partitions? Selected$")).first.wait_for(state="visible")
            page.get_by_text(re.compile(r"^Missing \(\d+\)$")).first.wait_for(state="visible")
            page.get_by_text(BACKFILLED, exact=True).first.click()
            page.get_by_text(bedok_backfill.run_ids[0][:8], exact=True).first.wait_for(state="visible")
        page.wait_for_timeout(1000)
        text = _save(page, "residents_partitions")
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


def test_a_check_result_names_its_partition_in_the_checks_tab(
    stack: Stack, bedok_backfill: Backfill, tmp_path: Path
) -> None:
    check = "residents_fidelity"
    with _chromium(tmp_path / "chromium-profile") as ctx:
        page = ctx.new_page()
        page.goto(f"{stack.dev.url}/assets/residents", wait_until="domcontentloaded")
        with _saved_on_failure(page, "residents_checks"):
            page.get_by_role("tab", name="Checks").click()
            page.get_by_text(check, exact=True).first.click()  # the check in the tab's list
            page.get_by_role("tab", name="Execution history").click()
            table = page.locator("table").filter(has=page.locator("th", has_text="Partition"))
            row = table.locator("tbody tr").filter(has_text=f"{BACKFILLED}: ").first
            row.wait_for(state="visible")
            headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
            cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        _save(page, "residents_checks")
    shown = dict(zip(headers, cells, strict=True))
    assert shown["Partition"] == BACKFILLED, shown
    assert shown["Description"].startswith(f"{BACKFILLED}: all "), shown  # "Bedok: all 9 fields within ..."
    assert shown["Evaluation result"].startswith("Passed"), shown


@dataclass
class ClickedRun:
    run_id: str
    status: str
    tags: dict[str, str]
    toast: str
    seconds: float
    before: dict[str, int]
    after: dict[str, list[dict]]
    checks: dict[str, list[dict]]


def _runs_of_partition(dev: DagsterDev, partition: str) -> list[dict]:
    data = dev.graphql(RUNS, {"filter": {"tags": [{"key": "dagster/partition", "value": partition}]}})["runsOrError"]
    assert data["__typename"] == "Runs", data
    return data["results"]


def _launch_from_the_materialize_dialog(page: Any, url: str, asset: str, partition: str) -> str:
    """What the README's "Backfilling what changed" says, click by click: open the asset, *Materialize…*, tick the
    partition in the dialog's partition selection, *Launch 1 run*. Returns the text of the toast that follows."""
    page.goto(f"{url}/assets/{asset}", wait_until="domcontentloaded")
    # the button's accessible name starts with its icon's ("materialization Materialize…")
    page.get_by_role("button", name=re.compile(r"\bMaterialize…$")).click()
    dialog = page.locator(".dagster-dialog").filter(has_text=f"Launch runs to materialize {asset}")
    dialog.wait_for(state="visible")
    dialog.get_by_text("Select a partition or create one", exact=True).click()
    dialog.get_by_placeholder("Filter partitions").fill(partition)
    item = dialog.locator("label").filter(has_text=partition).filter(has_not_text="Select all")
    item.get_by_text(partition, exact=True).first.click()
    dialog.get_by_text("1 partition", exact=True).wait_for(state="visible")  # the selection's count
    page.keyboard.press("Escape")  # closes the partition list (the dialog does not close on Escape)
    _save(page, "materialize_dialog")
    dialog.get_by_role("button", name="Launch 1 run", exact=True).click()
    toast = page.get_by_text("Launched run").first
    toast.wait_for(state="visible")
    return toast.inner_text()


@pytest.fixture(scope="module")
def clicked_run(stack: Stack, bedok_backfill: Backfill, tmp_path_factory: pytest.TempPathFactory) -> ClickedRun:
    """Partition ``CLICKED`` of ``residents`` launched from the browser, after the GraphQL backfill of Bedok (so the
    two do not overlap), and the run it started followed through GraphQL until it ends."""
    dev = stack.dev
    before = {a: len(_materializations(dev, a, CLICKED)) for a in ASSETS}
    prior = {r["runId"] for r in _runs_of_partition(dev, CLICKED)}
    started = time.monotonic()
    with _chromium(tmp_path_factory.mktemp("chromium") / "profile") as ctx:
        page = ctx.new_page()
        with _saved_on_failure(page, "materialize_dialog"):
            toast = _launch_from_the_materialize_dialog(page, dev.url, "residents", CLICKED)
    runs: list[dict] = []
    while time.monotonic() - started < RUN_TIMEOUT_S:
        runs = [r for r in _runs_of_partition(dev, CLICKED) if r["runId"] not in prior]
        if len(runs) == 1 and runs[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        assert len(runs) <= 1, runs
        assert dev.alive(), f"dagster dev died during the run\n{dev.log_tail(120)}"
        time.sleep(2.0)
    assert len(runs) == 1, f"the click launched {len(runs)} runs of {CLICKED}: {runs}\n{dev.log_tail(80)}"
    run = runs[0]
    if run["status"] != "SUCCESS":
        pytest.fail(
            f"run {run['runId']} launched from the dialog is {run['status']} after "
            f"{time.monotonic() - started:.0f} s: {_run_errors(dev, run['runId'])}\n{dev.log_tail(80)}"
        )
    checks = {
        check: [
            e
            for e in dev.graphql(CHECK_EXECUTIONS, {"key": _key("residents"), "check": check})["assetCheckExecutions"]
            if e["runId"] == run["runId"]
        ]
        for check in CHECKS["residents"]
    }
    return ClickedRun(
        run_id=run["runId"],
        status=run["status"],
        tags={t["key"]: t["value"] for t in run["tags"]},
        toast=toast,
        seconds=time.monotonic() - started,
        before=before,
        after={a: _materializations(dev, a, CLICKED) for a in ASSETS},
        checks=checks,
    )


def test_the_readme_backfill_path_in_the_browser_launches_a_one_partition_run_that_succeeds(
    stack: Stack, clicked_run: ClickedRun
) -> None:
    run = clicked_run
    assert run.toast.split() == ["Launched", "run", run.run_id[:8]], run.toast  # the toast names the run
    assert run.tags.get("dagster/partition") == CLICKED, run.tags
    assert run.before == {"residents": 0, "persona_narratives": 0}
    assert [(m["partition"], m["runId"]) for m in run.after["residents"]] == [(CLICKED, run.run_id)]
    assert run.after["persona_narratives"] == []  # the asset whose page was open, nothing else
    assert (stack.data_dir / "warehouse" / "sample" / "residents" / f"{CLICKED.lower()}.parquet").exists()
    for check, execs in run.checks.items():
        assert len(execs) == 1 and execs[0]["status"] == "SUCCEEDED", (check, execs)
        assert execs[0]["partition"] == CLICKED, (check, execs)
    # the README names exactly what was clicked
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Backfilling what changed", 1)[1]
    section = section.split("\n## ", 1)[0]
    for words in ("*Materialize…*", "*Launch 1 run*"):
        assert words in section, words


@pytest.fixture(scope="module")
def published(stack: Stack, clicked_run: ClickedRun) -> float:
    """The rest of the dataset, the reports and the publication (``PUBLISH_SCRIPT``), once the backfill and the
    clicked run (which need their partitions missing) are done; returns the seconds it took."""
    started = time.monotonic()
    _run_script(
        PUBLISH_SCRIPT,
        stack.env,
        stack.logs / "publish.log",
        PUBLISH_TIMEOUT_S,
        "materialising the rest of the dataset, the reports and the publication",
    )
    return time.monotonic() - started


@dataclass(frozen=True)
class ReportLink:
    asset: str
    key: str  # of the materialisation's metadata
    path: str  # under the data root
    title: str | None  # of the page (None: a plain-text page)
    rendered: tuple[str, str | None]  # an element the rendered page shows (CSS selector, text)


REPORT_LINKS = (
    ReportLink(
        "fit_report",
        "report",
        "reports/fit_report/index.html",
        "sg-personas census-fidelity report",
        ("h1", "sg-personas census-fidelity report"),
    ),
    ReportLink(
        "narrative_report",
        "report",
        "reports/narrative_report/index.html",
        "sg-personas narrative report",
        ("h1", "sg-personas narrative report"),
    ),
    # the table of validation results appears once the vendored jQuery and bootstrap-table scripts ran
    ReportLink(
        "personas_candidate",
        "data_docs",
        "reports/data_docs/index.html",
        "sg-personas data quality",
        (".bootstrap-table", None),
    ),
    ReportLink(
        "personas_dataset", "dataset_card", "published/README.html", "sg-personas dataset card", ("h2", "Summary")
    ),
    ReportLink("personas_dataset", "dataset_card_markdown", "published/README.md", None, ("pre", "## Summary")),
)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class OpenedReport:
    link: ReportLink
    href: str | None
    url: str
    status: int | None
    title: str
    requests: list[str]


def _on_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname in LOOPBACK


def _page_of(request: Any) -> Any:
    try:
        return request.frame.page
    except Exception:  # a service worker's request has no frame
        return None


def _open_report_link(ctx: Any, page: Any, url: str, link: ReportLink, requests: list) -> OpenedReport:
    """Open the asset's page, find the metadata entry ``link.key`` (through the metadata filter) and click its
    link; the report opens in a new tab, which is read (status of its document, title, every request) and closed."""
    name = f"{link.asset}_{link.key}"
    page.goto(f"{url}/assets/{link.asset}", wait_until="domcontentloaded")
    with _saved_on_failure(page, f"asset_{name}"):
        page.get_by_placeholder("Filter metadata keys").fill(link.key)
        row = page.locator("tr").filter(has=page.get_by_text(link.key, exact=True))
        anchor = row.locator("a[target=_blank]").first
        anchor.wait_for(state="visible")
        href = anchor.get_attribute("href")
        _save(page, f"asset_{name}")
        seen = len(requests)
        with ctx.expect_page() as opened:
            anchor.click()
    report = opened.value
    with _saved_on_failure(report, f"report_{name}"):
        report.wait_for_load_state("load")
        css, text = link.rendered
        shown = report.locator(css)
        (shown.filter(has_text=text) if text else shown).first.wait_for(state="visible")
        report.wait_for_timeout(500)  # for late requests (images, scripts)
    _save(report, f"report_{name}")
    made = [r for r in requests[seen:] if _page_of(r) == report]
    document = next((r for r in made if r.is_navigation_request()), None)
    response = document.response() if document is not None else None
    opened_report = OpenedReport(
        link, href, report.url, response.status if response else None, report.title(), [r.url for r in made]
    )
    report.close()
    return opened_report


def test_each_report_link_on_the_asset_pages_opens_a_page_that_renders_from_loopback_alone(
    stack: Stack, published: float, tmp_path: Path
) -> None:
    with _chromium(tmp_path / "chromium-profile") as ctx:
        requests: list = []
        ctx.on("request", lambda request: requests.append(request))  # a bound builtin cannot be a handler
        page = ctx.new_page()
        opened = [_open_report_link(ctx, page, stack.dev.url, link, requests) for link in REPORT_LINKS]
    for o in opened:
        expected = f"{stack.reports.url}/{o.link.path}"
        assert o.href == expected and o.url == expected, (o.link, o.href, o.url)
        assert o.status == 200, o
        assert o.link.title is None or o.title == o.link.title, o
        outside = [u for u in o.requests if not _on_loopback(u)]
        assert o.requests and not outside, (o.link, outside)
