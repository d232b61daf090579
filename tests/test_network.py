"""The persona network: harmonised tables, the pomegranate fit, persistence, structure fingerprint."""

from pathlib import Path

import numpy as np
import pytest

from persona_assets.core.ipf import conditional
from persona_assets.core.model import vocab as V
from persona_assets.core.model.network import STRUCTURE, PersonaNetwork, structure_fingerprint
from persona_assets.core.model.tables import ASSUMPTIONS, LANGUAGE_ALLOWED, population_15plus


def test_every_node_of_the_structure_is_fitted_with_normalised_rows(network) -> None:
    assert [n for n, _ in STRUCTURE] == list(network.nodes)
    for name, parents in STRUCTURE:
        node = network.nodes[name]
        assert node.parents == parents
        np.testing.assert_allclose(node.cpt.sum(axis=-1), 1.0, atol=1e-9)
        assert node.sources, f"{name} has no source table"


@pytest.mark.parametrize("name", [n for n, p in STRUCTURE if p and n not in ("age_group", "sex")])
def test_pomegranate_fit_equals_the_conditional_of_the_harmonised_table(network, model_tables, name: str) -> None:
    joint = model_tables.nodes[name].joint
    expected = conditional(joint)
    mass = joint.sum(axis=-1) > 0
    np.testing.assert_allclose(network.nodes[name].cpt[mass], expected[mass], atol=1e-6)


def test_every_modelled_node_names_its_assumptions(network) -> None:
    for name in ASSUMPTIONS:
        assert network.nodes[name].assumptions == ASSUMPTIONS[name]


def test_age_and_sex_tables_are_the_official_counts(network, census_frames) -> None:
    pop = population_15plus(census_frames["respop_2025"], network.areas)
    assert pop.sum() == 3_643_840
    np.testing.assert_allclose(network.nodes["planning_area"].cpt, pop.sum(axis=(1, 2)) / pop.sum())


def test_language_structural_zeros_hold(network, model_tables) -> None:
    cpt = network.nodes["language_at_home"].cpt
    mass = model_tables.nodes["language_at_home"].joint.sum(axis=-1) > 0  # [area, ethnicity]
    for e, eth in enumerate(V.ETHNICITIES):
        banned = [V.LANGUAGES.index(lang) for lang in V.LANGUAGES if lang not in LANGUAGE_ALLOWED[eth]]
        rows = cpt[mass[:, e], e]
        assert len(rows) > 0
        assert np.all(rows[:, banned] == 0), eth


def test_harmonised_religion_meets_the_census_margin(model_tables, census_frames) -> None:
    census = census_frames["census2020_religion_pa"]
    ang = census[(census.planning_area == "Ang Mo Kio") & (census.religion != "Total")].set_index("religion")["count"]
    areas = model_tables.areas
    joint = model_tables.nodes["religion"].joint[areas.index("Ang Mo Kio")].sum(axis=0)
    shares = joint / joint.sum()
    official = ang.reindex(list(V.RELIGIONS)).to_numpy(float)
    np.testing.assert_allclose(shares, official / official.sum(), atol=1e-6)


def test_save_and_load_round_trip(network, tmp_path: Path) -> None:
    network.save(tmp_path / "net")
    loaded = PersonaNetwork.load(tmp_path / "net")
    assert loaded.areas == network.areas and loaded.fingerprint == network.fingerprint
    for name, node in network.nodes.items():
        np.testing.assert_array_equal(loaded.nodes[name].cpt, node.cpt)
        assert loaded.nodes[name].assumptions == node.assumptions


def test_structure_fingerprint_tracks_the_structure(monkeypatch) -> None:
    import persona_assets.core.model.network as network_module

    before = structure_fingerprint()
    monkeypatch.setattr(network_module, "STRUCTURE", (*STRUCTURE[:-1], ("dwelling_type", ("planning_area", "sex"))))
    assert network_module.structure_fingerprint() != before


def test_ipf_diagnostics_are_recorded(network) -> None:
    assert network.nodes["religion"].diagnostics["religion_ipf_converged"] == 1.0
    assert "marital_ipf_error_age_sex_marital_mom2024" in network.nodes["marital_status"].diagnostics
