"""Settings cards for the organisation's keys and its independent timestamps.

- `PostQuantumCard`: says whether devices seal post-quantum; "Prepare" gives this coordinator
  hybrid keys and shows the signed key update code (`FVK1-…`) to give to the root holder;
  the root holder pastes every other coordinator's code and switches the organisation
  (`sync.coordinator.pq_switch`). Once switched, only the state is shown.
- `TimestampsCard`: the timestamping authorities every pull asks, the organisation's (in the
  signed org document, published with the root key) and this laptop's own; add and remove.

Both call the service off the UI thread (`ctx.port.run`) and report in their own banner.
"""

from __future__ import annotations

from typing import Any

import flet as ft

from app.coordinator import widgets as w
from app.coordinator.context import ViewContext
from app.services import timestamps


class PostQuantumCard:
    def __init__(self, ctx: ViewContext) -> None:
        self.ctx = ctx
        t = ctx.t
        self.state = ft.Text("", key="pq-state", weight=ft.FontWeight.W_500)
        self.code = ft.TextField(
            label=t("keys.pq_code"), read_only=True, multiline=True, visible=False, key="pq-code"
        )
        self.codes = ft.TextField(
            label=t("keys.pq_codes"), multiline=True, min_lines=2, max_lines=6, key="pq-codes"
        )
        self.status = w.banner("")
        self.steps = ft.Column(
            [
                w.muted(t("keys.pq_hint")),
                w.button(
                    "outlined", t("keys.pq_prepare"), self.on_prepare, "pq-prepare", ft.Icons.KEY
                ),
                self.code,
                self.codes,
                w.button(
                    "outlined", t("keys.pq_switch"), self.on_switch, "pq-switch", ft.Icons.SHIELD
                ),
            ],
            spacing=8,
        )
        self.control = w.card(w.heading(t("keys.pq_title")), self.state, self.steps, self.status)

    def load(self) -> None:
        post_quantum = self.ctx.service.info().post_quantum
        self.state.value = self.ctx.t("keys.pq_on" if post_quantum else "keys.pq_classic")
        self.steps.visible = not post_quantum

    def on_prepare(self, _e: Any = None) -> None:
        ctx = self.ctx

        def done(code: str) -> None:
            self.code.value, self.code.visible = code, True
            w.show_banner(self.status, ctx.t("keys.pq_prepared"), error=False)

        ctx.port.run(ctx.service.prepare_post_quantum, done, self._failed)

    def on_switch(self, _e: Any = None) -> None:
        ctx = self.ctx
        codes = (self.codes.value or "").split()

        def done(version: int) -> None:
            self.codes.value = ""
            w.show_banner(self.status, ctx.t("keys.pq_switched", version=version), error=False)
            self.load()

        def yes() -> None:
            ctx.port.run(lambda: ctx.service.switch_to_post_quantum(codes), done, self._failed)

        ctx.port.confirm(
            ctx.t("keys.pq_confirm_title"),
            ctx.t("keys.pq_confirm"),
            ctx.t("keys.pq_switch"),
            ctx.t("cancel"),
            yes,
        )

    def _failed(self, exc: BaseException) -> None:
        if getattr(exc, "reason", "") == "missing_key_updates":
            text = self.ctx.t("keys.pq_missing", names=getattr(exc, "detail", ""))
        else:
            text = self.ctx.error(exc)
        w.show_banner(self.status, text)


class TimestampsCard:
    def __init__(self, ctx: ViewContext) -> None:
        self.ctx = ctx
        t = ctx.t
        self.rows = ft.Column([], spacing=4, key="tsa-list")
        self.url = ft.TextField(label=t("tsa.url"), width=420, key="tsa-url")
        self.ca = ft.TextField(
            label=t("tsa.ca"), multiline=True, min_lines=1, max_lines=4, width=420, key="tsa-ca"
        )
        self.for_org = ft.Checkbox(label=t("tsa.for_org"), key="tsa-org", height=48)
        self.status = w.banner("")
        self.control = w.hint_card(
            t("tsa.title"),
            t("tsa.hint"),
            self.rows,
            self.url,
            self.ca,
            self.for_org,
            w.button("outlined", t("tsa.add"), self.on_add, "tsa-add", ft.Icons.ADD),
            self.status,
        )

    def load(self) -> None:
        t, service = self.ctx.t, self.ctx.service
        listed = [(a, True) for a in service.org_timestamp_authorities()]
        listed += [(a, False) for a in service.timestamp_authorities()]
        self.rows.controls = [self._row(a, org) for a, org in listed] or [w.muted(t("tsa.none"))]

    def _row(self, authority: timestamps.Authority, org: bool) -> ft.Control:
        t = self.ctx.t
        facts = " · ".join(
            [
                t("tsa.from_org" if org else "tsa.from_laptop"),
                t("tsa.ca_checked" if authority.ca_pem else "tsa.no_ca"),
            ]
        )
        return ft.Row(
            [
                ft.Text(authority.url, selectable=True, expand=True),
                ft.Text(facts),
                ft.IconButton(
                    ft.Icon(ft.Icons.DELETE_OUTLINE, semantics_label=t("tsa.remove")),
                    tooltip=t("tsa.remove"),
                    on_click=lambda _e, a=authority, o=org: self.on_remove(a, o),
                    key=f"tsa-remove-{'org' if org else 'own'}-{authority.url}",
                ),
            ]
        )

    def on_add(self, _e: Any = None) -> None:
        ctx = self.ctx
        try:
            authority = timestamps.check_authority(self.url.value or "", self.ca.value or "")
        except ValueError:
            w.show_banner(self.status, ctx.t("tsa.invalid"))
            return
        org = bool(self.for_org.value)
        current = self._listed(org)
        chosen = [a for a in current if a.url != authority.url] + [authority]
        self._save(chosen, org, after=lambda: self._cleared())

    def on_remove(self, authority: timestamps.Authority, org: bool) -> None:
        self._save([a for a in self._listed(org) if a.url != authority.url], org)

    def _listed(self, org: bool) -> list[timestamps.Authority]:
        service = self.ctx.service
        return service.org_timestamp_authorities() if org else service.timestamp_authorities()

    def _cleared(self) -> None:
        self.url.value = self.ca.value = ""

    def _save(self, chosen: list[timestamps.Authority], org: bool, after: Any = None) -> None:
        ctx = self.ctx

        def save() -> None:
            if org:
                ctx.service.publish_org_timestamp_authorities(chosen)
            else:
                ctx.service.set_timestamp_authorities(chosen)

        def done(_result: Any) -> None:
            if after is not None:
                after()
            w.show_banner(self.status, ctx.t("tsa.saved"), error=False)
            self.load()

        ctx.port.run(save, done, lambda exc: w.show_banner(self.status, ctx.error(exc)))
