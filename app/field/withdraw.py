"""Withdrawing consent about a report already sent (even one forgotten after sending: its
reference is all the phone keeps, and all the withdrawal needs).

The documenter ticks what the victim no longer agrees to, reads what it means and confirms;
`service.withdraw_consent` seals a withdrawal only this phone can sign, sent at the next sync.
Every export at the organisation honours it from then on; it cannot be undone from the phone or
anywhere else (a victim who agrees again makes a new report). Purposes already withdrawn are
shown as such and not offered again.
"""

from __future__ import annotations

from typing import Any

import flet as ft

from app.field.context import FieldContext, Screen
from app.field.widgets import big_button, hint, toggle_row
from app.ui.banner import ErrorBanner
from core.cases import case_reference
from core.consent import PURPOSES


class WithdrawScreen:
    def __init__(self, ctx: FieldContext, incident_id: str) -> None:
        self.ctx = ctx
        self.incident_id = incident_id
        self.banner = ErrorBanner()
        self.confirming = False
        self.done = False
        self.boxes = {p: ft.Checkbox(data=f"withdraw-{p}") for p in PURPOSES}

    def _withdrawn(self) -> tuple[str, ...]:
        found = [i for i in self.ctx.service.list_incidents() if i.id == self.incident_id]
        return found[0].withdrawn if found else ()

    def build(self) -> Screen:
        t = self.ctx.t
        withdrawn = self._withdrawn()
        body: list[ft.Control] = [
            self.banner,
            ft.Text(
                t("withdraw.heading", reference=case_reference(self.incident_id)),
                size=18,
                weight=ft.FontWeight.W_500,
            ),
            hint(t("withdraw.hint")),
        ]
        for purpose, box in self.boxes.items():
            label = t(f"withdraw.purpose_{purpose}")
            if purpose in withdrawn:
                body.append(hint(f"{label}: {t('withdraw.already')}", data=f"withdrawn-{purpose}"))
            else:
                box.on_change = self.on_tick
                body.append(toggle_row(box, label, data=f"withdraw-row-{purpose}"))
        if self.done:
            body.append(hint(t("withdraw.done"), data="withdraw-done"))
        elif self.confirming:
            body += [
                ft.Text(t("withdraw.confirm"), size=15, color=ft.Colors.RED_800),
                big_button(
                    t("withdraw.button"), self.withdraw, data="withdraw-confirm", danger=True
                ),
            ]
        else:
            body.append(
                big_button(t("withdraw.next"), self.next, data="withdraw-next", filled=False)
            )
        return Screen(t("withdraw.title"), body, back="incidents")

    def chosen(self) -> list[str]:
        withdrawn = self._withdrawn()
        return [p for p, box in self.boxes.items() if box.value and p not in withdrawn]

    def on_tick(self, _e: Any = None) -> None:
        self.confirming = False
        self.ctx.nav.touch()

    def next(self, _e: Any = None) -> None:
        if not self.chosen():
            self.banner.show(self.ctx.t("error.invalid_purpose"))
            return
        self.banner.clear()
        self.confirming = True
        self.ctx.nav.refresh()

    async def withdraw(self, _e: Any = None) -> None:
        chosen = self.chosen()
        withdraw = self.ctx.service.withdraw_consent
        if not await self.ctx.attempt_off_ui(self.banner, withdraw, self.incident_id, chosen):
            return
        self.confirming, self.done = False, True
        for box in self.boxes.values():
            box.value = False
        self.ctx.nav.refresh()
        self.ctx.nav.sync_now()

    def on_lock(self) -> None:
        pass
