"""Small building blocks shared by the coordinator screens (no service calls here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import flet as ft

from app.ui.fields import list_arrow, named_reveal

STATUS_COLOURS = {
    "new": ft.Colors.BLUE_100,
    "in_review": ft.Colors.AMBER_100,
    "verified": ft.Colors.GREEN_100,
    "referred": ft.Colors.PURPLE_100,
    "closed": ft.Colors.GREY_300,
}


def title(text: str) -> ft.Text:
    return ft.Text(text, size=22, weight=ft.FontWeight.BOLD)


def heading(text: str) -> ft.Text:
    return ft.Text(text, size=16, weight=ft.FontWeight.W_600)


def muted(text: str) -> ft.Text:
    return ft.Text(text, size=13, color=ft.Colors.ON_SURFACE_VARIANT)


def pill(text: str, colour: str) -> ft.Container:
    return ft.Container(
        ft.Text(text, size=12), bgcolor=colour, padding=ft.Padding(8, 2, 8, 2), border_radius=10
    )


def status_pill(label: str, status: str) -> ft.Container:
    return pill(label, STATUS_COLOURS.get(status, ft.Colors.GREY_200))


def verdict_pill(ok: bool, text: str) -> ft.Container:
    return pill(text, ft.Colors.GREEN_100 if ok else ft.Colors.RED_100)


def reference(text: str) -> ft.Text:
    """A case's short reference, as the phone shows it too."""
    return ft.Text(text, size=12, weight=ft.FontWeight.W_600, font_family="monospace")


def unread_pill(text: str) -> ft.Container:
    """How many replies are waiting to be read (an icon and words, never a bare number)."""
    return ft.Container(
        ft.Row(
            [ft.Icon(ft.Icons.MARK_EMAIL_UNREAD, size=14), ft.Text(text, size=12)],
            spacing=4,
            tight=True,
        ),
        bgcolor=ft.Colors.AMBER_200,
        padding=ft.Padding(8, 2, 8, 2),
        border_radius=10,
    )


def card(*controls: ft.Control, padding: int = 16) -> ft.Container:
    return ft.Container(
        ft.Column(list(controls), spacing=8),
        padding=padding,
        border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
        border_radius=10,
    )


def hint_card(title: str, hint: str, *controls: ft.Control) -> ft.Container:
    """A card with a heading, a line saying what it is for, then its controls."""
    return card(heading(title), muted(hint), *controls)


def banner(text: str, *, error: bool = True) -> ft.Container:
    return ft.Container(
        ft.Text(text, color=ft.Colors.ON_ERROR_CONTAINER if error else None),
        bgcolor=ft.Colors.ERROR_CONTAINER if error else ft.Colors.SECONDARY_CONTAINER,
        padding=12,
        border_radius=8,
        visible=bool(text),
    )


def sensitive_field(label: str, **kwargs: object) -> ft.TextField:
    """A text field that keeps keyboards from learning what is typed."""
    return ft.TextField(
        label=label,
        autocorrect=False,
        enable_suggestions=False,
        enable_ime_personalized_learning=False,
        **kwargs,  # type: ignore[arg-type]
    )


def secret_field(label: str, reveal: str, **kwargs: object) -> ft.TextField:
    """A passphrase field whose reveal button is named `reveal` for screen readers."""
    field = ft.TextField(
        label=label,
        password=True,
        can_reveal_password=True,
        **kwargs,  # type: ignore[arg-type]
    )
    named_reveal(field, reveal)
    return field


def radio_choice(
    choices: list[tuple[str, str, str]], value: str | None = None, **kwargs: object
) -> ft.RadioGroup:
    """One radio button a line, each `(value, label, key)`, 48 pixels high (a touch target)."""
    return ft.RadioGroup(
        value=value,
        content=ft.Column(
            [ft.Radio(value=v, label=label, key=key, height=48) for v, label, key in choices]
        ),
        **kwargs,  # type: ignore[arg-type]
    )


def show_banner(box: ft.Container, text: str, *, error: bool = True) -> None:
    """Fill a `banner` with text, red for an error, green for a success."""
    label = box.content
    assert isinstance(label, ft.Text)
    label.value = text
    label.color = ft.Colors.ON_ERROR_CONTAINER if error else ft.Colors.GREEN_900
    box.bgcolor = ft.Colors.ERROR_CONTAINER if error else ft.Colors.GREEN_100
    box.visible = bool(text)


Handler = Callable[[Any], Any]
_BUTTONS: dict[str, Callable[..., ft.LayoutControl]] = {
    "filled": ft.FilledButton,
    "tonal": ft.FilledTonalButton,
    "outlined": ft.OutlinedButton,
    "text": ft.TextButton,
}


def button(
    kind: Literal["filled", "tonal", "outlined", "text"],
    label: str,
    on_click: Handler | None,
    key: str,
    icon: ft.IconData | None = None,
) -> ft.LayoutControl:
    """A labelled action button of one `kind`, found by its `key` (the browser tests and screen
    readers go by its label: keep both stable)."""
    return _BUTTONS[kind](label, icon=icon, on_click=on_click, key=key)


def actions(*controls: ft.Control) -> ft.Row:
    """Controls side by side (a field and its button, or a few buttons), wrapping when the
    window is narrow."""
    return ft.Row(list(controls), wrap=True)


def removable_chip(
    *texts: ft.Control, remove: str, on_remove: Handler, colour: str, spacing: int = 0
) -> ft.Container:
    """A rounded chip showing `texts` with a small close button named `remove` (its tooltip
    and its name for screen readers)."""
    return ft.Container(
        ft.Row(
            [
                *texts,
                ft.IconButton(
                    ft.Icon(ft.Icons.CLOSE, semantics_label=remove),
                    icon_size=14,
                    tooltip=remove,
                    on_click=on_remove,
                ),
            ],
            spacing=spacing,
            tight=True,
        ),
        bgcolor=colour,
        border_radius=14,
        padding=ft.Padding(10, 0, 0, 0),
    )


def screen_column(*controls: ft.Control, expand: bool | int = True) -> ft.Column:
    """A screen's (or a pane's) body: its parts one under another, scrolling as a whole."""
    return ft.Column(list(controls), spacing=12, scroll=ft.ScrollMode.AUTO, expand=expand)


def choice(label: str, arrow: str, *, enable_filter: bool = False, **kwargs: Any) -> ft.Dropdown:
    """A drop-down named `label` (editable, so screen readers announce a named text box) whose
    arrow is named `arrow`; `enable_filter` narrows the list as one types."""
    return ft.Dropdown(
        label=label,
        editable=True,
        enable_filter=enable_filter,
        trailing_icon=list_arrow(arrow),
        **kwargs,
    )
