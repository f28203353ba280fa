"""Text fields for sensitive input: no autocorrect, no suggestions, no keyboard learning.

Use `sensitive_field(...)` for anything a person types about a case and `secret_field(...)` for
passphrases, so the phone's keyboard never learns victims' names or passphrases.
`DateInput` and `TimeInput` take a date or time typed in the reader's local form or picked from
Flet's calendar and clock (`app.ui.dates` parses and formats).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from collections.abc import Callable
from typing import Any, Protocol

import flet as ft

from app.ui import dates

TOUCH = 48  # minimum touch target (dp)


def sensitive_field(**kwargs: Any) -> ft.TextField:
    kwargs.setdefault("autocorrect", False)
    kwargs.setdefault("enable_suggestions", False)
    kwargs.setdefault("enable_ime_personalized_learning", False)
    kwargs.setdefault("text_size", 16)
    return ft.TextField(**kwargs)


def unseen_label(text: str) -> ft.Text:
    """A label only screen readers see: for a field whose (long) label is shown above it, and
    a switch whose label wraps beside it. One pixel, transparent, one line."""
    return ft.Text(text, size=1, width=1, max_lines=1, color=ft.Colors.TRANSPARENT)


def list_arrow(name: str) -> ft.Icon:
    """A drop-down's arrow with a name (Flutter's own has none)."""
    return ft.Icon(ft.Icons.ARROW_DROP_DOWN, semantics_label=name)


def secret_field(*, reveal_label: str | None = None, **kwargs: Any) -> ft.TextField:
    """A passphrase field. With `reveal_label`, its show/hide button is our own, named with it
    for screen readers and 48 dp (Flet's built-in eye has no name); without, the built-in."""
    kwargs.setdefault("password", True)
    if reveal_label is None:
        kwargs.setdefault("can_reveal_password", True)
        return sensitive_field(**kwargs)
    return named_reveal(sensitive_field(**kwargs), reveal_label)


def named_reveal(field: ft.TextField, label: str) -> ft.TextField:
    """Give a passphrase field a show/hide button named `label` (48 dp), in place of Flet's
    built-in eye, which has no name for screen readers. Returns the field."""
    field.can_reveal_password = False
    eye = ft.Icon(ft.Icons.VISIBILITY_OUTLINED, semantics_label=label)

    def flip(_e: Any = None) -> None:
        field.password = not field.password
        eye.icon = ft.Icons.VISIBILITY_OUTLINED if field.password else ft.Icons.VISIBILITY_OFF

    field.suffix_icon = ft.IconButton(
        eye,
        on_click=flip,
        size_constraints=ft.BoxConstraints(min_width=TOUCH, min_height=TOUCH),
        data=f"{field.data}-reveal" if field.data else None,
    )
    return field


class _MomentInput:
    """What `DateInput` and `TimeInput` share: a text field typed into and checked on leaving,
    beside a 48 dp button opening the picker. Subclasses say how text parses and is shown."""

    ICON: ft.IconData
    HINT = ""

    def __init__(
        self,
        *,
        label: str,
        lang: str,
        value: str,
        on_change: Callable[[str], None],
        pick_label: str,
        error_text: str,
        data: str | None = None,
        key: str | None = None,
        width: float | None = None,
        expand: int | None = None,
    ) -> None:
        self.lang, self.on_change, self.error_text = lang, on_change, error_text
        self.field = _moment_field(
            label, self.HINT or dates.hint(lang), self._shown(value), self, data, key=key
        )
        self.picker = self._make_picker()
        self.button = _pick_button(self.ICON, pick_label, self.pick, data)
        self.control = ft.Row(
            [self.field, self.button], spacing=4, width=width, expand=expand, tight=True
        )

    def _shown(self, value: str) -> str:
        return value

    def _make_picker(self) -> Any:
        raise NotImplementedError

    def _parses(self, text: str) -> bool:
        raise NotImplementedError

    def pick(self, e: Any = None) -> None:
        raise NotImplementedError

    @property
    def value(self) -> str:
        raise NotImplementedError

    def typed(self, _e: Any = None) -> None:
        if self.field.error and self._parses(str(self.field.value or "")):
            self.field.error = None
        self.on_change(self.value)

    def check(self, _e: Any = None) -> bool:
        """Show the error under the field if its text does not parse; True if it is fine."""
        text = str(self.field.value or "").strip()
        bad = bool(text) and not self._parses(text)
        self.field.error = self.error_text if bad else None
        return not bad

    def _take(self, shown: str, stored: str) -> None:
        """What the picker chose: shown in the field, `stored` handed to `on_change`."""
        self.field.value = shown
        self.field.error = None
        self.on_change(stored)


class DateInput(_MomentInput):
    """A date typed in the reader's local form (`03.12.2026`, or ISO anywhere) or picked from
    Flet's calendar (`DatePicker`, in the reader's language). `on_change` receives the ISO date,
    or the typed text unchanged when it is not a date (so a validator refuses it and nothing
    typed is lost); leaving the field (or Enter) with such text shows `error_text` under it.

    `control` is what goes on screen; `field` the text field (its `data` names it for tests);
    `pick(e)` opens the calendar and `picked(e)` takes its answer.
    """

    ICON = ft.Icons.CALENDAR_MONTH

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.field.on_submit = self.check

    def _shown(self, value: str) -> str:
        return dates.format_date(value, self.lang)

    def _make_picker(self) -> ft.DatePicker:
        return ft.DatePicker(
            first_date=_dt.datetime.combine(dates.EARLIEST, _dt.time()),
            last_date=_dt.datetime.combine(dates.LATEST, _dt.time()),
            locale=ft.Locale(self.lang),
            on_change=self.picked,
        )

    def _parses(self, text: str) -> bool:
        return dates.parse_date(text, self.lang) is not None

    @property
    def value(self) -> str:
        return dates.to_iso(str(self.field.value or ""), self.lang)

    def pick(self, e: Any = None) -> None:
        current = dates.parse_date(str(self.field.value or ""), self.lang)
        self.picker.value = _dt.datetime.combine(current, _dt.time()) if current else None
        _show(e, self.picker)

    def picked(self, _e: Any = None) -> None:
        chosen = self.picker.value
        if chosen is None:
            return
        day = chosen.date() if isinstance(chosen, _dt.datetime) else chosen
        self._take(dates.format_date(day, self.lang), day.isoformat())


class TimeInput(_MomentInput):
    """A 24-hour time typed (`14:30`, `14.30`) or picked from Flet's `TimePicker`. `on_change`
    receives `HH:MM`, or the typed text unchanged when it is not a time."""

    ICON = ft.Icons.SCHEDULE
    HINT = "14:30"

    def _make_picker(self) -> ft.TimePicker:
        return ft.TimePicker(
            locale=ft.Locale(self.lang),
            hour_format=ft.TimePickerHourFormat.H24,
            on_change=self.picked,
        )

    def _parses(self, text: str) -> bool:
        return dates.parse_time(text) is not None

    @property
    def value(self) -> str:
        return dates.time_to_stored(str(self.field.value or ""))

    def pick(self, e: Any = None) -> None:
        current = dates.parse_time(str(self.field.value or ""))
        self.picker.value = current or _dt.datetime.now().time().replace(second=0, microsecond=0)
        _show(e, self.picker)

    def picked(self, _e: Any = None) -> None:
        chosen = self.picker.value
        if chosen is None:
            return
        shown = dates.format_time(chosen)
        self._take(shown, shown)


class _Typed(Protocol):
    def typed(self, _e: Any = None) -> None: ...
    def check(self, _e: Any = None) -> bool: ...


def _moment_field(
    label: str, hint_text: str, value: str, owner: _Typed, data: str | None, **extra: Any
) -> ft.TextField:
    """The text field of a `DateInput` or `TimeInput`: typed into, checked on leaving."""
    return sensitive_field(
        label=label,
        hint_text=hint_text,
        value=value,
        keyboard_type=ft.KeyboardType.DATETIME,
        on_change=owner.typed,
        on_blur=owner.check,
        data=data,
        expand=True,
        **extra,
    )


def _pick_button(
    icon: ft.IconData, pick_label: str, on_click: Callable[[Any], None], data: str | None
) -> ft.IconButton:
    """The 48 dp button beside a date or time field that opens its picker, named for readers."""
    return ft.IconButton(
        ft.Icon(icon, semantics_label=pick_label),
        tooltip=pick_label,
        on_click=on_click,
        data=f"{data}-pick" if data else None,
        size_constraints=ft.BoxConstraints(min_width=TOUCH, min_height=TOUCH),
    )


def _show(e: Any, dialog: ft.DialogControl) -> None:
    page = None
    with contextlib.suppress(RuntimeError, AttributeError):  # not on a page (unit tests)
        page = e.control.page
    if page is not None:
        page.show_dialog(dialog)


def touch_theme(**kwargs: Any) -> ft.Theme:
    """A theme whose buttons, checkboxes and radios keep 48 dp targets on a desktop or in a
    browser too (Flutter makes them denser there: 32 to 40 px)."""
    padded = ft.ButtonStyle(
        padding=ft.Padding(16, 14, 16, 14), visual_density=ft.VisualDensity.STANDARD
    )
    return ft.Theme(
        visual_density=ft.VisualDensity.STANDARD,
        text_button_theme=ft.TextButtonTheme(style=padded),
        filled_button_theme=ft.FilledButtonTheme(style=padded),
        outlined_button_theme=ft.OutlinedButtonTheme(style=padded),
        button_theme=ft.ButtonTheme(style=padded),
        icon_button_theme=ft.IconButtonTheme(
            style=ft.ButtonStyle(padding=12, visual_density=ft.VisualDensity.STANDARD)
        ),
        checkbox_theme=ft.CheckboxTheme(visual_density=ft.VisualDensity.STANDARD),
        radio_theme=ft.RadioTheme(visual_density=ft.VisualDensity.STANDARD),
        **kwargs,
    )
