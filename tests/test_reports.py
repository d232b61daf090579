"""The report server (reports and the published card over HTTP, nothing else) and report links; ``make dev``
(the UI, the daemon and the report server) stops on SIGTERM however it was started."""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from persona_assets.core.paths import REPO_ROOT
from persona_assets.core.reports import REPORTS_URL_ENV, ReportServer, render_markdown_page, report_url
from persona_assets.testing.dagster_dev import descendants, free_port, no_proxy_for_loopback, stop_process_group

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str) -> tuple[int, str, str]:
    try:
        with _OPENER.open(url, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, "", ""
    except (urllib.error.URLError, OSError):
        return 0, "", ""  # not listening (yet)


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    (tmp_path / "reports" / "fit_report").mkdir(parents=True)
    (tmp_path / "reports" / "fit_report" / "index.html").write_text("<html><h1>fit</h1></html>")
    (tmp_path / "releases" / "v1").mkdir(parents=True)
    (tmp_path / "releases" / "v1" / "README.md").write_text("# card")
    (tmp_path / "published").symlink_to("releases/v1")
    (tmp_path / "warehouse").mkdir()
    (tmp_path / "warehouse" / "secret.parquet").write_text("not served")
    (tmp_path / "sg_personas.duckdb").write_text("not served")
    return tmp_path


def test_the_server_serves_reports_and_the_release_only(data_root: Path) -> None:
    server = ReportServer(data_root, port=0).start()
    try:
        status, kind, body = _get(server.url + "/reports/fit_report/index.html")
        assert (status, kind.split(";")[0], body) == (200, "text/html", "<html><h1>fit</h1></html>")
        assert _get(server.url + "/published/README.md")[:2] == (200, "text/plain; charset=utf-8")
        status, _, index = _get(server.url + "/")
        assert status == 200 and 'href="/reports/fit_report/index.html"' in index and "published/README.md" in index
        for path in (
            "/warehouse/secret.parquet",
            "/sg_personas.duckdb",
            "/reports/../sg_personas.duckdb",
            "/releases/",
        ):
            assert _get(server.url + path)[0] == 404, path
    finally:
        server.stop()


def test_report_links_point_at_the_server_and_refuse_other_files(data_root: Path, monkeypatch) -> None:
    monkeypatch.setenv(REPORTS_URL_ENV, "http://127.0.0.1:4999/")
    page = data_root / "reports" / "fit_report" / "index.html"
    assert report_url(data_root, page) == "http://127.0.0.1:4999/reports/fit_report/index.html"
    with pytest.raises(ValueError, match="does not serve"):
        report_url(data_root, data_root / "warehouse" / "secret.parquet")


def test_the_card_renders_as_a_self_contained_page() -> None:
    page = render_markdown_page("---\nlicense: cc-by-4.0\n---\n# Card\n\n| a | b |\n|---|---|\n| 1 | <x> |\n", "card")
    assert "<h1>Card</h1>" in page and "<td>&lt;x&gt;</td>" in page and "license: cc-by-4.0" in page
    assert "http" not in page.replace('lang="en"', "")  # no external request


@pytest.mark.slow
def test_make_dev_started_in_the_background_stops_on_sigterm(tmp_path: Path) -> None:
    """``setsid make dev &`` from a script (SIGINT inherited ignored): SIGTERM to make ends every process it
    started within 20 s; before that, the UI and the report server answer."""
    port, reports_port = free_port(), free_port()
    venv = Path(sys.executable).parent.parent
    stamp = venv / ".installed"
    env = {
        **no_proxy_for_loopback(os.environ),
        "SG_PERSONAS_DATA_DIR": str(tmp_path / "data"),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "PYTHONPATH": str(REPO_ROOT),
    }
    cmd = [
        "make",
        "--no-print-directory",
        "-o",
        str(stamp),  # never (re)install: the environment running the tests is the one make dev uses
        "dev",
        f"VENV={venv}",
        f"STAMP={stamp}",
        f"DAGSTER_HOME={tmp_path / 'home'}",
        f"DEV_PORT={port}",
        f"REPORTS_PORT={reports_port}",
    ]
    log = (tmp_path / "make_dev.log").open("wb")
    proc = subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # what `cmd &` in a script does
    )
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            seen.update(descendants(proc.pid))
            assert proc.poll() is None, (tmp_path / "make_dev.log").read_text()[-3000:]
            if _get(f"http://127.0.0.1:{port}/server_info")[0] == 200:
                break
            time.sleep(1)
        else:
            pytest.fail("make dev did not answer within 240 s\n" + (tmp_path / "make_dev.log").read_text()[-3000:])
        assert _get(f"http://127.0.0.1:{reports_port}/")[0] == 200
        time.sleep(3)  # the daemon and the code server are up too
        seen.update(descendants(proc.pid))
        assert len(seen) >= 4, seen  # python -m persona_assets.dev, dagster dev, webserver, daemon, ...
        os.kill(proc.pid, signal.SIGTERM)
        start = time.monotonic()
        # 60 s: on a loaded 2-core machine dagster dev took over 20 s to stop its webserver, daemon and code server
        while time.monotonic() - start < 60 and ({p for p in seen if _alive(p)} or proc.poll() is None):
            time.sleep(0.25)
        left = {p for p in seen if _alive(p)}
        assert not left and proc.poll() is not None, (left, (tmp_path / "make_dev.log").read_text()[-3000:])
    finally:
        if proc.poll() is None or any(_alive(p) for p in seen):
            stop_process_group(proc, grace_s=2)  # what failed to stop: SIGKILL, by pid and start time
        log.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2 :].split()[0] != "Z"
