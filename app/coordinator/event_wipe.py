"""The devices screen's event wipe card: tag devices, then wipe every device of a tag at once.

`EventWipeSection(ctx, reload)`; `show(devices)` after each device list. A coordinator ticks the
devices taken to one event (a conference, a march), names the tag and applies it; each tag in
use is listed with its number of devices and an "event wipe" button. That button opens an
inline confirmation: the coordinator must type the tag itself or the number of devices it
reaches, and only then does `service.wipe_tag` post one signed wipe command per device. The
result says how many were ordered and names any the server refused.

Tags stay in this coordinator's vault (`app.services.coordinator_tags`); the server never sees
them. Danger: a wipe cannot be undone; the typed confirmation is the only guard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from app.coordinator import widgets as w
from app.coordinator.context import ViewContext
from app.services.coordinator_tags import TagWipe
from app.services.coordinator_types import DeviceInfo


class EventWipeSection:
    def __init__(self, ctx: ViewContext, reload: Callable[[], None]) -> None:
        self.ctx, self.reload = ctx, reload
        t = ctx.t
        self.devices: list[DeviceInfo] = []
        self.pending = ""  # the tag whose wipe awaits its typed confirmation
        self.error = w.banner("")
        self.result = w.banner("", error=False)
        self.tag = w.sensitive_field(t("devices.tag_name"), width=260, key="tag-name")
        self.checks = ft.Row([], wrap=True, spacing=4, run_spacing=0)
        self.tags = ft.Column([], spacing=4)
        self.refused = w.banner("")  # a wrong confirmation, said where it was typed
        self.warning = ft.Text("", color=ft.Colors.ERROR, weight=ft.FontWeight.W_600)
        self.confirmation = w.sensitive_field(
            t("devices.event_wipe_type"),
            width=320,
            on_change=lambda _e: setattr(self.refused, "visible", False),
            key="event-wipe-confirm",
        )
        self.confirm_box = ft.Container(
            ft.Column(
                [
                    self.warning,
                    self.confirmation,
                    self.refused,
                    ft.Row(
                        [
                            ft.FilledButton(
                                t("devices.event_wipe_go"),
                                icon=ft.Icons.DELETE_FOREVER,
                                style=ft.ButtonStyle(
                                    bgcolor=ft.Colors.ERROR, color=ft.Colors.ON_ERROR
                                ),
                                on_click=self.on_wipe,
                                key="event-wipe-go",
                            ),
                            ft.TextButton(t("cancel"), on_click=self.on_cancel),
                        ]
                    ),
                ],
                spacing=8,
            ),
            border=ft.Border.all(2, ft.Colors.ERROR),
            border_radius=8,
            padding=12,
            visible=False,
        )
        self.control = w.hint_card(
            t("devices.event_wipe_title"),
            t("devices.event_wipe_hint"),
            self.error,
            self.checks,
            w.actions(
                self.tag,
                w.button("tonal", t("devices.tag_apply"), self.on_tag, "tag-apply", ft.Icons.SELL),
            ),
            self.tags,
            self.confirm_box,
            self.result,
        )

    # ---- rendering
    def show(self, devices: list[DeviceInfo]) -> None:
        ctx, t = self.ctx, self.ctx.t
        self.devices = [d for d in devices if not d.revoked]
        try:
            tags_of = ctx.service.device_tags()
            in_use = ctx.service.all_tags()
        except Exception as exc:
            self.show_error(exc)
            return
        self.checks.controls = [
            ft.Checkbox(
                height=48,
                label=(d.label or t("names.unnamed", id=ctx.short(d.id)))
                + (f" · {', '.join(tags_of[d.id])}" if tags_of.get(d.id) else ""),
                data=d.id,
                key=f"tag-check-{d.id[:8]}",
            )
            for d in self.devices
        ]
        self.tags.controls = [self._tag_row(tag, count) for tag, count in in_use] or [
            w.muted(t("devices.no_tags"))
        ]

    def _tag_row(self, tag: str, count: int) -> ft.Control:
        t = self.ctx.t
        return ft.Row(
            [
                ft.Text(t("devices.tag_line", tag=tag, count=count), expand=True),
                ft.OutlinedButton(
                    t("devices.event_wipe", tag=tag),
                    icon=ft.Icons.PHONELINK_ERASE,
                    on_click=lambda _e, tg=tag: self.on_ask(tg),
                ),
            ],
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        )

    def show_error(self, exc: BaseException) -> None:
        self.error.content.value = self.ctx.error(exc)  # type: ignore[union-attr]
        self.error.visible = True

    # ---- handlers
    def on_tag(self, _e: Any = None) -> None:
        tag = (self.tag.value or "").strip()
        chosen = [str(c.data) for c in self.checks.controls if getattr(c, "value", False)]
        if not tag or not chosen:
            w.show_banner(self.error, self.ctx.t("devices.tag_needs"))
            return
        self.error.visible = False

        def done(_r: Any) -> None:
            self.tag.value = ""
            self.reload()

        self.ctx.port.run(lambda: self.ctx.service.tag_devices(chosen, tag), done, self.show_error)

    def on_ask(self, tag: str) -> None:
        """Show the inline confirmation for `tag`: what it reaches, and what to type."""
        self.error.visible = self.result.visible = self.refused.visible = False
        try:
            reached = self.ctx.service.tagged(tag, self.devices)
        except Exception as exc:
            self.show_error(exc)
            return
        self.pending = tag
        self.warning.value = self.ctx.t("devices.event_wipe_warning", tag=tag, count=len(reached))
        self.confirmation.value = ""
        self.confirm_box.visible = True

    def on_cancel(self, _e: Any = None) -> None:
        self.pending = ""
        self.confirm_box.visible = False

    def on_wipe(self, _e: Any = None) -> None:
        tag, typed = self.pending, (self.confirmation.value or "").strip()
        if not tag:
            return

        def done(result: TagWipe) -> None:
            t = self.ctx.t
            self.pending, self.confirm_box.visible = "", False
            text = t("devices.event_wipe_done", count=len(result.ordered), tag=result.tag)
            if result.failed:
                text += " " + t("devices.event_wipe_failed", count=len(result.failed))
            w.show_banner(self.result, text, error=bool(result.failed))
            self.reload()

        def refused(exc: BaseException) -> None:
            w.show_banner(self.refused, self.ctx.error(exc))

        self.refused.visible = False
        self.ctx.port.run(lambda: self.ctx.service.wipe_tag(tag, typed), done, refused)
