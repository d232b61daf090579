"""The pure core never imports Dagster: parsers, validation and model code stay usable without it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PURE = [ROOT / "census_sources", ROOT / "persona_assets" / "core"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", [p for d in PURE for p in sorted(d.rglob("*.py"))], ids=lambda p: p.name)
def test_pure_modules_do_not_import_dagster(path: Path) -> None:
    imported = _imports(path)
    assert not {n for n in imported if n.startswith("dagster")}, f"{path} imports Dagster"
    assert "persona_assets" not in imported or "core" in path.parts, f"{path} imports the Dagster layer"


def test_core_does_not_import_the_dagster_layer() -> None:
    for path in (ROOT / "persona_assets" / "core").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("persona_assets"):
                assert node.module.startswith("persona_assets.core"), f"{path} imports {node.module}"
