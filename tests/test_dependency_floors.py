"""The lowest versions `pyproject.toml` allows are the ones CI runs the device path on.

A floor is a promise: `requests>=2.31` let an install run without the TLS pin ever being checked
(the adapter hook sync/client.py relies on is called only from requests 2.32.3). So the floors of
the device's network and crypto packages are pinned exactly in `make test-lowest`, which `.ci/run`
runs, and these tests keep the two lists from drifting apart.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from tests.support.installed_versions import differences

ROOT = Path(__file__).resolve().parent.parent
DEVICE_NETWORK_AND_CRYPTO = {"requests", "urllib3", "pysocks", "cryptography"}
FIRST_REQUESTS_THAT_CHECKS_THE_PIN = Version("2.32.3")


def _floors() -> dict[str, Version]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    floors = {}
    for text in project["dependencies"]:
        requirement = Requirement(text)
        for spec in requirement.specifier:
            if spec.operator in (">=", "=="):
                floors[requirement.name.lower()] = Version(spec.version)
    return floors


def _lowest_pins() -> dict[str, Version]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = re.search(r"^LOWEST_PINS := (.+)$", makefile, re.MULTILINE)
    assert line is not None, "the Makefile has no LOWEST_PINS"
    pins = {}
    for pin in line.group(1).split():
        name, _, version = pin.partition("==")
        pins[name.lower()] = Version(version)
    return pins


def test_requests_is_never_allowed_below_the_release_that_checks_the_tls_pin() -> None:
    assert _floors()["requests"] >= FIRST_REQUESTS_THAT_CHECKS_THE_PIN


def test_every_network_and_crypto_package_of_the_device_has_a_floor() -> None:
    assert sorted(DEVICE_NETWORK_AND_CRYPTO - set(_floors())) == []


def test_ci_runs_the_device_path_on_exactly_the_floors_pyproject_declares() -> None:
    floors = _floors()
    assert _lowest_pins() == {name: floors[name] for name in DEVICE_NETWORK_AND_CRYPTO}
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = makefile.split("\ntest-lowest:\n", 1)[1].split("\n\n", 1)[0]
    assert "tests.support.installed_versions $(LOWEST_PINS)" in target
    assert "tests/sync" in target
    assert "make test-lowest" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_version_check_names_a_package_installed_at_another_version() -> None:
    assert differences(["packaging==0.0.1"]) != []
    assert differences([f"packaging=={importlib.metadata.version('packaging')}"]) == []
    assert differences(["no-such-distribution-here==1.0"]) == [
        "no-such-distribution-here: wanted 1.0, installed nothing"
    ]
