"""The Android build configuration, read the way `flet build` reads it."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def get_pyproject():  # type: ignore[no-untyped-def]
    pyproject_toml = pytest.importorskip("flet_cli.utils.pyproject_toml")
    return pyproject_toml.load_pyproject_toml(REPO)


def test_the_build_finds_main_py_and_names_the_app_neutrally(get_pyproject) -> None:  # type: ignore[no-untyped-def]
    assert get_pyproject("tool.flet.app.path") is None  # storage/ and sync/ must be packaged
    assert (REPO / "main.py").is_file()
    assert "app.field.entry" in (REPO / "main.py").read_text(encoding="utf-8")
    assert get_pyproject("tool.flet.product") == "Calculator"
    assert get_pyproject("tool.flet.org")
    assert get_pyproject("tool.flet.bundle_id") == "org.calcapp.calculator"


def test_camera_microphone_and_foreground_location_only_and_no_backups(get_pyproject) -> None:  # type: ignore[no-untyped-def]
    assert sorted(get_pyproject("tool.flet.permissions")) == ["camera", "microphone"]
    # the silent alarm's optional location: while the app is in use, never in the background
    assert get_pyproject("tool.flet.android.permission") == {
        "android.permission.ACCESS_FINE_LOCATION": True,
        "android.permission.ACCESS_COARSE_LOCATION": True,
    }
    manifest = get_pyproject("tool.flet.android.manifest_application")
    assert manifest["allowBackup"] == "false"


def test_tests_and_server_are_left_out_of_the_package(get_pyproject) -> None:  # type: ignore[no-untyped-def]
    exclude = get_pyproject("tool.flet.app.exclude")
    assert {"tests", "server", "bench"} <= set(exclude)


def test_dependencies_resolve_and_pin_flet_and_allow_the_device_cryptography(get_pyproject) -> None:  # type: ignore[no-untyped-def]
    from flet_cli.utils.project_dependencies import get_project_dependencies

    deps = get_project_dependencies(get_pyproject("project.dependencies"))
    assert deps is not None
    from packaging.requirements import Requirement

    reqs = {r.name.lower(): r.specifier for r in map(Requirement, deps)}
    assert str(reqs["flet"]) == "==1.0.5"
    assert reqs["cryptography"].contains("43.0.1")
    assert not {"fastapi", "uvicorn", "psycopg"} & set(reqs)


def test_the_icon_is_a_square_png_the_build_can_use() -> None:
    with Image.open(REPO / "assets" / "icon.png") as icon:
        assert icon.format == "PNG" and icon.size[0] == icon.size[1] >= 512
