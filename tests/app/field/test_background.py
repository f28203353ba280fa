"""Attack: the phone's recents list keeps a picture of the last screen of every app; someone
holding the phone opens it and reads a case there. The moment the app leaves the front, its
screen is blanked; hidden or paused, it also locks, and what comes back is the lock screen."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import flet as ft
import pytest

from app.field.shell import AppShell
from app.services.fake_field import FakeFieldService

PASS = "walnut orchard lantern 1987"
SECRET = "QXBACKGROUND-Кара-Балта"


class FakePage:
    """What the shell uses of a page, without a client."""

    def __init__(self) -> None:
        self.views: list[ft.View] = []
        self.title = ""
        self.theme_mode: Any = None
        self.locale_configuration: Any = None
        self.on_app_lifecycle_state_change: Any = None
        self.on_keyboard_event: Any = None
        self.on_view_pop: Any = None
        self.web = False
        self.platform = ft.PagePlatform.ANDROID
        self.tasks: list[Coroutine[Any, Any, Any]] = []
        self.updates = 0

    def update(self) -> None:
        self.updates += 1

    def run_task(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> None:
        coroutine = fn(*args)
        if (
            fn.__name__ in ("_idle_watch", "watch")  # the idle lock and the alarm's watch
            or getattr(fn, "__self__", None).__class__.__name__ == "SyncLoop"
        ):
            coroutine.close()  # endless loops: not run here
            return
        self.tasks.append(coroutine)

    def run_pending(self) -> None:
        while self.tasks:
            asyncio.run(self.tasks.pop(0))


def texts(page: FakePage) -> str:
    found: list[str] = []

    def walk(control: Any) -> None:
        for name in ("value", "title", "label", "text"):
            value = getattr(control, name, None)
            if isinstance(value, str):
                found.append(value)
        for name in ("controls", "content", "appbar", "actions"):
            child = getattr(control, name, None)
            for item in child if isinstance(child, list) else [child]:
                if isinstance(item, ft.Control):
                    walk(item)

    for view in page.views:
        walk(view)
    return " ".join(found)


def lifecycle(shell: AppShell, state: ft.AppLifecycleState) -> None:
    event = ft.AppLifecycleStateChangeEvent(
        name="app_lifecycle_state_change",
        control=shell.page,  # type: ignore[arg-type]
        data=state.value,
        state=state,
    )
    shell._lifecycle(event)


@pytest.fixture
def shell() -> AppShell:
    service = FakeFieldService()
    service.create(PASS, language="en")
    service.save_note(None, SECRET, shared=False)
    page = FakePage()
    shell = AppShell(page, service)  # type: ignore[arg-type]
    shell.start()
    shell.go("notes")
    assert SECRET in texts(page)
    return shell


def test_leaving_the_front_blanks_the_screen_at_once_and_coming_back_restores_it(
    shell: AppShell,
) -> None:
    page: FakePage = shell.page  # type: ignore[assignment]
    lifecycle(shell, ft.AppLifecycleState.INACTIVE)
    assert SECRET not in texts(page) and len(page.views) == 1
    assert page.views[0].controls == []
    shell.render()  # a sync result arriving meanwhile draws nothing
    assert SECRET not in texts(page)
    lifecycle(shell, ft.AppLifecycleState.RESUME)
    assert SECRET in texts(page)
    assert shell.service.unlocked  # a glance at the notification shade does not lock


@pytest.mark.parametrize("state", [ft.AppLifecycleState.HIDE, ft.AppLifecycleState.PAUSE])
def test_hidden_or_paused_the_app_locks_and_comes_back_on_the_lock_screen(
    shell: AppShell, state: ft.AppLifecycleState
) -> None:
    page: FakePage = shell.page  # type: ignore[assignment]
    lifecycle(shell, state)
    assert SECRET not in texts(page)
    page.run_pending()
    assert not shell.service.unlocked
    assert SECRET not in texts(page)
    lifecycle(shell, ft.AppLifecycleState.RESUME)
    assert shell.route == "unlock" and SECRET not in texts(page)
    assert page.views  # the lock screen is drawn
