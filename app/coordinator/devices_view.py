"""Devices: invite (a short code to read aloud, the long code as selectable text and a QR image
made in memory), list, verify, revoke, wipe.

Each device shows whether it is in the roster: verified (its enrolment proof matched one of our
invites, or a coordinator verified it), not verified (its reports are kept aside, unread), or
key changed (the server now reports other keys for it; they are never used). Verifying by hand
asks the coordinator to compare the fingerprint with the phone. Revoking and wiping ask for
confirmation first; both are final for the device concerned. Devices taken to one event can be
tagged and wiped together, after the tag or their number is typed (`event_wipe`).
"""

from __future__ import annotations

import contextlib
from typing import Any

import flet as ft

from app.coordinator import widgets as w
from app.coordinator.context import ViewContext
from app.coordinator.event_wipe import EventWipeSection
from app.services.coordinator_types import DeviceInfo, Invite, OpenInvite

EXPIRY_CHOICES = (3600, 86400, 7 * 86400, 30 * 86400)


class DevicesView:
    def __init__(self, ctx: ViewContext) -> None:
        self.ctx = ctx
        t = ctx.t
        self.devices: list[DeviceInfo] = []
        self.invite: Invite | None = None
        self.label = w.sensitive_field(t("devices.invite_label"), width=260, key="invite-label")
        self.expiry = w.choice(
            t("devices.invite_expires"),
            t("list.open"),
            value=str(7 * 86400),
            width=200,
            options=[
                ft.DropdownOption(key=str(s), text=t(f"devices.expires_{s}"))
                for s in EXPIRY_CHOICES
            ],
        )
        self.invite_button = w.button(
            "filled", t("devices.invite"), self.on_invite, "invite", ft.Icons.QR_CODE
        )
        self._build_invite_box()
        self.open_invites = ft.Column([], spacing=4, key="open-invites")
        self.error = w.banner("")
        self.table = ft.DataTable(
            columns=[
                ft.DataColumn(label=ft.Text(t(f"devices.col_{c}")))
                for c in ("device", "last_seen", "envelopes", "chain", "state", "actions")
            ],
            rows=[],
            column_spacing=20,
        )
        self.empty = w.muted(t("devices.none"))
        self.event_wipe = EventWipeSection(ctx, self.load)
        self.control = ft.Column(
            [
                ft.Row(
                    [
                        w.title(t("devices.title")),
                        ft.TextButton(
                            t("refresh"), icon=ft.Icons.REFRESH, on_click=self.on_refresh
                        ),
                    ],
                    alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
                ),
                ft.Row([self.label, self.expiry, self.invite_button]),
                self.invite_box,
                self.open_invites,
                self.error,
                self.empty,
                ft.Row([self.table], scroll=ft.ScrollMode.AUTO),
                self.event_wipe.control,
            ],
            spacing=16,
            scroll=ft.ScrollMode.AUTO,
            expand=True,
        )

    def _build_invite_box(self) -> None:
        """The invite just made: its QR code, its long code and its short code, with copy
        buttons (hidden until there is one)."""
        t = self.ctx.t
        # Read-only text fields: the code can be selected and copied by hand, and a screen
        # reader announces it with its label (selectable Text hid it from the semantics tree).
        self.invite_code = ft.TextField(
            label=t("devices.invite_code"),
            read_only=True,
            multiline=True,
            text_size=14,
            text_style=ft.TextStyle(font_family="monospace"),
            key="invite-code",
        )
        self.copy_button = ft.TextButton(
            t("devices.copy_code"), icon=ft.Icons.CONTENT_COPY, key="invite-copy"
        )
        self.short_code = ft.TextField(
            label=t("devices.short_code"),
            read_only=True,
            text_size=24,
            text_style=ft.TextStyle(font_family="monospace", weight=ft.FontWeight.BOLD),
            width=320,
            key="invite-short-code",
        )
        self.short_server = w.muted("")
        self.copy_short_button = ft.TextButton(
            t("devices.copy_short_code"), icon=ft.Icons.CONTENT_COPY, key="invite-short-copy"
        )
        self.short_box = ft.Column(
            [self.short_code, self.short_server, self.copy_short_button], visible=False
        )
        self.invite_qr = ft.Image(
            src=b"",
            width=220,
            height=220,
            visible=False,
            semantics_label=t("devices.invite_qr"),
        )
        self.invite_box = w.hint_card(
            t("devices.invite_ready"),
            t("devices.invite_hint"),
            ft.Row(
                [
                    self.invite_qr,
                    ft.Container(
                        ft.Column([self.short_box, self.invite_code, self.copy_button]),
                        expand=True,
                    ),
                ],
                vertical_alignment=ft.CrossAxisAlignment.START,
            ),
        )
        self.invite_box.visible = False

    # ---- data
    def load(self) -> None:
        self.ctx.port.run(self.ctx.service.devices, self.show_devices, self.show_error)
        self.ctx.port.run(self.ctx.service.open_invites, self.show_invites, self.show_error)

    def show_invites(self, invites: list[OpenInvite]) -> None:
        t = self.ctx.t
        rows: list[ft.Control] = []
        if invites:
            rows.append(w.heading(t("devices.open_invites")))
        for invite in invites:
            what = t(
                "devices.open_invite",
                label=invite.label or t("devices.no_label"),
                expires=self.ctx.when(invite.expires_at),
            )
            rows.append(
                ft.Row(
                    [
                        ft.Text(what),
                        ft.TextButton(
                            t("devices.cancel_invite"),
                            on_click=lambda _e, i=invite.id: self.on_cancel_invite(i),
                            key=f"cancel-invite-{invite.id[:8]}",
                        ),
                    ]
                )
            )
        self.open_invites.controls = rows

    def on_cancel_invite(self, invite_id: str) -> None:
        def work() -> list[OpenInvite]:
            self.ctx.service.cancel_invite(invite_id)
            return self.ctx.service.open_invites()

        self.ctx.port.run(work, self.show_invites, self.show_error)

    def show_devices(self, devices: list[DeviceInfo]) -> None:
        self.devices = devices
        self.empty.visible = not devices
        self.table.rows = [self._row(d) for d in devices]
        self.event_wipe.show(devices)

    def show_error(self, exc: BaseException) -> None:
        self.error.content.value = self.ctx.error(exc)  # type: ignore[union-attr]
        self.error.visible = True

    def _row(self, d: DeviceInfo) -> ft.DataRow:
        ctx, t = self.ctx, self.ctx.t
        chain_ok = d.chain == "ok" and not d.problems
        chain_text = t(f"chain.{d.chain}") + (f" ({'; '.join(d.problems)})" if d.problems else "")
        if d.roster != "verified":
            state = t(f"devices.{d.roster}")
        elif d.revoked:
            state = t("devices.revoked")
        elif d.wipe != "none":
            state = t(f"devices.wipe_{d.wipe}")
        else:
            state = t("devices.active")
        verify = ft.TextButton(
            t("devices.verify"),
            on_click=lambda _e, i=d.id: self.on_verify(i),
            visible=d.roster == "unverified",
            key=f"verify-{d.id[:8]}",
        )
        actions = ft.Row(
            [
                verify,
                ft.TextButton(
                    t("devices.revoke"),
                    on_click=lambda _e, i=d.id: self.on_revoke(i),
                    disabled=d.revoked,
                    key=f"revoke-{d.id[:8]}",
                ),
                ft.TextButton(
                    t("devices.wipe"),
                    on_click=lambda _e, i=d.id: self.on_wipe(i),
                    disabled=d.wipe != "none",
                    key=f"wipe-{d.id[:8]}",
                ),
            ]
        )
        return ft.DataRow(
            cells=[
                ft.DataCell(
                    ft.Column(
                        [ft.Text(d.label), w.muted(ctx.short(d.id))]
                        if d.label
                        else [ft.Text(t("names.unnamed", id=ctx.short(d.id)))],
                        spacing=0,
                        tight=True,
                    ),
                    tooltip=d.id,
                ),
                ft.DataCell(ft.Text(ctx.when(d.last_seen))),
                ft.DataCell(ft.Text(str(d.envelopes))),
                ft.DataCell(w.verdict_pill(chain_ok, chain_text)),
                ft.DataCell(
                    w.verdict_pill(d.roster == "verified", state)
                    if d.roster != "verified"
                    else ft.Text(state)
                ),
                ft.DataCell(actions),
            ]
        )

    # ---- handlers
    def on_refresh(self, _e: Any = None) -> None:
        self.error.visible = False
        self.load()

    def on_invite(self, _e: Any = None) -> None:
        expires = int(self.expiry.value or 7 * 86400)
        label = (self.label.value or "").strip()
        self.error.visible = False

        def done(invite: Invite) -> None:
            self.invite = invite
            self.invite_code.value = invite.code
            self.short_code.value = invite.short_code
            self.short_server.value = self.ctx.t("devices.short_code_server", server=invite.server)
            self.short_box.visible = bool(invite.short_code)
            with contextlib.suppress(RuntimeError):  # no running page (a unit test)
                self.copy_button.action = ft.CopyToClipboard(invite.code)
                self.copy_short_button.action = ft.CopyToClipboard(invite.short_code)
            self.invite_qr.src = invite.qr_png
            self.invite_qr.visible = True
            self.invite_box.visible = True
            self.ctx.port.run(self.ctx.service.open_invites, self.show_invites, self.show_error)

        self.ctx.port.run(
            lambda: self.ctx.service.create_invite(expires, label), done, self.show_error
        )

    def _confirmed(self, action: str, device_id: str, work: Any) -> None:
        t = self.ctx.t
        device = next((d for d in self.devices if d.id == device_id), None)
        label = (device.label if device else "") or device_id[:8]
        raw = device.fingerprint if device else ""
        fingerprint = " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))

        def yes() -> None:
            self.ctx.port.run(work, lambda _r: self.load(), self.show_error)

        self.ctx.port.confirm(
            t(f"devices.confirm_{action}_title"),
            t(f"devices.confirm_{action}", device=label, fingerprint=fingerprint),
            t(f"devices.{action}"),
            t("cancel"),
            yes,
        )

    def on_verify(self, device_id: str) -> None:
        shown = next((d.fingerprint for d in self.devices if d.id == device_id), "")
        self._confirmed(
            "verify", device_id, lambda: self.ctx.service.confirm_device(device_id, shown)
        )

    def on_revoke(self, device_id: str) -> None:
        self._confirmed("revoke", device_id, lambda: self.ctx.service.revoke(device_id))

    def on_wipe(self, device_id: str) -> None:
        self._confirmed("wipe", device_id, lambda: self.ctx.service.wipe(device_id))
