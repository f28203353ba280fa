"""What `flet build apk` would package: the closure of `[project.dependencies]`.

`flet build` installs the base dependencies (never the extras) into the phone app, each from a
pure-Python wheel on PyPI or from an Android wheel on Flet's mobile package index. A package
with native code and no Android wheel breaks the build, and a desktop-only package (flet-web,
and through it FastAPI and uvicorn with their native extensions) would ship dead weight, and
a web server, to every field device. The closure is computed from the installed distributions'
own metadata, with markers evaluated as on Android, so a new transitive dependency is caught
the day it appears.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent

ANDROID = {
    "sys_platform": "android",
    "platform_system": "Android",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "",
}

# Native packages the phone may carry, and why each is known to build for Android.
KNOWN_ANDROID_WHEELS = {
    # Flet's mobile package index ships Android wheels of these (cryptography 43.0.1 is the
    # release the device path is tested on, see `make test-lowest`).
    "cryptography": "Android wheel on Flet's mobile index (43.0.1 and newer)",
    "cffi": "Android wheel on Flet's mobile index (cryptography's binding layer)",
    "pillow": "Android wheel on Flet's mobile index (photo metadata stripping)",
    "msgpack": "Android wheel on Flet's mobile index; Flet itself needs it on every platform",
    # These also publish a py3-none-any wheel that pip takes where no native one fits.
    "charset-normalizer": "pure-Python wheel on PyPI besides the compiled ones (for requests)",
}

# Never on a field device: the server, the coordinator workspace, the browser mode.
DESKTOP_ONLY = {
    "fastapi",
    "uvicorn",
    "starlette",
    "psycopg",
    "flet-web",
    "flet-charts",
    "fpdf2",
    "openpyxl",
}


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _base_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(text) for text in project["dependencies"]]


def _closure() -> dict[str, importlib.metadata.Distribution]:
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = [r for r in _base_requirements() if r.marker is None or r.marker.evaluate(ANDROID)]
    while todo:
        requirement = todo.pop()
        name = _name(requirement.name)
        if name in found:
            continue
        found[name] = dist = importlib.metadata.distribution(requirement.name)
        for text in dist.requires or []:
            child = Requirement(text)
            if child.marker is None or child.marker.evaluate(ANDROID):
                todo.append(child)
    return found


def _wheel_tags(dist: importlib.metadata.Distribution) -> list[str]:
    wheel = dist.read_text("WHEEL") or ""
    return [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]


def _is_pure_python(dist: importlib.metadata.Distribution) -> bool:
    tags = _wheel_tags(dist)
    return bool(tags) and all(tag.endswith("-none-any") for tag in tags)


def test_every_package_the_phone_build_carries_is_pure_python_or_known_for_android() -> None:
    closure = _closure()
    unbuildable = sorted(
        f"{name} {dist.version} ({', '.join(_wheel_tags(dist)) or 'no wheel record'})"
        for name, dist in closure.items()
        if not _is_pure_python(dist) and name not in KNOWN_ANDROID_WHEELS
    )
    assert unbuildable == [], "native packages without a known Android wheel in the phone build"


def test_the_phone_build_carries_no_server_browser_or_coordinator_package() -> None:
    assert sorted(DESKTOP_ONLY & set(_closure())) == []


def test_the_allow_list_names_only_packages_that_really_are_native() -> None:
    # An entry that turned pure-Python (or left the closure) would widen the list for nothing.
    closure = _closure()
    stale = sorted(
        name for name in KNOWN_ANDROID_WHEELS if name in closure and _is_pure_python(closure[name])
    )
    assert stale == []
    assert {"cryptography", "pillow"} <= set(closure)


def test_the_desktop_installs_still_get_the_browser_mode_and_the_coordinator_packages() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    coordinator = {_name(Requirement(text).name) for text in extras["coordinator"]}
    web = {_name(Requirement(text).name) for text in extras["web"]}
    assert {"flet-web", "flet-charts", "fpdf2"} <= coordinator
    assert "flet-web" in web
    assert "-e '.[server,coordinator,dev]'" in (ROOT / "Makefile").read_text(encoding="utf-8")


def _excluded() -> list[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    excluded: list[str] = pyproject["tool"]["flet"]["app"]["exclude"]
    return excluded


def test_the_phone_package_leaves_out_the_server_the_coordinator_and_the_command_line() -> None:
    excluded = set(_excluded())
    assert {"server", "tests", "bench", "app/coordinator", "app/exports", "app/demo"} <= excluded
    assert {"app/cli.py", "app/cli_server.py", "app/cli_demo.py"} <= excluded
    coordinator_services = {
        str(p.relative_to(ROOT)) for p in (ROOT / "app" / "services").glob("coordinator*.py")
    }
    assert coordinator_services <= excluded


def test_nothing_the_field_app_imports_is_left_out_of_the_phone_package() -> None:
    # Start the field app's modules the way the phone does (main.py, then the shell and the
    # vault service it builds on the first page) and list every project module that loaded.
    script = (
        "import sys, main, app.field.shell, app.services.field, app.services.field_api\n"
        "print('\\n'.join(m.__file__ for m in list(sys.modules.values())"
        " if getattr(m, '__file__', None)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    ours = [Path(f).resolve() for f in loaded if Path(f).resolve().is_relative_to(ROOT)]
    needed = sorted(
        str(path.relative_to(ROOT))
        for path in ours
        for excluded in _excluded()
        if path == ROOT / excluded or (ROOT / excluded) in path.parents
    )
    assert needed == []
    assert any(path.name == "vault.py" for path in ours)  # the probe really loaded the app
