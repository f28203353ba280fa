"""Rules of the codebase that a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "core", "storage", "sync", "server")


def _python_files(*packages: str) -> list[Path]:
    return [p for pkg in packages for p in (ROOT / pkg).rglob("*.py")]


def test_only_core_crypto_imports_cryptography_hazmat() -> None:
    pattern = re.compile(r"^\s*(from|import)\s+cryptography\.(hazmat|exceptions)", re.MULTILINE)
    offenders = [
        str(p.relative_to(ROOT))
        for p in _python_files(*PACKAGES)
        if pattern.search(p.read_text(encoding="utf-8"))
        and (ROOT / "core" / "crypto") not in p.parents
    ]
    assert offenders == []


def test_flet_is_imported_only_by_the_apps() -> None:
    pattern = re.compile(r"^\s*(import flet|from flet)", re.MULTILINE)
    offenders = [
        str(p.relative_to(ROOT))
        for p in _python_files("core", "storage", "sync", "server", "app/services")
        if pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_fieldvault_help_lists_every_area() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for command in ("age", "server", "field", "coordinator", "demo", "bench"):
        assert command in out


def test_every_registered_command_module_exists() -> None:
    from app.cli import _COMMAND_MODULES

    missing = [
        module
        for _, module, _ in _COMMAND_MODULES
        if not (ROOT / (module.replace(".", "/") + ".py")).is_file()
    ]
    assert missing == []


def test_no_file_names_a_path_of_a_particular_machine() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    machine_paths = re.compile(r"/work/(main|shared)|/root/|/home/[a-z]+/")
    offenders = []
    for name in listed:
        path = ROOT / name
        if path == Path(__file__).resolve() or not path.is_file() or path.stat().st_size > 2e6:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if machine_paths.search(text):
            offenders.append(name)
    assert offenders == []


def _imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function, as dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


# The units whose dependencies must point one way: the top-level packages, and the
# coordinator's layers inside app (see docs/architecture.md).
_UNITS = (
    "app.services",
    "app.exports",
    "app.casebook",
    "app.field",
    "app.coordinator",
    "app.ui",
    "app",
    "core",
    "storage",
    "sync",
    "server",
    "bench",
)


def _unit_of(module: str) -> str | None:
    for unit in _UNITS:
        if module == unit or module.startswith(unit + "."):
            return unit
    return None


def _unit_dependencies() -> dict[tuple[str, str], str]:
    """(importer unit, imported unit) -> one importing file, for every edge between units."""
    edges: dict[tuple[str, str], str] = {}
    for path in _python_files(*PACKAGES, "bench"):
        source = _unit_of(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for module in _imported_modules(path):
            target = _unit_of(module)
            if source and target and target != source and not target.startswith(source + "."):
                edges.setdefault((source, target), str(path.relative_to(ROOT)))
    return edges


def test_no_two_packages_import_each_other() -> None:
    edges = _unit_dependencies()
    both_ways = sorted(
        f"{a} ({edges[a, b]}) <-> {b} ({edges[b, a]})"
        for a, b in edges
        if (b, a) in edges and a < b
    )
    assert both_ways == []


def test_the_lower_layers_never_import_the_upper_ones() -> None:
    forbidden = {
        "core": {"storage", "sync", "server", "app", "bench"},
        "storage": {"sync", "server", "app", "bench"},
        "sync": {"storage", "server", "app", "bench"},
        "server": {"storage", "app", "bench"},
    }
    edges = _unit_dependencies()
    offenders = sorted(
        f"{a} -> {b} ({where})"
        for (a, b), where in edges.items()
        if b.split(".")[0] in forbidden.get(a.split(".")[0], set())
    )
    assert offenders == []


def test_no_function_outside_the_tests_is_longer_than_80_lines() -> None:
    too_long = []
    for path in [*_python_files(*PACKAGES, "bench"), ROOT / "main.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > 80:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines})")
    assert too_long == []
