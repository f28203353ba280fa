"""A page port for view tests: work runs at once, dialogs are recorded and answered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class FakePort:
    def __init__(self, *, confirm: bool = True) -> None:
        self.answer = confirm
        self.confirmations: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self.saved: list[tuple[str, bytes]] = []
        self.to_pick: tuple[str, bytes] | None = None
        self.refreshed = 0

    def run(
        self,
        work: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        try:
            result = work()
        except Exception as exc:
            failed(exc)
        else:
            done(result)

    def confirm(self, title: str, text: str, yes: str, no: str, on_yes: Callable[[], None]) -> None:
        self.confirmations.append((title, text))
        if self.answer:
            on_yes()

    def notify(self, text: str) -> None:
        self.notes.append(text)

    def save(self, filename: str, data: bytes) -> None:
        self.saved.append((filename, data))

    def pick(self, on_picked: Callable[[str, bytes], None]) -> None:
        if self.to_pick is not None:
            on_picked(*self.to_pick)

    def refresh(self) -> None:
        self.refreshed += 1


def click(control: Any, data: Any = None) -> None:
    """Fire a control's on_click / on_select / on_change handler as Flet would."""
    import flet as ft

    for name in ("on_click", "on_select", "on_change", "on_submit"):
        handler = getattr(control, name, None)
        if handler is not None:
            handler(ft.ControlEvent(control=control, name=name[3:], data=data))
            return
    raise AssertionError(f"{type(control).__name__} has no handler")
