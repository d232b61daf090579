"""Report links for asset metadata: any file an asset writes under ``<data>/reports/`` (fit report, Data Docs,
the narrative report, …) or ``<data>/published/`` gets a ``MetadataValue.url`` to the report server that
``make dev`` runs (``persona_assets/core/reports.py``), one click from the asset page; figures are embedded in
Markdown metadata by the same addresses."""

from pathlib import Path

from dagster import MetadataValue

from persona_assets.core.reports import report_url


def build_report_link(root: Path, path: Path) -> MetadataValue:
    """A URL to ``path`` on the report server, or its file path where the server does not serve it (a report
    written outside the data root's ``reports/``, e.g. by ``FitReportConfig.report_dir``)."""
    try:
        return MetadataValue.url(report_url(root, path))
    except ValueError:
        return MetadataValue.path(str(path))


def build_figures_markdown(root: Path, figures: dict[str, Path]) -> MetadataValue:
    """Markdown embedding ``figures`` (caption -> PNG under ``reports/``) from the report server."""
    lines = [f"![{caption}]({report_url(root, path)})" for caption, path in figures.items()]
    return MetadataValue.md("\n\n".join(lines) if lines else "no figures")
