"""The census-fidelity report: tables, charts, offline HTML; the fidelity comparison fails on bad records."""

from pathlib import Path

import numpy as np

from persona_assets.core.model.fidelity import GROUNDED, area_marginals, compare
from persona_assets.core.model.report import NATIONAL, build_fit_report, render_charts, render_html
from persona_assets.core.model.tables import official_references, population_15plus


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
    page = render_html(tvd, charts, tmp_path / "index.html", "report").read_text()
    assert "data:image/png;base64," in page
    assert "http://" not in page and "https://" not in page


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
