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


#: The stage packages of the code location (one folder per asset group).
STAGES = ("census", "model", "names", "sample", "narratives", "publish")
#: Modules that assemble the stages (and may import all of them).
ASSEMBLY = {"definitions.py", "run.py"}


def _project_imports(path: Path) -> set[str]:
    """Absolute ``persona_assets.…`` modules ``path`` imports (anywhere in the file)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("persona_assets"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("persona_assets"):
            out.add(node.module)
    return out


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


@pytest.mark.parametrize(
    "path",
    sorted(p for s in STAGES for p in (ROOT / "persona_assets" / s).rglob("*.py")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_stages_do_not_import_each_other(path: Path) -> None:
    """A stage uses the core, the source layer and the shared modules (keys, settings, IO managers, code
    versions, record types, partitions), never another stage: shared keys and helpers live in modules of their
    own (SPEC's layout; STYLE.md "stages never import each other's assets.py")."""
    own = path.relative_to(ROOT / "persona_assets").parts[0]
    others = {m for m in _project_imports(path) if _stage_of(m) not in (None, own)}
    assert not others, f"{path} imports another stage: {sorted(others)}"


@pytest.mark.parametrize(
    "path",
    sorted(p for p in (ROOT / "persona_assets").glob("*.py") if p.name not in ASSEMBLY),
    ids=lambda p: p.name,
)
def test_shared_modules_do_not_import_stages(path: Path) -> None:
    stages = {m for m in _project_imports(path) if _stage_of(m)}
    assert not stages, f"{path} is shared by the stages but imports {sorted(stages)}"


def test_the_layering_test_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "assets.py"
    bad.write_text("from persona_assets.census.assets import census_assets\nimport persona_assets.model.assets\n")
    assert {_stage_of(m) for m in _project_imports(bad)} == {"census", "model"}
