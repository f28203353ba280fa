"""What every field screen receives: the service, the translator and a small navigation port.

Screens are dumb: they build controls from plain data and call `ctx.service`. Anything that
needs the page (navigation, pickers, running blocking work off the UI thread, locking) goes
through `ctx.nav`, a `Navigator` that the app shell implements and tests replace with
`RecordingNavigator`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import flet as ft

from app.errors_text import error_text
from app.i18n import Translator
from app.services.field_api import FieldService
from app.services.field_types import UnlockFailed

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class PickedFile:
    name: str
    data: bytes | None  # web: the file's bytes (there is no path)
    path: str | None  # phone: a plaintext cached copy; desktop: the owner's own file
    copy: bool = False  # `path` is the picker's copy, to be deleted once imported or refused


class ShowsErrors(Protocol):
    def show(self, text: str) -> None: ...


class Navigator(Protocol):
    def go(self, route: str, **params: str) -> None: ...
    def refresh(self) -> None: ...
    def locked(self) -> None: ...
    def wiped(self) -> None: ...
    def panicked(self) -> None: ...
    def unlocked(self) -> None: ...
    def language_changed(self) -> None: ...
    def touch(self) -> None: ...
    async def run(self, fn: Callable[..., T], *args: Any) -> T: ...
    async def pick_files(self) -> list[PickedFile]: ...
    def sync_now(self) -> None: ...
    async def scroll_to(self, key: str) -> None: ...


@dataclasses.dataclass
class FieldContext:
    service: FieldService
    tr: Translator
    nav: Navigator
    capture: Any = None  # an `app.field.capture.CapturePort`; None: no camera, no recorder
    alarm: Any = None  # an `app.field.alarm.AlarmControl`; None: no silent alarm

    def t(self, key: str, **params: Any) -> str:
        return self.tr.t(key, **params)

    def error(self, exc: BaseException) -> str:
        return error_text(exc, self.tr)

    def attempt(self, banner: ShowsErrors, fn: Callable[..., Any], *args: Any) -> bool:
        """Call `fn(*args)`; if it fails, say why in `banner` and answer False."""
        return self._shown(banner, _failure_of(fn, *args))

    async def attempt_off_ui(self, banner: ShowsErrors, fn: Callable[..., Any], *args: Any) -> bool:
        """`attempt` for blocking work (key derivation, encryption, HTTP): run off the UI thread
        through `nav.run`; the banner is filled back on the UI thread."""
        return self._shown(banner, await self.nav.run(_failure_of, fn, *args))

    async def unlock(self, passphrase: str) -> Exception | None:
        """Unlock off the UI thread: None once open, else why not. When the attempt wiped the
        vault (the wrong-passphrase threshold), the app is already on its wiped screen and the
        answer is an `UnlockFailed` that `wiped_by` recognises: show nothing more."""
        failure = await self.nav.run(_failure_of, self.service.unlock, passphrase)
        if wiped_by(failure):
            self.nav.wiped()
        return failure

    def _shown(self, banner: ShowsErrors, failure: Exception | None) -> bool:
        if failure is not None:
            banner.show(self.error(failure))
        return failure is None


def wiped_by(failure: Exception | None) -> bool:
    """Whether an unlock attempt failed by wiping the vault."""
    return isinstance(failure, UnlockFailed) and failure.reason == "wiped"


def _failure_of(fn: Callable[..., Any], *args: Any) -> Exception | None:
    """What `fn(*args)` raised, or None when it succeeded."""
    try:
        fn(*args)
    except Exception as exc:
        return exc
    return None


@dataclasses.dataclass
class Screen:
    """What a screen gives the shell: a title, its body, optional app-bar actions and back."""

    title: str
    body: list[ft.Control]
    back: str | None = None  # route of the back arrow, None for none
    back_params: dict[str, str] = dataclasses.field(default_factory=dict)
    chrome: bool = True  # False: no app bar and no panic control (setup, calculator)
    actions: list[ft.Control] = dataclasses.field(default_factory=list)


class _Recorded:
    """A signal of `RecordingNavigator` that takes no argument: calling it records its name."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, nav: RecordingNavigator, owner: type | None = None) -> Callable[[], None]:
        return functools.partial(nav._log, self.name)


class RecordingNavigator:
    """A `Navigator` for tests: records what screens asked for and runs work inline."""

    def __init__(self, files: list[PickedFile] | None = None) -> None:
        self.events: list[tuple[str, dict[str, str]]] = []
        self.files = files or []

    def _log(self, name: str, **params: str) -> None:
        self.events.append((name, params))

    def go(self, route: str, **params: str) -> None:
        self._log("go:" + route, **params)

    refresh = _Recorded()
    locked = _Recorded()
    wiped = _Recorded()
    panicked = _Recorded()
    unlocked = _Recorded()
    language_changed = _Recorded()
    touch = _Recorded()
    sync_now = _Recorded()

    async def scroll_to(self, key: str) -> None:
        self._log("scroll_to", key=key)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)

    async def pick_files(self) -> list[PickedFile]:
        return list(self.files)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.events if name != "touch"]
