"""The case list: filters, full-text search, sortable columns, pull; a row opens the case.

The table shows at most `PAGE` rows at a time ("show more" adds the next page), so 10,000 cases
stay responsive; the count always reports every match. Newest first by the incident's date
unless a column is chosen. People read names and words here: the device's roster label, the
assignee's name, local dates in their language, the case's short reference and its title in
their language (the form's title field: for the default form the violation types, which is why
there is no separate violation column), and how many replies they have not read yet.
"""

from __future__ import annotations

from typing import Any

import flet as ft

from app.casebook.cases import CaseSummary, short_text
from app.coordinator import widgets as w
from app.coordinator.context import ViewContext
from app.coordinator.filters_view import FilterBar
from app.services.coordinator_types import PullSummary

PAGE = 100
COLUMNS = ("occurred", "title", "region", "status", "assignee", "device", "custody")
SORTABLE = {0: "occurred", 1: "title", 2: "region", 3: "status", 5: "device"}
TITLE_CHARS = 52  # two lines of TITLE_WIDTH, cut between words (the full title is the tooltip)
TITLE_WIDTH = 240


class CaseListView:
    def __init__(self, ctx: ViewContext) -> None:
        self.ctx = ctx
        t = ctx.t
        self.shown = PAGE
        self.results: list[CaseSummary] = []
        self.filters = FilterBar(ctx, self.refresh)
        self.count = w.muted("")
        self.pull_button = w.button(
            "filled", t("cases.pull"), self.on_pull, "pull", ft.Icons.DOWNLOAD
        )
        self.pull_status = w.muted("")
        self.error = w.banner("")
        sort_col = next((i for i, k in SORTABLE.items() if k == ctx.filters.sort), None)
        self.table = ft.DataTable(
            columns=[
                ft.DataColumn(
                    label=ft.Text(t(f"cases.col_{c}")),
                    on_sort=self.on_sort if i in SORTABLE else None,
                )
                for i, c in enumerate(COLUMNS)
            ],
            rows=[],
            sort_column_index=sort_col,
            sort_ascending=not ctx.filters.descending,
            show_checkbox_column=False,
            data_row_max_height=64,
            column_spacing=20,
        )
        self.more = ft.TextButton(t("cases.more"), on_click=self.on_more, visible=False)
        self.empty = w.muted(t("cases.none"))
        self.control = w.screen_column(
            ft.Row(
                [w.title(t("cases.title")), ft.Row([self.pull_status, self.pull_button])],
                alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
            ),
            self.filters.control,
            self.error,
            self.count,
            self.empty,
            ft.Row([self.table], scroll=ft.ScrollMode.AUTO),
            self.more,
        )

    def load(self) -> None:
        self.filters.load(self.show_error)

    def refresh(self) -> None:
        ctx = self.ctx
        ctx.load_names()
        try:
            self.results = ctx.service.cases(ctx.filters)
        except Exception as exc:
            self.show_error(exc)
            return
        self.shown = PAGE
        self._render()

    def _render(self) -> None:
        total = len(self.results)
        self.count.value = self.ctx.t("cases.count", count=total)
        self.empty.visible = total == 0
        self.table.rows = [self._row(s) for s in self.results[: self.shown]]
        self.more.visible = total > self.shown

    def _row(self, s: CaseSummary) -> ft.DataRow:
        ctx = self.ctx
        region = ctx.service.option_label("region", s.region, ctx.lang) if s.region else "—"
        custody = w.verdict_pill(
            s.custody_ok, ctx.t("custody.ok_short" if s.custody_ok else "custody.problem_short")
        )
        full = s.title_in(ctx.lang) or ctx.t(f"type.{s.case_type}")
        title = short_text(full, TITLE_CHARS)
        top: list[ft.Control] = [w.reference(s.reference)]
        if s.unread:
            top.append(w.unread_pill(ctx.t("cases.unread", count=s.unread)))
        return ft.DataRow(
            cells=[
                ft.DataCell(ft.Text(ctx.day(s.day))),
                ft.DataCell(
                    ft.TextButton(
                        content=ft.Container(
                            ft.Column(
                                [
                                    ft.Row(top, spacing=6),
                                    ft.Text(
                                        title,
                                        max_lines=2,
                                        size=14,
                                        overflow=ft.TextOverflow.ELLIPSIS,
                                    ),
                                ],
                                spacing=2,
                            ),
                            width=TITLE_WIDTH,
                            padding=ft.Padding(0, 4, 0, 4),
                        ),
                        on_click=lambda _e, cid=s.id: self.open(cid),
                        key=f"open-{s.id[:8]}",
                        tooltip=full,
                    )
                ),
                ft.DataCell(ft.Text(region)),
                ft.DataCell(w.status_pill(ctx.status(s.status), s.status)),
                ft.DataCell(
                    ft.Text(ctx.name(s.assignee) if s.assignee else ctx.t("case.unassigned"))
                ),
                ft.DataCell(ft.Text(ctx.name(s.device), tooltip=s.device)),
                ft.DataCell(custody),
            ],
            on_select_change=lambda _e, cid=s.id: self.open(cid),
        )

    def open(self, case_id: str) -> None:
        self.ctx.navigate("case", case_id)

    def show_error(self, exc: BaseException) -> None:
        self.error.content.value = self.ctx.error(exc)  # type: ignore[union-attr]
        self.error.visible = True

    # ---- handlers
    def on_sort(self, e: Any) -> None:
        index = int(getattr(e, "column_index", 0))
        ascending = bool(getattr(e, "ascending", True))
        key = SORTABLE.get(index, "received")
        self.table.sort_column_index = index
        self.table.sort_ascending = ascending
        self.ctx.filters = self.ctx.filters.replace(sort=key, descending=not ascending)
        self.refresh()

    def on_more(self, _e: Any = None) -> None:
        self.shown += PAGE
        self._render()

    def on_pull(self, _e: Any = None) -> None:
        ctx = self.ctx
        self.pull_button.disabled = True
        self.pull_status.value = ctx.t("cases.pulling")
        self.error.visible = False

        def done(summary: PullSummary) -> None:
            self.pull_button.disabled = False
            self.pull_status.value = (
                ctx.t("cases.pulled", cases=summary.cases)
                if summary.cases
                else ctx.t("cases.pulled_nothing_new")
                if not summary.stored
                else ctx.t("cases.pulled_other")
            )
            lines = []
            if summary.held:
                lines.append(ctx.t("pull.held", count=summary.held))
            if summary.problems:
                lines.append(ctx.t("cases.pull_problems", problems="; ".join(summary.problems[:5])))
            if lines:
                self.error.content.value = "\n".join(lines)  # type: ignore[union-attr]
                self.error.visible = True
            self.load()

        def failed(exc: BaseException) -> None:
            self.pull_button.disabled = False
            self.pull_status.value = ""
            self.show_error(exc)

        ctx.port.run(ctx.service.pull, done, failed)
