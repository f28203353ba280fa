"""The threat model's claims point at tests that exist: a renamed or deleted test breaks this."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("docs/threat-model.md", "docs/reliability.md")


def test_every_test_file_the_security_docs_cite_exists() -> None:
    missing = []
    for doc in DOCS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        for name in set(re.findall(r"`(tests/[\w/]+\.py)`", text)):
            if not (ROOT / name).is_file():
                missing.append(f"{doc}: {name}")
        for bare in set(re.findall(r"`(test_\w+\.py)`", text)):
            if not list((ROOT / "tests").rglob(bare)):
                missing.append(f"{doc}: {bare}")
    assert missing == []


def test_every_test_function_the_threat_model_names_exists() -> None:
    text = (ROOT / "docs/threat-model.md").read_text(encoding="utf-8")
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py"))
    names = set(re.findall(r"`(test_\w+)`", text))
    assert names, "the threat model names no test; the check below would prove nothing"
    assert sorted(n for n in names if f"def {n}(" not in sources) == []
