"""The reports a reviewer opens from the Dagster UI: every page under ``<data>/reports/`` (fit report, Data Docs,
any report an asset writes there) and the published release (its card as Markdown and HTML), served over HTTP.

The browser refuses ``file://`` links from an ``http://`` page, so assets link their reports with
``report_url``: ``$SG_PERSONAS_REPORTS_URL`` (default ``http://127.0.0.1:3080``, the port ``make dev`` serves on)
followed by the file's path under the data root. ``ReportServer`` is that small static server: read-only, only
``reports/`` and ``published/`` (never the warehouse or the call cache), nothing outside the data root, an
index page at ``/`` that lists every report present. ``render_markdown_page`` turns a Markdown document (the
dataset card) into a self-contained HTML page (no external request)."""

from __future__ import annotations

import html
import http.server
import os
import threading
from functools import partial
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPORTS_URL_ENV = "SG_PERSONAS_REPORTS_URL"
DEFAULT_REPORTS_PORT = 3080
#: The top-level folders of the data root the server shows.
SERVED = ("reports", "published")

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.45}"
    "table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;"
    "text-align:left}th{background:#f3f3f3}code,pre{background:#f6f6f6}pre{padding:.5rem;overflow-x:auto}"
)


def reports_base_url() -> str:
    """Where the reports are served: ``$SG_PERSONAS_REPORTS_URL`` or ``http://127.0.0.1:3080``."""
    return (os.environ.get(REPORTS_URL_ENV) or f"http://127.0.0.1:{DEFAULT_REPORTS_PORT}").rstrip("/")


def report_url(root: Path, path: Path) -> str:
    """The HTTP address of ``path`` (a file under ``root/reports/`` or ``root/published/``)."""
    rel = Path(path).absolute().relative_to(Path(root).absolute())
    if rel.parts[:1] not in ((s,) for s in SERVED):
        raise ValueError(f"{path} is not under {root}/reports or {root}/published: the report server does not serve it")
    return f"{reports_base_url()}/{rel.as_posix()}"


def render_markdown_page(markdown: str, title: str) -> str:
    """A self-contained HTML page of ``markdown`` (tables included; a leading YAML front matter block, as on a
    Hugging Face card, is shown as a code block)."""
    from markdown_it import MarkdownIt

    body = markdown
    front = ""
    if body.startswith("---\n") and "\n---\n" in body[4:]:
        end = body.index("\n---\n", 4)
        front = f"<details><summary>YAML metadata</summary><pre>{html.escape(body[4:end])}</pre></details>"
        body = body[end + 5 :]
    rendered = MarkdownIt("commonmark", {"html": False}).enable("table").render(body)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{front}{rendered}</body></html>\n"
    )


def list_reports(root: Path) -> list[str]:
    """The pages present under the served folders, as paths relative to ``root``: every ``index.html`` under
    ``reports/`` and the published card."""
    root = Path(root)
    pages = sorted(p.relative_to(root).as_posix() for p in (root / "reports").glob("*/index.html"))
    pages += [f"published/{n}" for n in ("README.html", "README.md") if (root / "published" / n).exists()]
    return pages


class _Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, root: Path, **kwargs) -> None:
        self.root = root
        super().__init__(*args, directory=str(root), **kwargs)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass

    def _allowed(self) -> bool:
        parts = [p for p in unquote(urlsplit(self.path).path).split("/") if p]
        if not parts or parts[0] not in SERVED or ".." in parts:
            return False
        real = Path(os.path.realpath(self.root.joinpath(*parts)))
        return real.is_relative_to(self.root.resolve())

    def _index(self) -> None:
        items = "".join(f'<li><a href="/{html.escape(p)}">{html.escape(p)}</a></li>' for p in list_reports(self.root))
        page = (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>sg-personas reports</title>'
            f"<style>{_STYLE}</style></head><body><h1>sg-personas reports</h1><ul>{items or '<li>none yet</li>'}"
            "</ul></body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(page)

    def _serve(self, serve_file) -> None:
        if urlsplit(self.path).path in ("", "/"):
            return self._index()
        if not self._allowed():
            return self.send_error(404, "not a report")
        return serve_file()

    def do_GET(self) -> None:
        self._serve(super().do_GET)

    def do_HEAD(self) -> None:
        self._serve(super().do_HEAD)

    def guess_type(self, path: str) -> str:
        # Markdown as plain text: browsers show it (text/markdown is downloaded)
        return "text/plain; charset=utf-8" if str(path).endswith(".md") else super().guess_type(path)


class ReportServer:
    """``reports/`` and ``published/`` of ``root`` over HTTP on ``host:port`` (port 0: a free one), in a daemon
    thread: ``start()``, ``url``, ``stop()``."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = DEFAULT_REPORTS_PORT) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._httpd = http.server.ThreadingHTTPServer((host, port), partial(_Handler, root=self.root))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="report-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ReportServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():  # never started, or stopped already
            self._httpd.server_close()
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
