"""Great Expectations Data Docs for our suites, rendered fully offline.

``build_data_docs`` validates DataFrames against the JSON suites in ``expectations/`` (the same suites
``gx_suites.run_suite`` uses) in a file-backed GX context made in a temporary folder, lets GX build its Data Docs
site, and then makes the site self-contained: GX's HTML pulls Bootstrap, jQuery, bootstrap-table, Font Awesome,
Vega and its logo from CDNs, and every such reference is rewritten to a copy vendored in ``data_docs_static/``
(see ``data_docs_static/SOURCES.md``). A reference to any other external URL is an error rather than a page that
silently renders unstyled. Links to external web pages (GX marketing and documentation) lose their ``href``.

Pure Python on top of GX; no Dagster here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import html
import json
import os
import posixpath
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from census_sources.staging import staged_folder
from persona_assets.core import gx_suites

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

STATIC_DIR = Path(__file__).with_name("data_docs_static")
VENDOR_DIR = STATIC_DIR / "vendor"
#: Where the vendored files land inside a built site (relative to the site root).
SITE_VENDOR_DIR = "static/vendor"
SUMMARY_FILE = "summary.json"
_SITE_NAME = "sg_personas"
_DATASOURCE = "sg_personas"

#: External URL (scheme, host and path; query and fragment are ignored) -> file under ``data_docs_static/vendor``.
#: These are exactly the URLs GX 1.24's templates reference (``render/view/templates/*.j2``).
VENDORED: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap-4.3.1/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap-4.3.1/js/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table-1.19.1/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table-1.19.1/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table-1.19.1/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table-1.19.0/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table-1.19.0/extensions/filter-control/bootstrap-table-filter-control.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker-1.9.0/css/bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker-1.9.0/js/bootstrap-datepicker.min.js"
    ),
    # The CDN serves the unminified stylesheet; the vendored copy is the same package's minified build.
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "bootstrap-dark-1.1.0/css/bootstrap-prefers-dark.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "fontawesome-free-6.6.0/css/all.min.css"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js-1.12.9/umd/popper.min.js",
    # Major-version URLs: jsDelivr serves the newest release of the major; pinned here to the one vendored.
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0/vega-embed.min.js",
}

#: GX's logo images on its S3 bucket -> GX's own copies, which the site builder puts in ``static/images``
#: (there is no dark-mode logo among them; the regular one stands in).
GX_IMAGES: dict[str, str] = {
    "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png": "static/images/logo-long.png",
    "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png": (
        "static/images/logo-long.png"
    ),
}

_LOCK = threading.Lock()

_EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I)
_INERT = re.compile(r"^\s*(?:#|data:|javascript:|mailto:|about:|blob:)", re.I)
# A start tag with its attributes (quoted or bare values). Tags inside inline scripts' strings match as well.
_TAG = re.compile(
    r"<(?P<name>[a-zA-Z][a-zA-Z0-9-]*)(?P<attrs>(?:\s+[^\s=>/\"']+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)"
    r"\s*(?P<end>/?)>"
)
_ATTR = re.compile(r"(?P<sp>\s+)(?P<key>[^\s=>/\"']+)(?:(?P<eq>\s*=\s*)(?P<val>\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")
_STYLE_BLOCK = re.compile(r"(<style\b[^>]*>)(.*?)(</style\s*>)", re.I | re.S)
_CSS_URL = re.compile(r"url\(\s*(?P<q>['\"]?)(?P<url>[^'\")]*?)(?P=q)\s*\)", re.I)
_CSS_IMPORT = re.compile(r"@import\s+(?P<q>['\"])(?P<url>[^'\"]*)(?P=q)", re.I)
# GX's newsletter footer ("Stay current on everything GX ... Subscribe"): a dead link offline.
_NEWSLETTER_FOOTER = re.compile(r"<footer>\s*<p>\s*Stay current on everything GX.*?</footer>\s*", re.S)
_URL_ATTRS = frozenset({"src", "href", "srcset", "poster", "data", "action", "formaction", "background", "manifest"})
# Attributes that stop a local copy loading from file:// (an SRI check needs CORS, which file:// lacks).
_DROP_WITH_LOCAL = frozenset({"integrity", "crossorigin"})


class DataDocsError(RuntimeError):
    """The Data Docs site could not be made self-contained (an unknown external reference, a missing file)."""


@dataclass(frozen=True)
class DocsRun:
    """One validation shown in the docs (also written to ``summary.json`` next to ``index.html``)."""

    suite: str
    asset: str
    success: bool
    evaluated: int
    failed: int
    page: str


@dataclass(frozen=True)
class DataDocsSite:
    """A built site: its ``index.html`` and the compact report of each validation it shows (in ``runs`` order),
    so that a caller gating on the same suites need not validate the frames a second time."""

    index: Path
    reports: list[gx_suites.SuiteReport]


def build_data_docs(
    runs: Sequence[tuple[str, pd.DataFrame, dict[str, Any] | None]],
    out_dir: Path,
    title: str = "sg-personas data quality",
    *,
    suites_dir: Path | None = None,
) -> DataDocsSite:
    """Validate frames against their suites and write a self-contained Data Docs site to ``out_dir``.

    ``runs``: (suite name as accepted by ``gx_suites.load_suite``, frame, expectation parameters or None).
    Each frame is validated against its suite in a file-backed GX context made in a temporary folder, GX builds
    its Data Docs site into a temporary folder next to ``out_dir``, every external CSS/JS/font/image reference
    is rewritten to the vendored copies (copied to ``out_dir/static/vendor``), and the finished site replaces
    ``out_dir`` (the old one is renamed away and the new one renamed in; an error leaves the old one untouched).
    ``suites_dir`` is passed to ``load_suite`` as its ``base``. Returns ``out_dir/index.html`` and the
    validations' reports (``gx_suites.SuiteReport``, as ``run_suite`` makes them).
    """
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    specs = [(gx_suites.load_suite(name, suites_dir), df, params) for name, df, params in runs]
    with staged_folder(out_dir) as staging:
        docs_runs, reports = _build_site(specs, staging)
        _make_offline(staging)
        _set_title(staging / "index.html", title)
        (staging / SUMMARY_FILE).write_text(
            json.dumps({"title": title, "runs": [asdict(r) for r in docs_runs]}, indent=2) + "\n", encoding="utf-8"
        )
        problems = check_offline(staging)
        if problems:
            raise DataDocsError("the Data Docs site is not self-contained:\n" + "\n".join(problems))
    return DataDocsSite(out_dir / "index.html", reports)


def _build_site(
    specs: list[tuple[dict[str, Any], pd.DataFrame, dict[str, Any] | None]], site: Path
) -> tuple[list[DocsRun], list[gx_suites.SuiteReport]]:
    import great_expectations as gx
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.data_context.context_factory import project_manager
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # One GX build at a time in this process, and none while gx_suites validates: ``get_context`` replaces GX's
    # process-wide "current project", which is put back afterwards.
    gx_lock = getattr(gx_suites, "_LOCK", None) or contextlib.nullcontext()
    to_gx_frame = getattr(gx_suites, "_gx_frame", lambda df: df)
    with _LOCK, gx_lock, tempfile.TemporaryDirectory(prefix="gx-data-docs-") as root:
        try:
            previous = project_manager.get_current_project()
        except Exception:  # no context made yet in this process
            previous = None
        try:
            context = gx.get_context(mode="file", project_root_dir=root)
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            for name in list(context.get_config().data_docs_sites or {}):
                context.delete_data_docs_site(name)
            context.add_data_docs_site(
                _SITE_NAME,
                {
                    "class_name": "SiteBuilder",
                    "show_how_to_buttons": False,
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site)},
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
            source = context.data_sources.add_pandas(_DATASOURCE)
            run_id = RunIdentifier(run_name="sg-personas", run_time=dt.datetime.now(dt.UTC))
            suites: dict[str, tuple[dict[str, Any], Any]] = {}
            assets: set[str] = set()
            results: list[DocsRun] = []
            reports: list[gx_suites.SuiteReport] = []
            for spec, df, params in specs:
                name = spec.get("name") or "suite"
                if name in suites:
                    if suites[name][0]["expectations"] != spec["expectations"]:
                        raise ValueError(f"two different suites are both named {name!r}")
                    suite = suites[name][1]
                else:
                    suite = context.suites.add(
                        ExpectationSuite(
                            name=name,
                            expectations=spec["expectations"],
                            meta=spec.get("meta") or {},
                            notes=spec.get("notes"),
                        )
                    )
                    suites[name] = (spec, suite)
                asset_name = _unique(name, assets)
                batch_definition = source.add_dataframe_asset(asset_name).add_batch_definition_whole_dataframe("whole")
                validation = context.validation_definitions.add(
                    gx.ValidationDefinition(name=f"{asset_name}.validation", data=batch_definition, suite=suite)
                )
                result = validation.run(
                    batch_parameters={"dataframe": to_gx_frame(df)},
                    expectation_parameters=params or None,
                    result_format="SUMMARY",
                    run_id=run_id,
                )
                reports.append(gx_suites.summarise_result(name, result))
                stats = result.statistics or {}
                results.append(
                    DocsRun(
                        suite=name,
                        asset=asset_name,
                        success=bool(result.success),
                        evaluated=int(stats.get("evaluated_expectations", len(result.results))),
                        failed=int(stats.get("unsuccessful_expectations", sum(not r.success for r in result.results))),
                        page="",
                    )
                )
            context.build_data_docs(site_names=[_SITE_NAME])
        finally:
            project_manager.set_project(previous)
    return [_with_page(r, site) for r in results], reports


def _unique(name: str, taken: set[str]) -> str:
    candidate, k = name, 1
    while candidate in taken:
        k += 1
        candidate = f"{name}_{k}"
    taken.add(candidate)
    return candidate


def _with_page(run: DocsRun, site: Path) -> DocsRun:
    """Find the run's validation page: validations/<suite as folders>/<run name>/<time>/<source>-<asset>.html."""
    folder = site.joinpath("validations", *run.suite.split("."))
    pages = sorted(folder.glob(f"*/*/{glob.escape(f'{_DATASOURCE}-{run.asset}')}.html"))
    page = pages[-1].relative_to(site).as_posix() if pages else ""
    return replace(run, page=page)


# --- making the site self-contained ---------------------------------------------------------------------------


def _url_key(url: str) -> str:
    url = url.strip()
    if url.startswith("//"):
        url = "https:" + url
    url = re.sub(r"^http://", "https://", url, flags=re.I)
    return re.split(r"[?#]", url, maxsplit=1)[0]


def _local_target(url: str) -> str | None:
    """Site-relative path of the local copy of an external URL, or None when there is none."""
    key = _url_key(url)
    if key in VENDORED:
        return f"{SITE_VENDOR_DIR}/{VENDORED[key]}"
    return GX_IMAGES.get(key)


def _rel(site_path: str, page_dir: str) -> str:
    """``site_path`` (relative to the site root) as seen from ``page_dir`` (also relative to the site root)."""
    return posixpath.relpath(site_path, page_dir or ".")


def _make_offline(site: Path) -> None:
    shutil.copytree(VENDOR_DIR, site / SITE_VENDOR_DIR, dirs_exist_ok=True)
    for path in sorted(site.rglob("*")):
        if not path.is_file() or path.is_relative_to(site / SITE_VENDOR_DIR):
            continue
        suffix = path.suffix.lower()
        if suffix not in (".html", ".htm", ".css"):
            continue
        text = path.read_text(encoding="utf-8")
        page_dir = path.parent.relative_to(site).as_posix()
        page_dir = "" if page_dir == "." else page_dir
        where = path.relative_to(site).as_posix()
        if suffix == ".css":
            new = _rewrite_css(text, page_dir, where)
        else:
            new = _rewrite_html(_NEWSLETTER_FOOTER.sub("", text), site, page_dir, where)
        if new != text:
            path.write_text(new, encoding="utf-8")


def _rewrite_css(css: str, page_dir: str, where: str) -> str:
    def localise(match: re.Match[str]) -> str:
        url = match.group("url")
        if not _EXTERNAL.match(url):
            return match.group(0)
        target = _local_target(url)
        if target is None:
            raise DataDocsError(f"{where}: unknown external reference {url!r} in CSS (add it to data_docs.VENDORED)")
        start, end = match.span("url")
        return match.group(0)[: start - match.start()] + _rel(target, page_dir) + match.group(0)[end - match.start() :]

    return _CSS_IMPORT.sub(localise, _CSS_URL.sub(localise, css))


def _rewrite_html(text: str, site: Path, page_dir: str, where: str) -> str:
    text = _STYLE_BLOCK.sub(lambda m: m.group(1) + _rewrite_css(m.group(2), page_dir, where) + m.group(3), text)

    def rewrite_tag(match: re.Match[str]) -> str:
        tag = match.group("name").lower()
        out: list[tuple[str, str]] = []  # (attribute name, its text)
        localised = False
        for attr in _ATTR.finditer(match.group("attrs")):
            key, raw = attr.group("key").lower(), attr.group("val")
            if raw is None:
                out.append((key, attr.group(0)))
                continue
            quote = raw[0] if raw[0] in "\"'" else ""
            value = raw[1:-1] if quote else raw
            unescaped = html.unescape(value)
            if key == "style":
                new_value = _rewrite_css(unescaped, page_dir, where)
                if new_value != unescaped:
                    value, quote = html.escape(new_value, quote=True), '"'
            elif key in _URL_ATTRS and _EXTERNAL.match(unescaped):
                if tag == "a" and key == "href":
                    continue  # a link to a web page: its text stays, the link goes
                target = _local_target(unescaped)
                if target is None:
                    raise DataDocsError(
                        f"{where}: unknown external reference {unescaped!r} in <{tag} {key}> "
                        "(add it to data_docs.VENDORED)"
                    )
                value, quote, localised = _rel(target, page_dir), '"', True
            elif key in ("src", "href") and tag in ("link", "script", "img") and not _INERT.match(unescaped):
                value = _repair_static_ref(unescaped, site, page_dir)
            out.append((key, f"{attr.group('sp')}{attr.group('key')}{attr.group('eq')}{quote}{value}{quote}"))
        if localised:
            out = [(key, text) for key, text in out if key not in _DROP_WITH_LOCAL]
        end = match.group("end")
        return f"<{match.group('name')}{''.join(text for _, text in out)}{' ' if end else ''}{end}>"

    return _TAG.sub(rewrite_tag, text)


def _repair_static_ref(ref: str, site: Path, page_dir: str) -> str:
    """GX computes some ``static/`` paths with the wrong number of ``../`` (the favicon on validation pages)."""
    path = ref.split("?", 1)[0].split("#", 1)[0]
    if (site / page_dir / path).exists():
        return ref
    parts = [p for p in path.split("/") if p not in ("", ".", "..")]
    if parts and parts[0] == "static" and site.joinpath(*parts).exists():
        return _rel("/".join(parts), page_dir)
    return ref


def _set_title(index: Path, title: str) -> None:
    text = index.read_text(encoding="utf-8")
    safe = html.escape(title)
    text = re.sub(r"<title>[^<]*</title>", f"<title>{safe}</title>", text)
    text = re.sub(
        rf"(<strong\s*>\s*Data Docs\s*</strong>\s*\|\s*){re.escape(_SITE_NAME)}\b", lambda m: m.group(1) + safe, text
    )
    index.write_text(text, encoding="utf-8")


# --- checking ----------------------------------------------------------------------------------------------------


def check_offline(site: Path) -> list[str]:
    """Problems that would make ``site`` load anything from the network or miss a local file; empty when clean.

    Checked: URL-bearing attributes of every tag (``<a href>`` included), ``url()`` and ``@import`` in ``<style>``
    blocks, ``style`` attributes and every ``.css`` file (vendored ones included), and that local references of
    ``link``/``script``/``img`` tags and CSS resolve to files in the site.
    """
    site = Path(site)
    problems: list[str] = []
    for path in sorted(site.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in (".html", ".htm", ".css"):
            continue
        where = path.relative_to(site).as_posix()
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".css":
            problems.extend(_css_problems(text, path.parent, site, where))
            continue
        for block in _STYLE_BLOCK.finditer(text):
            problems.extend(_css_problems(block.group(2), path.parent, site, where))
        for tag in _TAG.finditer(text):
            name = tag.group("name").lower()
            for attr in _ATTR.finditer(tag.group("attrs")):
                key, raw = attr.group("key").lower(), attr.group("val")
                if raw is None:
                    continue
                value = html.unescape(raw[1:-1] if raw[0] in "\"'" else raw)
                if key == "style":
                    problems.extend(_css_problems(value, path.parent, site, where))
                elif key in _URL_ATTRS and _EXTERNAL.match(value):
                    problems.append(f"{where}: external reference {value!r} in <{name} {key}>")
                elif (
                    key in ("src", "href")
                    and name in ("link", "script", "img")
                    and not _INERT.match(value)
                    and not _resolves(value, path.parent, site)
                ):
                    problems.append(f"{where}: <{name} {key}={value!r}> points to a missing file")
    return problems


def _css_problems(css: str, folder: Path, site: Path, where: str) -> Iterable[str]:
    for pattern in (_CSS_URL, _CSS_IMPORT):
        for match in pattern.finditer(css):
            url = match.group("url").strip()
            if not url or _INERT.match(url):
                continue
            if _EXTERNAL.match(url):
                yield f"{where}: external reference {url!r} in CSS"
            elif not _resolves(url, folder, site):
                yield f"{where}: CSS reference {url!r} points to a missing file"


def _resolves(ref: str, folder: Path, site: Path) -> bool:
    path = ref.split("?", 1)[0].split("#", 1)[0]
    target = (folder / path).resolve()
    return target.is_file() and target.is_relative_to(site.resolve())
