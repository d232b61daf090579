"""The census-fidelity report: tables, charts, offline HTML; the fidelity comparison fails on bad records."""

from pathlib import Path

import numpy as np
from _helpers import open_in_chromium

from persona_assets.core.model.fidelity import GROUNDED, area_marginals, compare, evaluate_partitions
from persona_assets.core.model.report import NATIONAL, build_fit_report, render_charts, render_html
from persona_assets.core.model.tables import official_references, population_15plus
from persona_assets.core.reports import ReportServer


def test_report_tables_and_pages(full_sample, network, census_frames, tmp_path: Path) -> None:
    shares, tvd = build_fit_report(full_sample, network, census_frames, official_references(census_frames))
    national = tvd[tvd["scope"] == NATIONAL].set_index("field")
    assert set(national.index) == set(GROUNDED)
    assert (national["tvd_synthetic_model"] <= 0.01).all()
    # independent official tables: close, within the stated year/universe differences; the dwelling mix of 2025's
    # adults moves from 2015's towards the mix the heads' tables imply for 2025's qualifications (tables.ASSUMPTIONS)
    others = national.drop(index="dwelling_type")
    assert (others["tvd_synthetic_official"] <= 0.015).all(), national.to_string()
    assert national.loc["dwelling_type", "tvd_synthetic_official"] <= 0.02
    assert national.loc["religion", "official_source"] == "census2020_religion_pa"
    charts = {s: render_charts(shares, full_sample, s, tmp_path / "charts") for s in (NATIONAL, "Tampines")}
    assert len(charts[NATIONAL]) == len(GROUNDED) + 1
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in charts["Tampines"].values())
    tests = evaluate_partitions(full_sample, network, population_15plus(census_frames["respop_2025"], network.areas))
    assert tests["passed"].all() and len(tests) == full_sample["planning_area"].nunique()
    out = tmp_path / "reports" / "fit_report" / "index.html"
    out.parent.mkdir(parents=True)
    page = render_html(tvd, charts, out, "report", partition_tests=tests).read_text()
    assert "data:image/png;base64," in page
    assert "http://" not in page and "https://" not in page
    # summary first (table of contents, national table, the pyramid before the other charts), areas last
    order = [page.index(s) for s in ("<nav>", "id='summary'", "Singapore: age_pyramid", "Singapore: sex", "id='areas'")]
    assert order == sorted(order)
    assert page.index("id='summary'") < 2000 and page.index(">education_level<") < page.index("id='areas'")
    detail = page[page.index("id='areas'") :]
    assert detail.count("<details") == full_sample["planning_area"].nunique()
    sizes = full_sample["planning_area"].value_counts()
    assert detail.index(f">{sizes.index[0]}: ") < detail.index(f">{sizes.index[-1]}: ")  # largest area first
    # served as make dev serves it, the page renders in a browser with no request beyond it
    server = ReportServer(tmp_path, port=0).start()
    try:
        ((_, status, outside, title),) = open_in_chromium(
            [f"{server.url}/reports/fit_report/index.html"], server.url, tmp_path / "chromium"
        )
    finally:
        server.stop()
    assert (status, outside, title) == (200, [], "report")


def test_fidelity_comparison_fails_on_distorted_records(full_sample, network, census_frames) -> None:
    pop = population_15plus(census_frames["respop_2025"], network.areas)
    area = "Bedok"
    sub = full_sample[full_sample["planning_area"] == area].copy()
    expected = area_marginals(network, area, pop[network.areas.index(area)])
    assert compare(sub, expected, network)["passed"].all()
    sub["religion"] = np.where(sub["religion"] == "Islam", "Buddhism", sub["religion"])
    table = compare(sub, expected, network).set_index("field")
    assert not table.loc["religion", "passed"]
    assert table.drop(index="religion")["passed"].all()
