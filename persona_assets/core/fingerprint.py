"""Content fingerprints: a digest of the source files a computation depends on (found by following its imports),
of the spec and data files it reads, and of named values. Used as Dagster code versions
(``persona_assets/code_versions.py``), so a version changes exactly when that code, spec or value changes.

Imports are followed statically (``ast``), within the given packages (by default the project's pure ones,
``persona_assets.core`` and ``census_sources``): ``import a.b`` and ``from a.b import c`` depend on ``a/b.py`` (or
``a/b/__init__.py``) and, where ``c`` is a submodule, on ``a/b/c.py``. Imports inside functions count too. The
``__init__`` of a parent package is not implied by importing one of its submodules.

Pure Python (no Dagster).
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

PROJECT_PACKAGES = ("persona_assets.core", "census_sources")


def _in_packages(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def find_module_file(root: Path, module: str) -> Path | None:
    """The file of ``module`` under ``root`` (``a.b`` -> ``a/b.py`` or ``a/b/__init__.py``), if any."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _state(path: Path) -> tuple[str, int, int]:
    """A cache key that changes when the file does."""
    st = path.stat()
    return str(path), st.st_mtime_ns, st.st_size


@lru_cache(maxsize=4096)
def _file_sha256(state: tuple[str, int, int]) -> bytes:
    return hashlib.sha256(Path(state[0]).read_bytes()).digest()


def _imported_modules(path: Path, module: str, packages: tuple[str, ...]) -> frozenset[str]:
    return frozenset(m for m in _parse_imports(_state(path), module) if _in_packages(m, packages))


@lru_cache(maxsize=4096)
def _parse_imports(state: tuple[str, int, int], module: str) -> frozenset[str]:
    """Modules (and names of modules) the file of ``module`` imports."""
    path = Path(state[0])
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            out.add(target)
            out.update(f"{target}.{alias.name}" for alias in node.names)
    return frozenset(out)


def collect_module_files(
    root: Path, modules: Iterable[str], packages: tuple[str, ...] = PROJECT_PACKAGES
) -> list[Path]:
    """The files of ``modules`` and of every module of ``packages`` they import, transitively (sorted)."""
    seen: dict[str, Path] = {}
    todo = list(modules)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        path = find_module_file(root, module)
        if path is None:
            if module in modules:
                raise FileNotFoundError(f"no module {module!r} under {root}")
            continue  # a name imported from a module, not a module itself
        seen[module] = path
        todo.extend(_imported_modules(path, module, packages) - set(seen))
    return sorted(set(seen.values()))


def digest_sources(
    root: Path,
    modules: Iterable[str] = (),
    files: Iterable[str] = (),
    values: Mapping[str, object] | None = None,
    packages: tuple[str, ...] = PROJECT_PACKAGES,
    length: int = 16,
) -> str:
    """A hex digest of the files of ``modules`` (with their imports within ``packages``), of ``files`` (paths
    relative to ``root``) and of ``values``. Paths enter relative to ``root``, so a copy of the repository
    elsewhere digests the same."""
    root = Path(root)
    paths = set(collect_module_files(root, modules, packages)) | {root / f for f in files}
    h = hashlib.sha256()
    for path in sorted(paths):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(_file_sha256(_state(path)))
    h.update(json.dumps(dict(values or {}), sort_keys=True, default=str).encode())
    return h.hexdigest()[:length]
