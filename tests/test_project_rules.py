"""Rules of the codebase that a reviewer would otherwise have to remember."""

from __future__ import annotations

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
