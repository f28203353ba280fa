"""The page port: everything a coordinator view needs from Flet's page, behind one interface.

Views call `port.run(work, done, failed)` for blocking service calls (KDF, HTTP, PDF), and
`confirm`, `notify`, `save`, `pick` for dialogs and files. `FletPort` implements it on a page;
tests use `tests/app/coordinator/fakes.FakePort`, which runs work at once and records dialogs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import flet as ft

T = TypeVar("T")


class UiPort(Protocol):
    def run(
        self,
        work: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None],
    ) -> None: ...

    def confirm(
        self, title: str, text: str, yes: str, no: str, on_yes: Callable[[], None]
    ) -> None: ...

    def notify(self, text: str) -> None: ...

    def save(self, filename: str, data: bytes) -> None: ...

    def pick(self, on_picked: Callable[[str, bytes], None]) -> None: ...

    def refresh(self) -> None: ...


class FletPort:
    """The real port on a Flet page. Blocking work runs in the session's thread pool."""

    def __init__(self, page: ft.Page) -> None:
        self.page = page
        self.picker = ft.FilePicker()  # a service: keep a strong reference (FLET.md 0.4)
        page.services.append(self.picker)

    def run(
        self,
        work: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        def worker() -> None:
            try:
                result = work()
            except Exception as exc:  # shown to the user through `failed`
                failed(exc)
            else:
                done(result)
            self.refresh()

        self.page.run_thread(worker)

    def confirm(self, title: str, text: str, yes: str, no: str, on_yes: Callable[[], None]) -> None:
        def close(_e: Any = None) -> None:
            self.page.pop_dialog()

        def accept(_e: Any = None) -> None:
            self.page.pop_dialog()
            on_yes()

        dialog = ft.AlertDialog(
            modal=True,
            title=ft.Text(title),
            content=ft.Text(text),
            actions=[
                ft.TextButton(no, on_click=close, key="confirm-no"),
                ft.FilledButton(yes, on_click=accept, key="confirm-yes"),
            ],
        )
        self.page.show_dialog(dialog)

    def notify(self, text: str) -> None:
        self.page.show_dialog(ft.SnackBar(ft.Text(text), duration=4000))

    def save(self, filename: str, data: bytes) -> None:
        async def go() -> None:
            await self.picker.save_file(file_name=filename, src_bytes=data)

        self.page.run_task(go)

    def pick(self, on_picked: Callable[[str, bytes], None]) -> None:
        async def go() -> None:
            files = await self.picker.pick_files(with_data=True)
            if files and files[0].bytes is not None:
                on_picked(files[0].name, bytes(files[0].bytes))
                self.refresh()

        self.page.run_task(go)

    def refresh(self) -> None:
        with contextlib.suppress(RuntimeError):  # the session is gone
            self.page.update()
