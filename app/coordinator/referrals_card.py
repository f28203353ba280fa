"""Settings card: the organisation's referral directory (trusted lawyers, doctors,
psychologists, shelters), published in the signed org document for every phone to read offline.

Adding or removing a contact publishes the whole directory again (`service.publish_referrals`,
needs the root key), off the UI thread; the result or the error shows in the card's banner.
"""

from __future__ import annotations

from typing import Any

import flet as ft

from app.coordinator import widgets as w
from app.coordinator.context import ViewContext
from app.ui.fields import list_arrow
from sync import referrals
from sync.referrals import Contact


def service_label(t: Any, service: str) -> str:
    return str(t(f"referrals.service_{service}"))


class ReferralsCard:
    def __init__(self, ctx: ViewContext) -> None:
        self.ctx = ctx
        t = ctx.t
        self.contacts: tuple[Contact, ...] = ()
        self.rows = ft.Column([], spacing=8, key="referrals-list")
        self.name = w.sensitive_field(t("referrals.name"), width=260, key="referral-name")
        self.service = ft.Dropdown(
            editable=True,  # a named text field for screen readers
            enable_filter=False,
            trailing_icon=list_arrow(self.ctx.t("list.open")),
            label=t("referrals.service"),
            width=200,
            value="lawyer",
            options=[
                ft.DropdownOption(key=s, text=service_label(t, s)) for s in referrals.SERVICES
            ],
            key="referral-service",
        )
        self.city = w.sensitive_field(t("referrals.city"), width=200, key="referral-city")
        self.languages = w.sensitive_field(
            t("referrals.languages"), width=160, hint_text="ru, ky", key="referral-languages"
        )
        self.reach = w.sensitive_field(
            t("referrals.reach"), multiline=True, min_lines=2, width=640, key="referral-reach"
        )
        self.status = w.banner("")
        self.control = w.hint_card(
            t("referrals.title"),
            t("referrals.hint"),
            self.rows,
            w.actions(self.name, self.service, self.city, self.languages),
            self.reach,
            w.button(
                "filled", t("referrals.add"), self.on_add, "referral-add", ft.Icons.PERSON_ADD_ALT
            ),
            self.status,
        )

    def load(self) -> None:
        try:
            self.contacts = self.ctx.service.referrals()
        except Exception as exc:
            w.show_banner(self.status, self.ctx.error(exc))
            return
        self.render()

    def render(self) -> None:
        t = self.ctx.t
        self.rows.controls = [self._row(c) for c in self.contacts] or [
            w.muted(t("referrals.empty"))
        ]

    def _row(self, c: Contact) -> ft.Control:
        facts = " · ".join(
            part
            for part in (service_label(self.ctx.t, c.service), c.city, ", ".join(c.languages))
            if part
        )
        return ft.Row(
            [
                ft.Column(
                    [
                        ft.Text(c.name, weight=ft.FontWeight.W_500),
                        w.muted(facts),
                        *([ft.Text(c.reach, size=13)] if c.reach else []),
                    ],
                    spacing=2,
                    expand=True,
                ),
                ft.IconButton(
                    ft.Icon(
                        ft.Icons.DELETE_OUTLINE, semantics_label=self.ctx.t("referrals.remove")
                    ),
                    tooltip=self.ctx.t("referrals.remove"),
                    on_click=lambda _e, ident=c.id: self.on_remove(ident),
                    key=f"referral-remove-{c.id}",
                ),
            ],
            vertical_alignment=ft.CrossAxisAlignment.START,
        )

    def _publish(self, contacts: list[dict[str, Any]], after: Any = None) -> None:
        ctx = self.ctx

        def done(version: int) -> None:
            if after:
                after()
            w.show_banner(self.status, ctx.t("referrals.published", version=version), error=False)
            self.load()

        ctx.port.run(
            lambda: ctx.service.publish_referrals(contacts),
            done,
            lambda e: w.show_banner(self.status, ctx.error(e)),
        )

    def on_add(self, _e: Any = None) -> None:
        name = (self.name.value or "").strip()
        if not name:
            w.show_banner(self.status, self.ctx.t("referrals.name_needed"))
            return
        new = {
            "id": referrals.new_id(name, [c.id for c in self.contacts]),
            "name": name,
            "service": self.service.value or "other",
            "city": (self.city.value or "").strip(),
            "languages": (self.languages.value or "").strip(),
            "reach": (self.reach.value or "").strip(),
        }

        def clear() -> None:
            self.name.value = self.city.value = self.languages.value = self.reach.value = ""

        self._publish([*(c.to_dict() for c in self.contacts), new], clear)

    def on_remove(self, ident: str) -> None:
        ctx = self.ctx
        kept = [c.to_dict() for c in self.contacts if c.id != ident]
        ctx.port.confirm(
            ctx.t("referrals.remove_title"),
            ctx.t("referrals.remove_confirm"),
            ctx.t("referrals.remove"),
            ctx.t("cancel"),
            lambda: self._publish(kept),
        )
