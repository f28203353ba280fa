"""Case view parts: the case's consent as it stands (with a coordinator's withdrawal), and the
referral directory to refer the case to a trusted contact.

- `ConsentCard(ctx, case_id, on_changed)`: for each purpose (shared with the organisation,
  anonymised statistics, public advocacy) whether it is given, not given or withdrawn, and who
  withdrew it; ticking purposes and confirming records a signed `withdraw` case event, which
  every export honours from then on and nobody can undo.
- `DirectoryPicker(ctx, on_pick)`: a drop-down of the organisation's directory; picking a
  contact fills the referral (the case event then names the contact's id).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from app.coordinator import widgets as w
from app.coordinator.context import ViewContext
from app.coordinator.referrals_card import service_label
from app.ui.fields import list_arrow
from core.consent import PURPOSES, Standing
from sync.referrals import Contact


class ConsentCard:
    def __init__(self, ctx: ViewContext, case_id: str, on_changed: Callable[[], None]) -> None:
        self.ctx, self.case_id, self.on_changed = ctx, case_id, on_changed
        t = ctx.t
        self.standing: Standing | None = None
        self.lines = ft.Column([], spacing=4, key="consent-lines")
        self.boxes = {
            p: ft.Checkbox(label=t(f"consent.purpose_{p}"), key=f"withdraw-{p}", height=48)
            for p in PURPOSES
        }
        self.button = w.button(
            "outlined", t("consent.withdraw"), self.on_withdraw, "withdraw", ft.Icons.BLOCK
        )
        self.status = w.banner("")
        self.control = w.card(
            w.heading(t("consent.title")),
            self.lines,
            w.muted(t("consent.withdraw_hint")),
            ft.Row(list(self.boxes.values()), wrap=True, spacing=4),
            self.button,
            self.status,
        )

    def load(self) -> None:
        try:
            self.standing = self.ctx.service.consent(self.case_id)
        except Exception as exc:
            w.show_banner(self.status, self.ctx.error(exc))
            return
        self.render()

    def state_of(self, purpose: str) -> str:
        s = self.standing
        if s is None:
            return "not_given"
        if purpose in s.withdrawn or (purpose != "share_org" and "share_org" in s.withdrawn):
            return "withdrawn"
        if purpose in s.refused:
            return "not_given"
        if purpose == "share_org" and s.shared:
            return "given"
        return "given" if purpose in s.given else "not_given"

    def render(self) -> None:
        t = self.ctx.t
        rows: list[ft.Control] = []
        for p in PURPOSES:
            state = self.state_of(p)
            colour = {"given": ft.Colors.GREEN_800, "withdrawn": ft.Colors.RED_800}.get(
                state, ft.Colors.ON_SURFACE_VARIANT
            )
            rows.append(
                ft.Row(
                    [
                        ft.Text(t(f"consent.purpose_{p}"), expand=True),
                        ft.Text(
                            t(f"consent.{state}"),
                            color=colour,
                            weight=ft.FontWeight.W_500,
                            key=f"consent-{p}",
                        ),
                    ]
                )
            )
            box = self.boxes[p]
            box.value = False
            box.visible = state != "withdrawn"
        self.lines.controls = rows
        self.button.visible = any(b.visible for b in self.boxes.values())

    def on_withdraw(self, _e: Any = None) -> None:
        ctx = self.ctx
        chosen = [p for p, box in self.boxes.items() if box.visible and box.value]
        if not chosen:
            w.show_banner(self.status, ctx.t("consent.choose"))
            return

        def record() -> None:
            event = {"type": "withdraw", "purposes": " ".join(chosen)}
            ctx.port.run(
                lambda: ctx.service.act(self.case_id, event),
                lambda _r: self.on_changed(),
                lambda e: w.show_banner(self.status, ctx.error(e)),
            )

        named = ", ".join(ctx.t(f"consent.purpose_{p}") for p in chosen)
        ctx.port.confirm(
            ctx.t("consent.withdraw_title"),
            ctx.t("consent.withdraw_confirm", purposes=named),
            ctx.t("consent.withdraw"),
            ctx.t("cancel"),
            record,
        )


class DirectoryPicker:
    def __init__(self, ctx: ViewContext, on_pick: Callable[[Contact | None], None]) -> None:
        self.ctx, self.on_pick = ctx, on_pick
        self.contacts: tuple[Contact, ...] = ()
        self.control = ft.Dropdown(
            trailing_icon=list_arrow(ctx.t("list.open")),
            label=ctx.t("case.referral_directory"),
            editable=True,  # a text box screen readers announce with its label
            enable_filter=False,
            width=420,
            on_select=self._picked,
            key="referral-directory",
        )

    def load(self) -> None:
        try:
            self.contacts = self.ctx.service.referrals()
        except Exception:
            self.contacts = ()
        t = self.ctx.t
        self.control.options = [
            ft.DropdownOption(
                key=c.id,
                text=" · ".join(p for p in (c.name, service_label(t, c.service), c.city) if p),
            )
            for c in self.contacts
        ]
        self.control.visible = bool(self.contacts)

    def referral(self, r: Any, when: str) -> ft.Control:
        """One recorded referral: when and to whom, the contact's service and city when it is
        in the directory, and the note."""
        contact = next((c for c in self.contacts if r.contact and c.id == r.contact), None)
        facts = (
            " · ".join(p for p in (service_label(self.ctx.t, contact.service), contact.city) if p)
            if contact is not None
            else ""
        )
        lines: list[ft.Control] = [w.muted(f"{when} · {r.to}" + (f" ({facts})" if facts else ""))]
        lines.append(ft.Text(r.note or "—"))
        return ft.Column(lines, spacing=2)

    def chosen(self) -> Contact | None:
        return next((c for c in self.contacts if c.id == self.control.value), None)

    def clear(self) -> None:
        self.control.value = None

    def _picked(self, _e: Any = None) -> None:
        self.on_pick(self.chosen())
