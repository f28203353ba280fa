"""The dashboard: cases by month, violation type, perpetrator type and region, computed from
the same filters as the case list; and the linked-case counts, per police station and per named
perpetrator (badge, unit, fake profile), where a merged report counts once.

Months are a flet-charts bar chart with every month from the first to the last (empty ones at
0), labelled in the reader's language, with at most `MONTH_LABELS` labels so they never
overlap. Violation, perpetrator and region counts are labelled horizontal bars: their labels
are long words in four languages, and a label beside its bar can take two lines where one
under a narrow bar would run into its neighbours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import flet as ft
import flet_charts as fch

from app.casebook.dashboard import UNKNOWN, Dashboard
from app.coordinator import widgets as w
from app.coordinator.context import ViewContext
from app.coordinator.filters_view import FilterBar
from app.coordinator.links_section import entity_text

MAX_BARS = 12
MAX_MONTH_BARS = 36
MONTH_LABELS = 6
LABEL_WIDTH = 190
COLOURS = (ft.Colors.BLUE_400, ft.Colors.TEAL_400, ft.Colors.DEEP_ORANGE_400, ft.Colors.PURPLE_400)


def ranked_bars(
    items: Sequence[tuple[str, int]], colour: str, label: Callable[[str], str]
) -> ft.Column:
    """Largest first: each label beside its bar and its count, nothing to overlap."""
    shown = list(items)[:MAX_BARS]
    top = max((c for _, c in shown), default=0) or 1
    return ft.Column(
        [
            ft.Row(
                [
                    ft.Container(
                        ft.Text(label(name), size=13, max_lines=2, tooltip=label(name)),
                        width=LABEL_WIDTH,
                    ),
                    ft.Container(
                        ft.ProgressBar(
                            value=count / top,
                            color=colour,
                            bgcolor=ft.Colors.SURFACE_CONTAINER_HIGHEST,
                            bar_height=14,
                            border_radius=3,
                            semantics_label=label(name),
                        ),
                        expand=True,
                    ),
                    ft.Text(str(count), size=13, width=36, text_align=ft.TextAlign.END),
                ],
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            )
            for name, count in shown
        ],
        spacing=8,
    )


def bar_chart(
    items: Sequence[tuple[str, int]], colour: str, label: Callable[[str], str]
) -> fch.BarChart:
    """Months in order; one label every few bars so that labels never run into each other."""
    shown = list(items)[-MAX_MONTH_BARS:]
    top = max((c for _, c in shown), default=0)
    every = max(1, math.ceil(len(shown) / MONTH_LABELS))
    return fch.BarChart(
        groups=[
            fch.BarChartGroup(
                x=i,
                rods=[
                    fch.BarChartRod(
                        from_y=0,
                        to_y=count,
                        width=max(6, min(18, 360 // max(1, len(shown)))),
                        color=colour,
                        border_radius=3,
                        tooltip=f"{label(name)}: {count}",
                    )
                ],
            )
            for i, (name, count) in enumerate(shown)
        ],
        bottom_axis=fch.ChartAxis(
            labels=[
                fch.ChartAxisLabel(
                    value=i,
                    label=ft.Container(
                        ft.Text(label(name), size=11, text_align=ft.TextAlign.CENTER),
                        padding=ft.Padding(0, 6, 0, 0),
                    ),
                )
                for i, (name, _) in enumerate(shown)
                if i % every == 0
            ],
            label_size=40,
        ),
        left_axis=fch.ChartAxis(label_size=32, label_spacing=max(1, top // 5)),
        horizontal_grid_lines=fch.ChartGridLines(color=ft.Colors.OUTLINE_VARIANT, width=1),
        max_y=max(1, top + max(1, top // 10)),
        interactive=True,
        height=240,
        expand=True,
    )


class DashboardView:
    def __init__(self, ctx: ViewContext) -> None:
        self.ctx = ctx
        t = ctx.t
        self.board: Dashboard | None = None
        self.filters = FilterBar(ctx, self.refresh)
        self.total = w.heading("")
        self.left_out = w.muted("")
        self.left_out.visible = False
        self.error = w.banner("")
        self.grid = ft.ResponsiveRow([], spacing=16, run_spacing=16)
        self.control = w.screen_column(
            w.title(t("dashboard.title")),
            self.filters.control,
            self.error,
            self.total,
            self.left_out,
            self.grid,
        )

    def load(self) -> None:
        self.filters.load(self.show_error)

    def show_error(self, exc: BaseException) -> None:
        self.error.content.value = self.ctx.error(exc)  # type: ignore[union-attr]
        self.error.visible = True

    def _label(self, facet: str) -> Callable[[str], str]:
        ctx = self.ctx

        def label(value: str) -> str:
            if value == UNKNOWN:
                return ctx.t("dashboard.unknown")
            if facet == "month":
                return ctx.month(value)
            if facet == "entity":
                return value
            return ctx.service.option_label(facet, value, ctx.lang)

        return label

    def refresh(self) -> None:
        ctx, t = self.ctx, self.ctx.t
        try:
            board = ctx.service.dashboard(ctx.filters)
        except Exception as exc:
            self.show_error(exc)
            return
        self.board = board
        self.total.value = t("dashboard.total", count=board.total)
        self.left_out.value = t("dashboard.left_out", count=board.left_out)
        self.left_out.visible = board.left_out > 0
        panels = [
            ("dashboard.by_month", board.by_month, "month"),
            ("dashboard.by_violation", board.by_violation_type, "violation_type"),
            ("dashboard.by_perpetrator", board.by_perpetrator_type, "perpetrator_type"),
            ("dashboard.by_region", board.by_region, "region"),
        ]
        for key, counts in (
            ("dashboard.by_station", board.by_station),
            ("dashboard.by_named_perpetrator", board.by_perpetrator),
        ):
            if counts:  # only where the reports or coordinators named any
                panels.append((key, tuple(_entities(ctx, counts)), "entity"))
        self.grid.controls = [
            ft.Container(
                w.card(
                    w.heading(t(key)),
                    (bar_chart if facet == "month" else ranked_bars)(
                        items, COLOURS[i % len(COLOURS)], self._label(facet)
                    )
                    if items
                    else w.muted(t("dashboard.empty")),
                ),
                col={"sm": 12, "md": 6},
            )
            for i, (key, items, facet) in enumerate(panels)
        ]


def _entities(
    ctx: ViewContext, counts: Sequence[tuple[tuple[str, str], int]]
) -> list[tuple[str, int]]:
    """Entity counts as labelled items: a station by its name, others with their kind."""
    return [
        (entity_text(ctx, kind, value, with_kind=kind != "station"), n)
        for (kind, value), n in counts
    ]
