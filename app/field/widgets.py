"""Small building blocks the field screens share: headings, big buttons, status chips, times.

Everything returns plain controls; nothing here calls a service.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from collections.abc import Callable
from typing import Any

import flet as ft

from app.field.context import FieldContext
from app.ui.fields import TOUCH, secret_field

STATUS_COLOURS = {
    "draft": ft.Colors.GREY_700,
    "queued": ft.Colors.AMBER_900,
    "sent": ft.Colors.GREEN_800,
    "failed": ft.Colors.RED_800,
    "local": ft.Colors.BLUE_GREY_700,
}


def refresh(control: ft.Control) -> None:
    """`control.update()` when it is on a page (from tasks and threads); a no-op in tests."""
    with contextlib.suppress(RuntimeError, AssertionError):
        control.update()


def scroll_key(name: str) -> ft.ScrollKey:
    """The key of a control that `Navigator.scroll_to(name)` brings into view."""
    return ft.ScrollKey(name)  # type: ignore[call-arg]  # flet's stub hides the value field


def heading(text: str) -> ft.Text:
    return ft.Text(text, size=20, weight=ft.FontWeight.BOLD)


def hint(text: str, **kwargs: Any) -> ft.Text:
    return ft.Text(text, size=14, color=ft.Colors.ON_SURFACE_VARIANT, **kwargs)


def big_button(
    text: str,
    on_click: Callable[..., Any] | None,
    *,
    data: str,
    filled: bool = True,
    icon: Any = None,
    danger: bool = False,
) -> ft.Row:
    kind = ft.FilledButton if filled else ft.OutlinedButton
    button = kind(text, icon=icon, on_click=on_click, data=data, height=52, expand=True)
    if danger:
        button.style = ft.ButtonStyle(bgcolor=ft.Colors.RED_700, color=ft.Colors.WHITE)
    return ft.Row([button])


def button_of(row: ft.Row | ft.Button | ft.OutlinedButton) -> ft.Button | ft.OutlinedButton:
    """The button inside a `big_button` row (for tests and for enabling/disabling)."""
    if isinstance(row, ft.Button | ft.OutlinedButton):
        return row
    control = row.controls[0]
    assert isinstance(control, ft.Button | ft.OutlinedButton)
    return control


def status_chip(ctx: FieldContext, status: str, reason: str = "") -> ft.Container:
    text = ctx.t(f"status.{status}")
    if status == "failed" and reason:
        from app.errors_text import reason_key

        text = f"{text}: {ctx.t(reason_key(reason))}"
    return ft.Container(
        ft.Text(text, color=ft.Colors.WHITE, size=13),
        bgcolor=STATUS_COLOURS.get(status, ft.Colors.GREY_700),
        padding=ft.Padding.symmetric(horizontal=8, vertical=4),
        border_radius=12,
        data=f"status-{status}",
    )


def when(ts: float | None) -> str:
    """A local date and time for lists ("2026-11-21 14:05"); "" for None."""
    if not ts:
        return ""
    return _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def size_text(ctx: FieldContext, size: int) -> str:
    if size >= 1024 * 1024:
        return ctx.t("unit.mb", n=f"{size / (1024 * 1024):.1f}")
    if size >= 1024:
        return ctx.t("unit.kb", n=f"{size / 1024:.0f}")
    return ctx.t("unit.bytes", n=size)


def toggle_row(control: ft.Switch | ft.Checkbox, label: str, *, data: str | None = None) -> ft.Row:
    """A switch or checkbox with a label that wraps (built-in labels are cut off on phones).

    Tapping the label toggles the control, as with a built-in label."""

    def flip(_e: Any = None) -> None:
        control.value = not bool(control.value)
        handler: Any = control.on_change
        if handler is not None:
            handler(ft.ControlEvent(name="change", data=None, control=control))

    # 14 px above and below a line of text: a 48 dp target for the label too
    text = ft.Container(
        ft.Text(label, size=15), expand=True, on_click=flip, padding=ft.Padding(4, 14, 4, 14)
    )
    if isinstance(control, ft.Checkbox):
        control.semantics_label = label
    else:
        # A switch has no semantics label of its own: a one-pixel, transparent built-in label
        # names it for screen readers while the visible label beside it wraps.
        control.label = ft.Text(label, size=1, width=1, max_lines=1, color=ft.Colors.TRANSPARENT)
    target = ft.Container(
        control, height=TOUCH, width=TOUCH if isinstance(control, ft.Checkbox) else None
    )
    return ft.Row(
        [target, text], data=data, vertical_alignment=ft.CrossAxisAlignment.CENTER, spacing=4
    )


def passphrase_field(ctx: FieldContext, label_key: str, data: str, **kwargs: Any) -> ft.TextField:
    """A passphrase field labelled `ctx.t(label_key)`, its reveal button named for screen
    readers; nothing typed is learnt by the keyboard."""
    return secret_field(
        reveal_label=ctx.t("secret.reveal"), label=ctx.t(label_key), data=data, **kwargs
    )
