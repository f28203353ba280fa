"""The README and the deployment documents point at things that exist and say what CI runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [
    ROOT / "README.md",
    ROOT / "docs" / "deployment-walkthrough.md",
    ROOT / "docs" / "android.md",
    ROOT / "docs" / "upgrades.md",
]
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_relative_link_and_image_points_at_an_existing_file(document: Path) -> None:
    targets = [t for t in _LINK.findall(document.read_text(encoding="utf-8")) if "://" not in t]
    assert targets, "expected at least one link"
    missing = [t for t in targets if not (document.parent / t).exists()]
    assert missing == []


def test_the_readme_opens_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.splitlines()] == [
        ["make", "demo"],
        ["make", "test"],
    ]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, re.MULTILINE)
    assert re.search(r"^test:", makefile, re.MULTILINE)


def test_every_command_in_the_readme_reference_exists() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `fieldvault ([a-z]+) ?([a-z|\\-]*)", text, re.MULTILINE)
    assert len(rows) >= 8
    for area, verbs in rows:
        out = subprocess.run(
            [sys.executable, "-m", "app.cli", area, "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for verb in filter(None, verbs.replace("\\", "").split("|")):
            assert re.search(rf"\b{verb}\b", out), f"fieldvault {area} {verb}"


def test_the_documented_tls_test_and_ci_tools_are_present() -> None:
    assert (ROOT / "tests" / "integration" / "test_deployment_tls.py").is_file()
    assert (ROOT / "tests" / "test_upgrade_from_v0_1.py").is_file()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "need_apt+=(caddy)" in ci
