"""The case list: filters, full-text search, sortable columns, pull; a row opens the case.

The table shows at most `PAGE` rows at a time ("show more" adds the next page), so 10,000 cases
stay responsive; the count always reports every match.
"""

from __future__ import annotations

from typing import Any

import flet as ft

from app.coordinator import widgets as w
from app.coordinator.context import ViewContext
from app.coordinator.filters_view import FilterBar
from app.services.coordinator_cases import CaseSummary
from app.services.coordinator_types import PullSummary

PAGE = 100
COLUMNS = ("occurred", "title", "region", "violation", "status", "assignee", "device", "custody")
SORTABLE = {0: "occurred", 1: "title", 2: "region", 4: "status", 6: "device"}


class CaseListView:
    def __init__(self, ctx: ViewContext) -> None:
        self.ctx = ctx
        t = ctx.t
        self.shown = PAGE
        self.results: list[CaseSummary] = []
        self.filters = FilterBar(ctx, self.refresh)
        self.count = w.muted("")
        self.pull_button = ft.FilledButton(
            t("cases.pull"), icon=ft.Icons.DOWNLOAD, on_click=self.on_pull, key="pull"
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
            column_spacing=28,
        )
        self.more = ft.TextButton(t("cases.more"), on_click=self.on_more, visible=False)
        self.empty = w.muted(t("cases.none"))
        self.control = ft.Column(
            [
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
            ],
            spacing=12,
            scroll=ft.ScrollMode.AUTO,
            expand=True,
        )

    def load(self) -> None:
        try:
            self.filters.load_options()
        except Exception as exc:  # shown, never fatal for the screen
            self.show_error(exc)
        self.refresh()

    def refresh(self) -> None:
        ctx = self.ctx
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
        violations = ", ".join(
            ctx.service.option_label("violation_type", v, ctx.lang) for v in s.violation_types
        )
        region = ctx.service.option_label("region", s.region, ctx.lang) if s.region else "—"
        custody = w.verdict_pill(
            s.custody_ok, ctx.t("custody.ok_short" if s.custody_ok else "custody.problem_short")
        )
        return ft.DataRow(
            cells=[
                ft.DataCell(ft.Text(s.day or "—")),
                ft.DataCell(
                    ft.TextButton(
                        (s.title or ctx.t(f"type.{s.case_type}"))[:34],
                        on_click=lambda _e, cid=s.id: self.open(cid),
                        key=f"open-{s.id[:8]}",
                    )
                ),
                ft.DataCell(ft.Text(region)),
                ft.DataCell(ft.Text(violations[:26] or "—")),
                ft.DataCell(w.status_pill(ctx.status(s.status), s.status)),
                ft.DataCell(ft.Text(ctx.short(s.assignee) if s.assignee else "—")),
                ft.DataCell(ft.Text(ctx.short(s.device))),
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
            self.pull_status.value = ctx.t(
                "cases.pulled", envelopes=summary.envelopes, cases=summary.cases
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
