"""The entry point on a phone runs the wipe check before it builds any screen, off the UI
thread; on a desktop or in a browser it builds the screens at once and checks nothing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from app.field import entry
from app.services.field_keystore import MemoryKeystore


class FakePage:
    def __init__(self) -> None:
        self.tasks: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self.updates = 0

    def run_task(self, handler: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self.tasks.append(handler)

    def update(self) -> None:
        self.updates += 1


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []
    ui_thread = threading.get_ident()

    def check(service: Any) -> bool:
        seen.append(("check", threading.get_ident() != ui_thread))
        return False

    monkeypatch.setattr(entry, "start_checked", check)
    monkeypatch.setattr(entry, "_show", lambda page, service: seen.append(("show", service)))
    monkeypatch.delenv("FIELDVAULT_FIELD_PREVIEW", raising=False)
    return seen


def test_on_a_phone_the_wipe_check_runs_off_the_ui_thread_before_any_screen(
    events: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    keystore = MemoryKeystore()
    monkeypatch.setattr("app.field.secure_keystore.phone_keystore", lambda page: keystore)
    page = FakePage()
    entry.make_main(tmp_path / "phone")(page)  # type: ignore[arg-type]
    assert events == []  # nothing is shown until the check is over
    [task] = page.tasks
    asyncio.run(task())
    assert [name for name, _ in events] == ["check", "show"]
    assert events[0][1] is True  # on a worker thread
    assert events[1][1].keystore is keystore
    assert page.updates >= 1


def test_on_a_desktop_or_in_a_browser_the_screens_come_at_once_without_a_check(
    events: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("app.field.secure_keystore.phone_keystore", lambda page: None)
    page = FakePage()
    entry.make_main(tmp_path / "desk")(page)  # type: ignore[arg-type]
    assert [name for name, _ in events] == ["show"]
    assert events[0][1].keystore is None and page.tasks == []
