"""Alarms in the coordinator app: the red banner on every screen, the alerts view, the watcher.

- `AlertBanner(ctx, alerts, open_alerts)`: `.control` sits above every workspace screen; it is
  hidden while nothing is raised and shows the newest alarm (who, what, when) with a button to
  the alerts view. `show(active)` sets it from a list of raised alarms.
- `AlertsView(ctx, alerts)`: every alarm, newest first (active ones first), with the device,
  the preset message, the time, the location when sent, whether the phone wiped itself, and
  *Mark handled*; beside them the organisation's emergency plan in its own words, and an
  editor to publish a new one in the signed org document.
- `AlertWatcher(alerts, on_change)`: while unlocked, pulls every `POLL_SECONDS` (and checks
  check-in deadlines every `TICK_SECONDS` without the network) and calls `on_change(active)`
  when the set of active alarms changes. `run()` is the coroutine the page runs.
Labels are translated; the plan is shown as the organisation wrote it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import Any

import flet as ft

from app.coordinator import widgets as w
from app.coordinator.context import ViewContext
from app.services.coordinator_alerts import CoordinatorAlerts
from sync.coordinator.alerts import AlertError, RaisedAlert

POLL_SECONDS = float(os.environ.get("FIELDVAULT_ALERT_POLL", "30"))
TICK_SECONDS = 5.0
RED = ft.Colors.RED_800


def describe(ctx: ViewContext, alert: RaisedAlert) -> str:
    """One line: who, what, when (in the reader's language)."""
    what = ctx.t(f"alerts.message_{alert.message}") if alert.message else ""
    if alert.reason == "checkin_missed":
        return ctx.t(
            "alerts.line_missed", device=ctx.name(alert.device), time=ctx.when(alert.deadline)
        ) + (f" — {what}" if what else "")
    return ctx.t(
        "alerts.line_alarm", device=ctx.name(alert.device), time=ctx.when(alert.at), what=what
    )


class AlertBanner:
    def __init__(self, ctx: ViewContext, open_alerts: Callable[[], None]) -> None:
        self.ctx = ctx
        self.text = ft.Text("", color=ft.Colors.WHITE, weight=ft.FontWeight.BOLD, expand=True)
        self.button = ft.FilledButton(
            "",
            on_click=lambda _e: open_alerts(),
            key="alert-open",
            style=ft.ButtonStyle(bgcolor=ft.Colors.WHITE, color=RED),
        )
        self.control = ft.Container(
            ft.Row(
                [ft.Icon(ft.Icons.WARNING_ROUNDED, color=ft.Colors.WHITE), self.text, self.button],
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            ),
            bgcolor=RED,
            padding=ft.Padding(16, 10, 16, 10),
            visible=False,
            key="alert-banner",
        )

    def show(self, active: list[RaisedAlert]) -> None:
        self.control.visible = bool(active)
        self.button.content = self.ctx.t("alerts.open")
        if any(a.device not in self.ctx.names for a in active):
            self.ctx.load_names()  # a device admitted since the names were read
        if active:
            more = self.ctx.t("alerts.more", n=len(active) - 1) if len(active) > 1 else ""
            self.text.value = self.ctx.t("alerts.banner", line=describe(self.ctx, active[0])) + (
                f" {more}" if more else ""
            )


class AlertsView:
    def __init__(
        self,
        ctx: ViewContext,
        alerts: CoordinatorAlerts,
        changed: Callable[[], None] = lambda: None,
    ) -> None:
        self.ctx = ctx
        self.alerts = alerts
        self.changed = changed  # the banner follows at once
        t = ctx.t
        self.list = ft.Column([], spacing=10)
        self.plan_text = ft.Text("", key="alert-plan")  # plain: screen readers read it
        self.editor = ft.TextField(
            label=t("alerts.plan_edit"),
            width=720,
            multiline=True,
            min_lines=4,
            max_lines=12,
            autocorrect=False,
            enable_suggestions=False,
            key="alert-plan-edit",
        )
        self.status = w.banner("")
        self.control = ft.Column(
            [
                ft.Row(
                    [
                        w.title(t("alerts.title")),
                        w.button(
                            "outlined",
                            t("alerts.refresh"),
                            self.on_refresh,
                            "alert-refresh",
                            ft.Icons.REFRESH,
                        ),
                    ],
                    alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                ),
                self.status,
                self.list,
                w.card(w.heading(t("alerts.plan_title")), self.plan_text),
                w.hint_card(
                    t("alerts.plan_edit_title"),
                    t("alerts.plan_hint"),
                    self.editor,
                    w.button("filled", t("alerts.plan_publish"), self.on_publish, "alert-publish"),
                ),
            ],
            scroll=ft.ScrollMode.AUTO,
            expand=True,
        )

    def load(self) -> None:
        ctx = self.ctx
        ctx.load_names()
        plan = self.alerts.plan()
        self.plan_text.value = plan or ctx.t("alerts.plan_none")
        if not self.editor.value:
            self.editor.value = plan
        raised = self.alerts.raised()
        raised.sort(key=lambda a: (not a.active, -a.at))
        self.list.controls = [self._row(a) for a in raised] or [w.muted(ctx.t("alerts.none"))]

    def _row(self, alert: RaisedAlert) -> ft.Control:
        t = self.ctx.t
        facts: list[ft.Control] = [
            ft.Text(
                describe(self.ctx, alert),
                weight=ft.FontWeight.BOLD,
                color=RED if alert.active else None,
                size=16,
            )
        ]
        if alert.location:
            loc = alert.location
            facts.append(
                ft.Text(
                    t("alerts.location", lat=loc["lat"], lon=loc["lon"], m=loc.get("accuracy", 0))
                )
            )
        if alert.wiped:
            facts.append(w.muted(t("alerts.wiped")))
        if alert.seen_late:
            facts.append(w.muted(t("alerts.seen_late", time=self.ctx.when(alert.late_checkin))))
        elif alert.late_checkin:
            facts.append(w.muted(t("alerts.late", time=self.ctx.when(alert.late_checkin))))
        if alert.active:
            action: ft.Control = ft.FilledButton(
                t("alerts.handle"),
                on_click=lambda _e, i=alert.id: self.on_handle(i),
                key=f"alert-handle-{alert.id[:8]}",
            )
        else:
            action = w.muted(
                t(
                    "alerts.handled",
                    who=self.ctx.name(alert.handled_by),
                    time=self.ctx.when(alert.handled_at),
                )
            )
        return w.card(
            ft.Row(
                [ft.Column(facts, expand=True, spacing=4), action],
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            )
        )

    # ------------------------------------------------------------ handlers
    def on_refresh(self, _e: Any = None) -> None:
        def done(_active: Any) -> None:
            self.load()
            self.changed()
            self.ctx.port.refresh()

        self.ctx.port.run(self.alerts.refresh, done, self._failed)

    def on_handle(self, alert_id: str) -> None:
        try:
            self.alerts.handle(alert_id)
        except Exception as exc:
            w.show_banner(self.status, self.ctx.error(exc))
            return
        self.load()
        self.changed()

    def on_publish(self, _e: Any = None) -> None:
        ctx = self.ctx
        text = str(self.editor.value or "")

        def done(version: int) -> None:
            w.show_banner(self.status, ctx.t("alerts.plan_published", version=version), error=False)
            self.load()
            ctx.port.refresh()

        def publish() -> int:
            return self.alerts.publish_plan(text)

        try:
            from sync.coordinator.alerts import check_emergency_plan

            check_emergency_plan(text)
        except AlertError as exc:
            w.show_banner(self.status, ctx.t(f"alerts.error_{exc.reason}"))
            return
        ctx.port.run(publish, done, self._failed)

    def _failed(self, exc: BaseException) -> None:
        w.show_banner(self.status, self.ctx.error(exc))
        self.ctx.port.refresh()


class AlertWatcher:
    """Pulls and re-checks deadlines while the app runs; tells `on_change` what is active."""

    def __init__(
        self,
        alerts: CoordinatorAlerts,
        on_change: Callable[[list[RaisedAlert]], None],
        *,
        poll: float = POLL_SECONDS,
        tick: float = TICK_SECONDS,
    ) -> None:
        self.alerts = alerts
        self.on_change = on_change
        self.poll, self.tick = poll, tick
        self.shown: tuple[str, ...] | None = None

    def check(self, active: list[RaisedAlert]) -> None:
        ids = tuple(a.id for a in active)
        if ids != self.shown:
            self.shown = ids
            self.on_change(active)

    async def run(self) -> None:
        since_pull = self.poll  # pull at once after unlock
        while True:
            with contextlib.suppress(Exception):  # locked, offline: try again next time
                if since_pull >= self.poll:
                    since_pull = 0.0
                    active = await asyncio.to_thread(self.alerts.refresh)
                else:
                    active = await asyncio.to_thread(self.alerts.active)
                self.check(active)
            await asyncio.sleep(self.tick)
            since_pull += self.tick
