"""The filter bar shared by the case list, the dashboard and exports (one `CaseFilter`).

Dates are typed in the reader's local form (`03.12.2026` in Russian, Kyrgyz and Kazakh; ISO
anywhere) or picked from the calendar (`app.ui.fields.DateInput`); the filter keeps ISO dates.
A typed date applies on Enter, a picked one at once; one that is not a date is named under its
field and beside the bar, and nothing is filtered until it is fixed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import flet as ft

from app.coordinator.context import ViewContext
from app.ui.fields import DateInput, list_arrow
from core.cases import STATUSES

ANY = "*"
_DATE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
FACETS = ("region", "violation_type", "perpetrator_type", "status", "assignee", "device")


class FilterBar:
    def __init__(self, ctx: ViewContext, on_change: Callable[[], None]) -> None:
        self.ctx, self.on_change = ctx, on_change
        t = ctx.t
        flt = ctx.filters
        self.text = ft.TextField(
            label=t("filters.search"),
            value=flt.text,
            prefix_icon=ft.Icons.SEARCH,
            on_submit=self.on_apply,
            on_change=self.on_text,
            width=280,
            autocorrect=False,
            enable_suggestions=False,
            key="filter-search",
        )
        self.from_input, self.to_input = (
            DateInput(
                label=t(f"filters.{which}"),
                lang=ctx.lang,
                value=value,
                on_change=lambda _iso: None,  # applied on Enter or a pick, not per keystroke
                pick_label=t("date.pick"),
                error_text=t("filters.bad_date"),
                key=f"filter-{which[5:]}",
                width=210,
            )
            for which, value in (("date_from", flt.date_from), ("date_to", flt.date_to))
        )
        self.date_from, self.date_to = self.from_input.field, self.to_input.field
        for date_input in (self.from_input, self.to_input):
            date_input.field.on_submit = self.on_apply
            date_input.picker.on_change = self._picked_handler(date_input)
        self.dropdowns: dict[str, ft.Dropdown] = {}
        for facet in FACETS:
            self.dropdowns[facet] = ft.Dropdown(
                editable=True,
                enable_filter=False,
                label=t(f"filters.{facet}"),
                width=190,
                value=getattr(flt, facet) or ANY,
                options=[ft.DropdownOption(key=ANY, text=t("filters.any"))],
                on_select=self.on_apply,
                key=f"filter-{facet}",
                trailing_icon=list_arrow(t("list.open")),
            )
        self.clear = ft.TextButton(t("filters.clear"), icon=ft.Icons.CLEAR, on_click=self.on_clear)
        self.date_error = ft.Text("", color=ft.Colors.ERROR, visible=False)
        self.control = ft.Column(
            [
                ft.Row(
                    [
                        self.text,
                        self.from_input.control,
                        self.to_input.control,
                        self.clear,
                        self.date_error,
                    ],
                    wrap=True,
                ),
                ft.Row(list(self.dropdowns.values()), wrap=True),
            ],
            spacing=8,
        )

    def load(self, show_error: Callable[[BaseException], None]) -> None:
        """Fill the drop-downs, then run the screen's query; a failure to fill them is shown,
        never fatal for the screen."""
        try:
            self.load_options()
        except Exception as exc:
            show_error(exc)
        self.on_change()

    def load_options(self) -> None:
        """Fill the drop-downs with every value present in the cases (labels in the language)."""
        ctx = self.ctx
        ctx.load_names()
        values = ctx.service.facet_values()
        values["status"] = list(STATUSES)
        for facet, dropdown in self.dropdowns.items():
            options = [ft.DropdownOption(key=ANY, text=ctx.t("filters.any"))]
            for value in values.get(facet, []):
                if facet == "status":
                    text = ctx.status(value)
                elif facet in ("assignee", "device"):
                    text = ctx.name(value)
                else:
                    text = ctx.service.option_label(facet, value, ctx.lang)
                options.append(ft.DropdownOption(key=value, text=text))
            dropdown.options = options

    def on_text(self, _e: Any = None) -> None:
        self.on_apply()

    def _picked_handler(self, date_input: DateInput) -> Callable[[Any], None]:
        """A date picked from the calendar applies at once; a typed one waits for Enter."""

        def handler(e: Any = None) -> None:
            date_input.picked(e)
            self.on_apply()

        return handler

    def on_apply(self, _e: Any = None) -> None:
        start, end = self.from_input.value, self.to_input.value
        bad = [d for d in (start, end) if d and not _DATE.match(d)]
        self.from_input.check()
        self.to_input.check()
        self.date_error.value = self.ctx.t("filters.bad_date") if bad else ""
        self.date_error.visible = bool(bad)
        if bad:
            return
        chosen = {
            f: (d.value if d.value and d.value != ANY else "") for f, d in self.dropdowns.items()
        }
        self.ctx.filters = self.ctx.filters.replace(
            text=(self.text.value or "").strip(), date_from=start, date_to=end, **chosen
        )
        self.on_change()

    def on_clear(self, _e: Any = None) -> None:
        self.text.value = self.date_from.value = self.date_to.value = ""
        for dropdown in self.dropdowns.values():
            dropdown.value = ANY
        self.on_apply()
