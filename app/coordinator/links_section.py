"""The case view's links card: what the case names, the cases linked to it, merges.

`LinksSection(ctx, case_id, reload)` builds a card from `service.links(case_id)`:

- a merged report says which case it was merged into (open it, or undo the merge);
- a surviving case lists the reports merged into it, each readable in place (its fields in an
  expansion tile) and openable;
- the entities the case names (station, badge, unit, fake profile, place, pseudonymous victim),
  from the report or added by a coordinator, each removable, and a row to add one (a victim's
  name or number is turned into the organisation's pseudonym by the service; only that is sent);
- the linked cases, each with why (a shared entity or a link by hand), and a row to link this
  case to another or merge another report into it (after a confirmation).

Every change is one signed case event (`service.act` through the links methods); `reload`
re-reads the case afterwards. The view holds decrypted content in memory only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from app.coordinator import widgets as w
from app.coordinator.context import ViewContext
from core.cases import case_reference
from core.links import ENTITY_KINDS, CaseLinks, Entity, LinkedCase, short_pseudonym

CAPITALISED = ("station", "unit", "place")


def entity_text(ctx: ViewContext, kind: str, value: str, *, with_kind: bool = True) -> str:
    """An entity as people read it: "Station: ОВД Октябрьский", a victim as `V-1A2B3C4D`.
    `value` is the spelling people used; a normalised (all lower case) one gets a capital."""
    shown = short_pseudonym(value) if kind == "victim" else value
    if kind in CAPITALISED and shown and shown == shown.lower():
        shown = shown[:1].upper() + shown[1:]
    if kind == "badge" and not shown.startswith("№"):
        shown = "№ " + shown
    return (
        ctx.t("links.entity_line", kind=ctx.t(f"links.kind_{kind}"), value=shown)
        if with_kind
        else shown
    )


class LinksSection:
    def __init__(self, ctx: ViewContext, case_id: str, reload: Callable[[], None]) -> None:
        self.ctx, self.case_id, self.reload = ctx, case_id, reload
        t = ctx.t
        self.links: CaseLinks | None = None
        self.error = w.banner("")
        self.merge_line = ft.Column([], spacing=6)
        self.merged = ft.Column([], spacing=4)
        self.entities = ft.Row([], wrap=True, spacing=6, run_spacing=6)
        self.linked = ft.Column([], spacing=6)
        self.kind = w.choice(
            t("links.kind"),
            ctx.t("list.open"),
            width=260,
            value="station",
            options=[ft.DropdownOption(key=k, text=t(f"links.kind_{k}")) for k in ENTITY_KINDS],
            key="entity-kind",
        )
        self.value = w.sensitive_field(
            t("links.value"), expand=True, on_submit=self.on_add_entity, key="entity-value"
        )
        self.other = w.choice(
            t("links.other_case"),
            ctx.t("list.open"),
            enable_filter=True,
            expand=True,
            key="link-other",
        )
        self.note = w.sensitive_field(t("links.note"), expand=True, key="link-note")
        self.control = w.card(
            w.heading(t("links.title")),
            self.error,
            self.merge_line,
            self.merged,
            w.muted(t("links.entities")),
            self.entities,
            self.kind,
            ft.Row(
                [
                    self.value,
                    w.button(
                        "text",
                        t("links.add_entity"),
                        self.on_add_entity,
                        "entity-add",
                        ft.Icons.ADD,
                    ),
                ],
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            ),
            w.muted(t("links.linked")),
            self.linked,
            ft.Row([self.other]),
            ft.Row([self.note]),
            w.actions(
                w.button("outlined", t("links.link"), self.on_link, "link", ft.Icons.LINK),
                w.button("outlined", t("links.merge_here"), self.on_merge, "merge", ft.Icons.MERGE),
            ),
        )

    # ---- rendering
    def load(self) -> None:
        try:
            self.links = self.ctx.service.links(self.case_id)
            others = [s for s in self.ctx.service.cases() if s.id != self.case_id]
        except Exception as exc:
            self.show_error(exc)
            return
        self.error.visible = False
        self.other.options = [
            ft.DropdownOption(key=s.id, text=f"{s.reference} · {s.title_in(self.ctx.lang)}")
            for s in others
        ]
        self.render()

    def render(self) -> None:
        ctx, t, links = self.ctx, self.ctx.t, self.links
        if links is None:
            return
        self.merge_line.controls = []
        if links.merged_into:
            self.merge_line.controls = [
                w.banner(t("links.merged_into", case=case_reference(links.survivor)), error=False),
                w.actions(
                    w.button(
                        "text",
                        t("links.open_case"),
                        lambda _e: ctx.navigate("case", links.survivor),
                        "open-survivor",
                        ft.Icons.OPEN_IN_NEW,
                    ),
                    w.button(
                        "text",
                        t("links.unmerge"),
                        self.on_unmerge,
                        "unmerge",
                        ft.Icons.CALL_SPLIT,
                    ),
                ),
            ]
            for box in self.merge_line.controls[:1]:
                box.visible = True
        self.merged.controls = [self._merged(cid) for cid in links.merged]
        if links.merged:
            self.merged.controls.insert(
                0, w.muted(t("links.merged_reports", count=len(links.merged)))
            )
        self.entities.controls = [self._chip(e) for e in links.entities] or [
            w.muted(t("links.no_entities"))
        ]
        self.linked.controls = [self._linked(p) for p in links.linked] or [
            w.muted(t("links.no_links"))
        ]

    def _summary_text(self, case_id: str) -> str:
        try:
            summary = self.ctx.service.case(case_id, self.ctx.lang).summary
        except Exception:
            return case_reference(case_id)
        return f"{summary.reference} · {summary.title_in(self.ctx.lang)}"

    def _merged(self, case_id: str) -> ft.Control:
        """A merged report, readable here: its fields in an expansion tile."""
        ctx = self.ctx
        try:
            detail = ctx.service.case(case_id, ctx.lang)
            lines = [ft.Text(f"{f.label}: {f.value}", size=13) for f in detail.fields]
        except Exception as exc:
            lines = [w.muted(ctx.error(exc))]
        return ft.ExpansionTile(
            title=ft.Text(self._summary_text(case_id)),
            subtitle=ft.Text(ctx.t("links.merged_report"), size=12),
            controls=[
                *lines,
                ft.TextButton(
                    ctx.t("links.open_case"),
                    icon=ft.Icons.OPEN_IN_NEW,
                    on_click=lambda _e: ctx.navigate("case", case_id),
                ),
            ],
            key=f"merged-{case_id[:8]}",
        )

    def _chip(self, entity: Entity) -> ft.Control:
        t = self.ctx.t
        source = t("links.from_report" if entity.source == "report" else "links.from_coordinator")
        return w.removable_chip(
            ft.Text(entity_text(self.ctx, entity.kind, entity.shown or entity.value), size=13),
            ft.Text(f"· {source}", size=11, color=ft.Colors.ON_SURFACE_VARIANT),
            remove=t("links.remove_entity"),
            on_remove=lambda _e: self.on_remove_entity(entity),
            colour=ft.Colors.TERTIARY_CONTAINER,
            spacing=4,
        )

    def _linked(self, peer: LinkedCase) -> ft.Control:
        ctx, t = self.ctx, self.ctx.t
        case_id, reasons, note = peer.case_id, peer.reasons, peer.note
        shown = peer.shown or tuple(v for _k, v in reasons)
        why = [
            t("links.by_hand") if kind == "link" else entity_text(ctx, kind, text)
            for (kind, _value), text in zip(reasons, shown, strict=True)
        ]
        return ft.Container(
            ft.Column(
                [
                    ft.Row(
                        [
                            ft.Text(
                                self._summary_text(case_id), weight=ft.FontWeight.W_600, expand=True
                            ),
                            w.button(
                                "text",
                                t("links.open_case"),
                                lambda _e: ctx.navigate("case", case_id),
                                f"open-linked-{case_id[:8]}",
                            ),
                            ft.IconButton(
                                ft.Icon(ft.Icons.LINK_OFF, semantics_label=t("links.unlink")),
                                icon_size=16,
                                tooltip=t("links.unlink"),
                                on_click=lambda _e: self.on_unlink(case_id),
                                visible=("link", "") in reasons,
                            ),
                        ],
                        vertical_alignment=ft.CrossAxisAlignment.CENTER,
                    ),
                    w.muted(t("links.because", reasons="; ".join(why))),
                    *([ft.Text(note, size=13, italic=True)] if note else []),
                ],
                spacing=2,
            ),
            padding=8,
            border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            border_radius=8,
        )

    def show_error(self, exc: BaseException) -> None:
        self.error.content.value = self.ctx.error(exc)  # type: ignore[union-attr]
        self.error.visible = True

    # ---- handlers
    def _do(self, work: Callable[[], Any], after: Callable[[], None] | None = None) -> None:
        self.error.visible = False

        def done(_r: Any) -> None:
            if after:
                after()
            self.reload()

        self.ctx.port.run(work, done, self.show_error)

    def on_add_entity(self, _e: Any = None) -> None:
        kind, value = self.kind.value or "station", (self.value.value or "").strip()
        if value:
            self._do(
                lambda: self.ctx.service.add_entity(self.case_id, kind, value),
                after=lambda: setattr(self.value, "value", ""),
            )

    def on_remove_entity(self, entity: Entity) -> None:
        self._do(lambda: self.ctx.service.remove_entity(self.case_id, entity.kind, entity.value))

    def on_link(self, _e: Any = None) -> None:
        other, note = self.other.value or "", (self.note.value or "").strip()
        if other:

            def clear() -> None:
                self.other.value, self.note.value = None, ""

            self._do(lambda: self.ctx.service.link_cases(self.case_id, other, note), after=clear)

    def on_unlink(self, other: str) -> None:
        self._do(lambda: self.ctx.service.unlink_cases(self.case_id, other))

    def on_merge(self, _e: Any = None) -> None:
        other = self.other.value or ""
        if not other:
            return
        t = self.ctx.t
        self.ctx.port.confirm(
            t("links.confirm_merge_title"),
            t(
                "links.confirm_merge",
                other=case_reference(other),
                case=case_reference(self.case_id),
            ),
            t("links.merge_here"),
            t("links.cancel"),
            lambda: self._do(
                lambda: self.ctx.service.merge_cases(other, self.case_id),
                after=lambda: setattr(self.other, "value", None),
            ),
        )

    def on_unmerge(self, _e: Any = None) -> None:
        self._do(lambda: self.ctx.service.unmerge_case(self.case_id))
