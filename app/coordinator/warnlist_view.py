"""The warn-list: people whose contacts victims were forced to give up, so the organisation can
warn them. One row per pseudonym (as the documenters typed it), the cases naming it (click to
open) and the newest case's date. Built by `service.warn_list()`; never exported."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.coordinator import widgets as w
from app.coordinator.context import ViewContext


class WarnListView:
    def __init__(self, ctx: ViewContext) -> None:
        self.ctx = ctx
        t = ctx.t
        self.error = w.banner("")
        self.table = ft.DataTable(
            columns=[
                ft.DataColumn(label=ft.Text(t("warnlist.col_pseudonym"))),
                ft.DataColumn(label=ft.Text(t("warnlist.col_cases"))),
                ft.DataColumn(label=ft.Text(t("warnlist.col_last"))),
            ],
            rows=[],
            key="warnlist-table",
        )
        self.empty = w.muted(t("warnlist.empty"))
        self.control = w.screen_column(
            w.title(t("warnlist.title")),
            w.muted(t("warnlist.hint")),
            self.error,
            w.card(self.table, self.empty),
        )

    def load(self) -> None:
        try:
            entries = self.ctx.service.warn_list()
        except Exception as exc:
            w.show_banner(self.error, self.ctx.error(exc))
            return
        self.table.rows = [
            ft.DataRow(
                cells=[
                    ft.DataCell(ft.Text(e.pseudonym, weight=ft.FontWeight.W_500)),
                    ft.DataCell(
                        ft.Row(
                            [
                                ft.TextButton(
                                    ref,
                                    on_click=lambda _e, cid=cid: self.open(cid),
                                    key=f"warn-case-{cid[:8]}",
                                )
                                for cid, ref in zip(e.cases, e.references, strict=True)
                            ],
                            wrap=True,
                            spacing=0,
                        )
                    ),
                    ft.DataCell(ft.Text(self.ctx.day(e.last) if e.last else "—")),
                ]
            )
            for e in entries
        ]
        self.table.visible = bool(entries)
        self.empty.visible = not entries

    def open(self, case_id: str, _e: Any = None) -> None:
        self.ctx.navigate("case", case_id)
