"""Offline Great Expectations Data Docs (persona_assets/core/data_docs.py)."""

from __future__ import annotations

import ast
import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from persona_assets.core import data_docs
from persona_assets.core.data_docs import DataDocsError, build_data_docs, check_offline
from persona_assets.core.gx_suites import run_suite

CHROMIUM = Path("/usr/bin/chromium")

PASS_SUITE = {
    "name": "docs_test.passing",
    "expectations": [
        {"type": "expect_table_columns_to_match_ordered_list", "kwargs": {"column_list": ["id", "value"]}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "value", "min_value": 0, "max_value": 9}},
    ],
    "meta": {"why": "test suite that passes"},
}
FAIL_SUITE = {
    "name": "docs_test.failing",
    "expectations": [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "value", "min_value": 0, "max_value": {"$PARAMETER": "max_value"}},
        },
    ],
}

FRAME = pd.DataFrame({"id": [1, 2, 3, 3], "value": [0, 4, 7, 9]})
RUNS = [("tests/passing", FRAME, None), ("tests/failing", FRAME, {"max_value": 5})]

_EXTERNAL = re.compile(r"https?://|(?<![:\w])//[a-z0-9.-]+\.[a-z]{2,}/", re.I)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_DATA_URI = re.compile(r"url\(\s*(?:\"data:[^\"]*\"|'data:[^']*'|data:[^)]*)\s*\)", re.I)
_RESOURCE = re.compile(r"<(link|script|img)\b[^>]*?\s(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.I | re.S)


@pytest.fixture(scope="module")
def suites_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("suites")
    (base / "tests").mkdir()
    (base / "tests" / "passing.json").write_text(json.dumps(PASS_SUITE), encoding="utf-8")
    (base / "tests" / "failing.json").write_text(json.dumps(FAIL_SUITE), encoding="utf-8")
    return base


@pytest.fixture(scope="module")
def site(tmp_path_factory, suites_dir) -> Path:
    out = tmp_path_factory.mktemp("docs") / "data_docs"
    built = build_data_docs(RUNS, out, title="Persona QA <test>", suites_dir=suites_dir)
    assert built.index == out.resolve() / "index.html"
    return out


def test_the_site_reports_equal_run_suite_so_gates_need_not_validate_twice(tmp_path, suites_dir) -> None:
    built = build_data_docs(RUNS, tmp_path / "docs", suites_dir=suites_dir)
    expected = [run_suite(frame, name, base=suites_dir, parameters=params) for name, frame, params in RUNS]
    assert built.reports == expected
    assert [r.success for r in built.reports] == [True, False]
    assert built.reports[1].failed == 2  # a duplicated id, a value above the parameter


def _site_files(site: Path, *suffixes: str) -> list[Path]:
    return sorted(p for p in site.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)


def _index_rows(index: Path) -> dict[str, str]:
    """Validation rows of the index page: suite name -> 'Success' / 'Failed' (from bootstrap-table's data)."""
    text = index.read_text(encoding="utf-8")
    rows = {}
    for match in re.finditer(r"\{'validation_success':.*?\}(?=,\s*\{|\])", text, re.S):
        row = ast.literal_eval(match.group(0))
        rows[row["_expectation_suite_name_sort"]] = row["_validation_success_text"]
    return rows


def test_index_lists_both_suites_with_status(site):
    index = site / "index.html"
    assert index.is_file()
    assert _index_rows(index) == {"docs_test.passing": "Success", "docs_test.failing": "Failed"}
    text = index.read_text(encoding="utf-8")
    assert "<title>Persona QA &lt;test&gt;</title>" in text
    assert "Persona QA &lt;test&gt;" in text.split("<body", 1)[1]


def test_summary_and_validation_pages(site):
    summary = json.loads((site / data_docs.SUMMARY_FILE).read_text(encoding="utf-8"))
    runs = {r["suite"]: r for r in summary["runs"]}
    assert runs["docs_test.passing"]["success"] is True
    assert runs["docs_test.passing"]["failed"] == 0
    assert runs["docs_test.failing"]["success"] is False
    assert runs["docs_test.failing"]["failed"] == 2  # duplicate id; 7 and 9 above the parameter max_value=5
    for run in runs.values():
        page = site / run["page"]
        assert page.is_file() and page.is_relative_to(site / "validations")
    failing = (site / runs["docs_test.failing"]["page"]).read_text(encoding="utf-8")
    assert "fa-times" in failing and "Failed" in failing
    assert (site / "expectations" / "docs_test" / "passing.html").is_file()


def test_no_external_url_anywhere(site):
    html_files = _site_files(site, ".html", ".htm")
    css_files = _site_files(site, ".css")
    assert len(html_files) >= 5  # index, 2 suites, 2 validations
    assert any(p.is_relative_to(site / data_docs.SITE_VENDOR_DIR) for p in css_files)
    for path in html_files:
        found = _EXTERNAL.findall(path.read_text(encoding="utf-8"))
        assert not found, f"{path.relative_to(site)}: {found}"
    for path in css_files:  # licence comments and inline SVG namespaces are not references
        css = _DATA_URI.sub("url()", _CSS_COMMENT.sub("", path.read_text(encoding="utf-8")))
        found = _EXTERNAL.findall(css)
        assert not found, f"{path.relative_to(site)}: {found}"
    assert check_offline(site) == []


def test_rewritten_references_resolve_to_vendored_files(site):
    seen_vendor = set()
    for path in _site_files(site, ".html"):
        text = path.read_text(encoding="utf-8")
        refs = _RESOURCE.findall(text)
        assert len(refs) >= 17, path  # 7 stylesheets + favicon + 9 scripts, at least
        for tag, ref in refs:
            target = (path.parent / ref).resolve()
            assert target.is_file(), f"{path.relative_to(site)}: <{tag}> {ref} is missing"
            if target.is_relative_to((site / data_docs.SITE_VENDOR_DIR).resolve()):
                seen_vendor.add(target.relative_to((site / data_docs.SITE_VENDOR_DIR).resolve()).as_posix())
        assert "integrity=" not in text and "crossorigin=" not in text
    assert seen_vendor == set(data_docs.VENDORED.values())
    # Font Awesome's webfonts, referenced from its CSS, are there too.
    fa_css = (
        site
        / data_docs.SITE_VENDOR_DIR
        / data_docs.VENDORED["https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css"]
    )
    fonts = set(re.findall(r"url\(([^)]+)\)", fa_css.read_text(encoding="utf-8")))
    assert fonts and all((fa_css.parent / f).resolve().is_file() for f in fonts)


def test_vendored_files_are_documented():
    sources = (data_docs.STATIC_DIR / "SOURCES.md").read_text(encoding="utf-8")
    for url, rel in data_docs.VENDORED.items():
        assert (data_docs.VENDOR_DIR / rel).is_file(), rel
        assert f"`{rel}`" in sources and url in sources, rel
        assert (data_docs.VENDOR_DIR / rel.split("/", 1)[0]).is_dir()
    popper_header = (data_docs.VENDOR_DIR / "popper.js-1.12.9/umd/popper.min.js").read_text(encoding="utf-8")[:300]
    assert "MIT License" in popper_header  # the package ships no licence file; the notice is in the file
    for package in {rel.split("/", 1)[0] for rel in data_docs.VENDORED.values()} - {"popper.js-1.12.9"}:
        assert list((data_docs.VENDOR_DIR / package).glob("LICENSE*")), package


def test_rewrite_unit(tmp_path):
    page = tmp_path / "validations" / "a" / "page.html"
    page.parent.mkdir(parents=True)
    (tmp_path / "static" / "images").mkdir(parents=True)
    (tmp_path / "static" / "images" / "favicon.ico").write_bytes(b"")
    page.write_text(
        '<html><head><link rel="shortcut icon" href="../../../static/images/favicon.ico"/>'
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js" integrity="sha384-x" crossorigin="anonymous">'
        "</script><style>.x { background: url('https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
        "logo-long.png') }</style></head><body><a class='y' href='https://greatexpectations.io'>GX</a>"
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1&dataContextId=2">'
        "</body></html>",
        encoding="utf-8",
    )
    data_docs._make_offline(tmp_path)
    text = page.read_text(encoding="utf-8")
    assert '<script src="../../static/vendor/jquery-3.7.1/jquery.min.js">' in text
    assert 'href="../../static/images/favicon.ico"' in text  # GX's wrong depth repaired
    assert "url('../../static/images/logo-long.png')" in text
    assert '<img src="../../static/images/logo-long.png">' in text
    assert "<a class='y'>GX</a>" in text
    assert "http" not in text


def test_unknown_external_reference_fails(tmp_path):
    (tmp_path / "index.html").write_text(
        '<html><head><script src="https://cdn.example.org/lib.js"></script></head></html>', encoding="utf-8"
    )
    with pytest.raises(DataDocsError, match=r"https://cdn\.example\.org/lib\.js"):
        data_docs._make_offline(tmp_path)
    (tmp_path / "index.html").write_text("<style>@import 'https://fonts.example.org/x.css';</style>", encoding="utf-8")
    with pytest.raises(DataDocsError, match=r"fonts\.example\.org"):
        data_docs._make_offline(tmp_path)


def test_rebuild_replaces_old_site_and_failure_keeps_it(tmp_path, suites_dir, monkeypatch):
    out = tmp_path / "docs"
    build_data_docs(RUNS, out, suites_dir=suites_dir)
    build_data_docs(RUNS[:1], out, suites_dir=suites_dir)
    assert _index_rows(out / "index.html") == {"docs_test.passing": "Success"}
    assert not (out / "validations" / "docs_test" / "failing").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs"]  # no staging or old folders left

    def broken(site):
        raise DataDocsError("boom")

    monkeypatch.setattr(data_docs, "_make_offline", broken)
    with pytest.raises(DataDocsError, match="boom"):
        build_data_docs(RUNS, out, suites_dir=suites_dir)
    assert _index_rows(out / "index.html") == {"docs_test.passing": "Success"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs"]


def test_missing_expectation_parameter_fails_cleanly(tmp_path, suites_dir):
    with pytest.raises(Exception, match="max_value"):
        build_data_docs([("tests/failing", FRAME, None)], tmp_path / "docs", suites_dir=suites_dir)
    assert list(tmp_path.iterdir()) == []


def test_run_suite_still_works_after_a_build(site, suites_dir):
    """A build makes its own GX context; the ephemeral one gx_suites uses must keep working."""
    report = run_suite(FRAME, "tests/passing", base=suites_dir)
    assert report.success and report.evaluated == 3


def _chromium(site: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # any network fetch would fail
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--window-size=1280,900",
            *args,
            (site / "index.html").resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed: no headless render check")
def test_renders_offline_in_headless_chromium(site, tmp_path):
    shot = tmp_path / "index.png"
    proc = _chromium(site, tmp_path, f"--screenshot={shot}")
    assert shot.is_file() and shot.stat().st_size > 10_000, proc.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The DOM after scripts ran: bootstrap-table (jQuery + plugin, all local) turned the data into table rows.
    dom = _chromium(site, tmp_path, "--dump-dom").stdout
    assert 'class="bootstrap-table' in dom, "bootstrap-table did not run: a local script failed to load"
    cells = re.findall(r"<td[^>]*>\s*([^<]*docs_test\.[a-z]+)", dom)
    assert {c.strip() for c in cells} >= {"docs_test.passing", "docs_test.failing"}


def test_build_leaves_no_gx_scratch(site):
    assert not list(site.rglob(".ge_store_backend_id"))
