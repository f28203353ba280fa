"""The organisation's referral directory on the phone: trusted lawyers, doctors, psychologists
and shelters, with how to reach each safely. Read from the signed org document the phone already
holds (`service.referrals()`), so it opens offline; nothing is sent or fetched here."""

from __future__ import annotations

import flet as ft

from app.field.context import FieldContext, Screen
from app.field.widgets import hint
from sync.referrals import Contact

SERVICE_ICONS = {
    "lawyer": ft.Icons.GAVEL,
    "doctor": ft.Icons.LOCAL_HOSPITAL_OUTLINED,
    "psychologist": ft.Icons.PSYCHOLOGY_OUTLINED,
    "shelter": ft.Icons.HOUSE_OUTLINED,
    "other": ft.Icons.VOLUNTEER_ACTIVISM_OUTLINED,
}


class DirectoryScreen:
    def __init__(self, ctx: FieldContext) -> None:
        self.ctx = ctx

    def build(self) -> Screen:
        t = self.ctx.t
        contacts = self.ctx.service.referrals()
        body: list[ft.Control] = [hint(t("directory.hint"))]
        body += [self._card(c) for c in contacts] or [
            hint(t("directory.empty"), data="directory-empty")
        ]
        return Screen(t("directory.title"), body, back="incidents")

    def _card(self, c: Contact) -> ft.Control:
        t = self.ctx.t
        facts = " · ".join(p for p in (t(f"directory.service_{c.service}"), c.city) if p)
        lines: list[ft.Control] = [
            ft.Row(
                [
                    ft.Icon(SERVICE_ICONS.get(c.service, ft.Icons.HELP_OUTLINE)),
                    ft.Text(c.name, size=16, weight=ft.FontWeight.W_500, expand=True),
                ]
            ),
            hint(facts),
        ]
        if c.languages:
            lines.append(hint(t("directory.languages", languages=", ".join(c.languages))))
        if c.reach:
            lines.append(ft.Text(c.reach, size=15))
        return ft.Container(
            ft.Column(lines, spacing=4),
            padding=12,
            border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            border_radius=10,
            data=f"contact-{c.id}",
        )

    def on_lock(self) -> None:
        pass
