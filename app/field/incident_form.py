"""A new or existing incident, rendered from the organisation's form definition.

Every field type of `core.forms` has a control here; conditional fields appear and disappear as
answers change; validation messages come from the catalogue. "Save draft" works at any time
and never validates; "Send" validates, then queues the incident for the organisation. When
Send finds answers to fix, the screen scrolls to the first one and focuses it, and says how
many there are both at the top and beside the Send button.

What is typed is autosaved as an encrypted draft (`app.field.drafts`): a pause in typing,
leaving the screen (Back, a tab) and locking all keep it, without asking. Saving or sending
forgets the draft. Opening an incident that has a draft continues the draft.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from collections.abc import Callable
from typing import Any

import flet as ft

from app.field.attachments import AttachmentsPanel
from app.field.context import FieldContext, Screen
from app.field.drafts import DraftKeeper
from app.field.widgets import (
    big_button,
    heading,
    hint,
    refresh,
    scroll_key,
    status_chip,
    toggle_row,
)
from app.services.field_types import FormInvalid, NotFound
from app.ui.banner import ErrorBanner
from app.ui.fields import DateInput, TimeInput, list_arrow, sensitive_field, unseen_label
from core import forms, links
from core.forms import Field, Option

COUNTRIES = ("kg", "kz", "other")
INLINE_LABEL_TYPES = ("text", "long_text", "number", "single_choice")
INLINE_LABEL_MAX = 34  # longer labels are cut inside a phone-width field: shown above it


class IncidentFormScreen:
    def __init__(
        self, ctx: FieldContext, incident_id: str | None = None, draft_id: str | None = None
    ) -> None:
        self.ctx = ctx
        draft = None
        if draft_id:
            with contextlib.suppress(NotFound):  # discarded meanwhile: a new form
                draft = ctx.service.get_draft(draft_id)
        if draft is not None:
            incident_id = draft.target or None
        elif incident_id is not None:  # an unsaved edit of this incident: continue it
            draft = next(
                (d for d in ctx.service.list_drafts("incident") if d.target == incident_id), None
            )
        self.form = ctx.service.form()
        self.status = "draft"
        self.status_reason = ""
        self.answers: dict[str, Any] = {}
        if incident_id is not None:
            try:
                incident = ctx.service.get_incident(incident_id)
            except NotFound:
                if draft is None:
                    raise
                incident_id = None  # sent and forgotten since: the draft becomes a new report
            else:
                self.answers = dict(incident.answers)
                self.status, self.status_reason = incident.status, incident.status_reason
        self.incident_id = incident_id
        if draft is not None and isinstance(draft.content.get("answers"), dict):
            self.answers = dict(draft.content["answers"])
        self.drafts = DraftKeeper(
            ctx,
            "incident",
            lambda: {"answers": self.answers},
            target=incident_id or "",
            draft_id=draft.id if draft is not None else None,
        )
        self.errors: dict[str, str] = {}
        self.dirty = False
        self.confirm_delete = False
        self.banner = ErrorBanner()
        self.send_banner = ErrorBanner()  # the same count, beside the Send button
        self.raw_numbers: dict[str, str] = {}
        self.date_parts: dict[str, list[str]] = {}
        self.region_country: dict[str, str] = {}
        self.panels: dict[str, AttachmentsPanel] = {}
        self.controls: dict[str, ft.Control] = {}
        self.fields_column = ft.Column([], spacing=14)
        self.controllers = {f.show_if.field for f in self.form.fields if f.show_if is not None}

    # ------------------------------------------------------------ build
    def build(self) -> Screen:
        t = self.ctx.t
        self._render_fields()
        buttons: list[ft.Control] = [
            big_button(t("form.save_draft"), self.save_draft, data="form-draft", filled=False),
            self.send_banner,
            big_button(t("form.send"), self.submit, data="form-send", icon=ft.Icons.SEND),
        ]
        if self.incident_id is not None:
            buttons.append(
                big_button(
                    t("form.messages"),
                    self.open_messages,
                    data="form-messages",
                    filled=False,
                    icon=ft.Icons.CHAT_OUTLINED,
                )
            )
            self.delete_row = big_button(
                t("form.delete_confirm") if self.confirm_delete else t("form.delete"),
                self.delete,
                data="form-delete",
                filled=self.confirm_delete,
                danger=self.confirm_delete,
                icon=ft.Icons.DELETE_OUTLINE,
            )
            buttons.append(self.delete_row)
        head: list[ft.Control] = []
        if self.incident_id is not None:
            head.append(ft.Row([status_chip(self.ctx, self.status, self.status_reason)]))
        title = t("form.edit_title") if self.incident_id else t("form.new_title")
        body = [*head, self.banner, self.fields_column, *buttons]
        return Screen(title, body, back="incidents")

    def _render_fields(self) -> None:
        lang = self.ctx.tr.lang
        controls: list[ft.Control] = []
        visible = {f.id for f in forms.visible_fields(self.form, self.answers)}
        for section in self.form.sections:
            shown = [f for f in section.fields if f.id in visible]
            if not shown:
                continue
            controls.append(heading(forms.label(section.labels, lang)))
            for field in shown:
                controls.append(self._field_block(field))
        self.fields_column.controls = controls

    def _field_block(self, field: Field) -> ft.Control:
        lang = self.ctx.tr.lang
        label = forms.label(field.labels, lang) + (" *" if field.required else "")
        parts: list[ft.Control] = []
        inline = field.type in INLINE_LABEL_TYPES and len(label) <= INLINE_LABEL_MAX
        control = self._control(field, label if inline else "")
        self.controls[field.id] = control
        if not inline:
            parts.append(ft.Text(label, size=16, weight=ft.FontWeight.W_500))
            if isinstance(control, ft.TextField | ft.Dropdown) and not control.label:
                control.label = unseen_label(label)  # its name for screen readers
        for dropdown in _dropdowns(control):
            dropdown.trailing_icon = list_arrow(self.ctx.t("list.open"))
        parts.append(control)
        if field.help:
            parts.append(hint(forms.label(field.help, lang)))
        error = self.errors.get(field.id)
        if error:
            parts.append(
                ft.Text(
                    self.ctx.t(error), color=ft.Colors.RED_800, size=14, data=f"error-{field.id}"
                )
            )
            # where `scroll_to` finds it: a sibling, never an ancestor of the field (in Flet
            # 1.0.5 a scroll key on a text field or around it stops `focus()` from working)
            parts.insert(0, ft.Container(height=0, key=scroll_key(f"field-{field.id}")))
        return ft.Column(parts, spacing=4, data=f"field-{field.id}")

    def _control(self, field: Field, label: str) -> ft.Control:
        """The input for one field, by its type; `label` is "" when it is shown above it."""
        if field.type in ("date", "datetime"):
            return self._when_control(field)
        if field.type == "region":
            return self._region_control(field)
        build = _BUILDERS.get(field.type)
        if build is None:  # pragma: no cover - parse_form admits only known types
            return ft.Text(field.type)
        return build(self, field, label or None, self.answers.get(field.id))

    def _text_control(self, field: Field, label: str | None, value: Any) -> ft.Control:
        long = field.type == "long_text"
        return sensitive_field(
            label=label,
            value=value if isinstance(value, str) else "",
            multiline=long,
            min_lines=4 if long else 1,
            max_lines=12 if long else 1,
            on_change=self._set_text(field.id),
            data=f"input-{field.id}",
        )

    def _pseudonym_control(self, field: Field, label: str | None, value: Any) -> ft.Control:
        t = self.ctx.t
        kept = str(value) if links.is_pseudonym(value) else ""
        return sensitive_field(
            label=label,
            value="" if kept else (value if isinstance(value, str) else ""),
            helper=t("form.pseudonym_kept", ref=links.short_pseudonym(kept))
            if kept
            else t("form.pseudonym_hint"),
            keyboard_type=ft.KeyboardType.TEXT,
            on_change=self._set_pseudonym(field.id, kept),
            data=f"input-{field.id}",
        )

    def _number_control(self, field: Field, label: str | None, value: Any) -> ft.Control:
        fid = field.id
        raw = self.raw_numbers.get(fid, "" if value is None else str(value))
        return sensitive_field(
            label=label,
            value=raw,
            keyboard_type=ft.KeyboardType.NUMBER,
            input_filter=ft.InputFilter(regex_string=r"^-?[0-9 ]*$", allow=True),
            on_change=self._set_number(fid),
            data=f"input-{fid}",
        )

    def _choice_control(self, field: Field, label: str | None, value: Any) -> ft.Control:
        lang = self.ctx.tr.lang
        return ft.Dropdown(
            label=label,
            editable=True,
            enable_filter=True,
            value=value if isinstance(value, str) else None,
            options=[
                ft.DropdownOption(key=o.value, text=forms.label(o.labels, lang))
                for o in field.options
            ],
            on_select=self._set_choice(field.id),
            data=f"input-{field.id}",
            expand=True,
            menu_height=360,
        )

    def _multi_choice_control(self, field: Field, _label: str | None, value: Any) -> ft.Control:
        fid = field.id
        chosen = value if isinstance(value, list) else []
        return self._option_toggles(
            field,
            lambda o: ft.Checkbox(
                value=o.value in chosen,
                on_change=self._toggle(fid, o.value),
                data=f"input-{fid}-{o.value}",
            ),
            spacing=0,
        )

    def _yes_no_control(self, field: Field, _label: str | None, value: Any) -> ft.Control:
        t = self.ctx.t
        fid = field.id
        return ft.RadioGroup(
            ft.Row(
                [
                    ft.Container(  # 48 dp targets
                        ft.Radio(value="yes", label=t("common.yes"), data=f"input-{fid}-yes"),
                        height=48,
                    ),
                    ft.Container(
                        ft.Radio(value="no", label=t("common.no"), data=f"input-{fid}-no"),
                        height=48,
                    ),
                ]
            ),
            value=None if value is None else ("yes" if value else "no"),
            on_change=self._set_yes_no(fid),
        )

    def _consent_control(self, field: Field, _label: str | None, value: Any) -> ft.Control:
        """Every option answered (off unless given): the form is sent with each one."""
        fid = field.id
        given = value if isinstance(value, dict) else {}
        consent = {o.value: bool(given.get(o.value, False)) for o in field.options}
        self.answers[fid] = consent
        return self._option_toggles(
            field,
            lambda o: ft.Switch(
                value=consent[o.value],
                on_change=self._set_consent(fid, o.value),
                data=f"input-{fid}-{o.value}",
            ),
            spacing=4,
        )

    def _option_toggles(
        self, field: Field, toggle: Callable[[Option], ft.Switch | ft.Checkbox], *, spacing: int
    ) -> ft.Column:
        """One labelled checkbox or switch (`toggle(option)`) a line, in the form's order."""
        lang = self.ctx.tr.lang
        return ft.Column(
            [toggle_row(toggle(o), forms.label(o.labels, lang)) for o in field.options],
            spacing=spacing,
        )

    def _attachments_control(self, field: Field, _label: str | None, value: Any) -> ft.Control:
        fid = field.id
        ids = value if isinstance(value, list) else []
        panel = self.panels.get(fid) or AttachmentsPanel(self.ctx, ids, self._set_attachments(fid))
        self.panels[fid] = panel
        return panel.control

    def _when_control(self, field: Field) -> ft.Control:
        fid = field.id
        t = self.ctx.t
        value = self.answers.get(fid)
        parts = self.date_parts.get(fid)
        if parts is None:
            text = value if isinstance(value, str) else ""
            parts = [text[:10], text[11:16] if field.type == "datetime" else ""]
            self.date_parts[fid] = parts
        # (input, label, picker's name, error, data suffix, share of the row) for each part
        kinds: list[tuple[type[DateInput | TimeInput], str, str, str, str, int]] = [
            (DateInput, "form.date", "date.pick", "form.error.bad_date", "date", 3)
        ]
        if field.type == "datetime":
            kinds.append((TimeInput, "form.time", "date.pick_time", "date.bad_time", "time", 2))
        row: list[ft.Control] = [
            kind(
                label=t(label),
                lang=self.ctx.tr.lang,
                value=parts[index],
                on_change=self._set_when_text(fid, index, field.type),  # bound per part
                pick_label=t(pick),
                error_text=t(error),
                data=f"input-{fid}-{suffix}",
                expand=share,
            ).control
            for index, (kind, label, pick, error, suffix, share) in enumerate(kinds)
        ]
        now = ft.TextButton(
            t("form.now"), on_click=self._now(fid, field.type), data=f"input-{fid}-now", height=48
        )
        return ft.Column([ft.Row(row), now], spacing=2)

    def _region_control(self, field: Field) -> ft.Control:
        fid = field.id
        lang = self.ctx.tr.lang
        t = self.ctx.t
        value = self.answers.get(fid)
        selected = field.option(value) if isinstance(value, str) else None
        country = self.region_country.get(fid) or (selected.group if selected else "")
        groups = [g for g in COUNTRIES if any(o.group == g for o in field.options)]
        country_dd = ft.Dropdown(
            label=t("form.country"),
            editable=True,
            enable_filter=True,
            value=country or None,
            options=[ft.DropdownOption(key=g, text=t(f"country.{g}")) for g in groups],
            on_select=self._set_country(fid),
            data=f"input-{fid}-country",
            expand=True,
        )
        controls: list[ft.Control] = [country_dd]
        if country:
            controls.append(
                ft.Dropdown(
                    label=t("form.region"),
                    editable=True,
                    enable_filter=True,
                    value=selected.value if selected else None,
                    options=[
                        ft.DropdownOption(key=o.value, text=forms.label(o.labels, lang))
                        for o in field.options
                        if o.group == country
                    ],
                    on_select=self._set_choice(fid),
                    data=f"input-{fid}",
                    expand=True,
                    menu_height=360,
                )
            )
        return ft.Column(controls, spacing=8)

    # ------------------------------------------------------------ answer handlers
    def _changed(self, fid: str = "", *, rerender: bool = False) -> None:
        """Remember an edit; redraw the fields only if another field's `show_if` depends on it."""
        self.dirty = True
        self.ctx.nav.touch()
        self.drafts.changed()
        if rerender or fid in self.controllers:
            self._render_fields()

    def _set_text(self, fid: str) -> Callable[[Any], None]:
        def handler(e: Any) -> None:
            self.answers[fid] = str(e.control.value or "")
            self._changed()

        return handler

    def _set_pseudonym(self, fid: str, kept: str) -> Callable[[Any], None]:
        """What is typed replaces the pseudonym kept; an empty field keeps it. The service
        turns the typed name or number into a pseudonym before storing anything."""

        def handler(e: Any) -> None:
            typed = str(e.control.value or "")
            self.answers[fid] = typed if typed.strip() or not kept else kept
            self._changed()

        return handler

    def _set_number(self, fid: str) -> Callable[[Any], None]:
        def handler(e: Any) -> None:
            raw = str(e.control.value or "")
            self.raw_numbers[fid] = raw
            number = forms.parse_number(raw)
            self.answers[fid] = number if number is not None else (raw if raw.strip() else None)
            self._changed()

        return handler

    def _set_when(self, fid: str, index: int, kind: str) -> Callable[[Any], None]:
        def handler(e: Any) -> None:
            parts = self.date_parts.setdefault(fid, ["", ""])
            parts[index] = str(e.control.value or "").strip()
            self._store_when(fid, kind)
            self._changed()

        return handler

    def _set_when_text(self, fid: str, index: int, kind: str) -> Callable[[str], None]:
        """For `DateInput`/`TimeInput`: the stored form (ISO date, HH:MM) or the raw text."""

        def handler(value: str) -> None:
            parts = self.date_parts.setdefault(fid, ["", ""])
            parts[index] = value
            self._store_when(fid, kind)
            self._changed()

        return handler

    def _store_when(self, fid: str, kind: str) -> None:
        date, time = self.date_parts[fid]
        if kind == "date":
            self.answers[fid] = date or None
        elif date or time:
            self.answers[fid] = f"{date}T{time}"
        else:
            self.answers[fid] = None

    def _now(self, fid: str, kind: str) -> Callable[[Any], None]:
        def handler(_e: Any = None) -> None:
            now = _dt.datetime.now()
            self.date_parts[fid] = [now.strftime("%Y-%m-%d"), now.strftime("%H:%M")]
            self._store_when(fid, kind)
            self._changed(rerender=True)

        return handler

    def _set_choice(self, fid: str) -> Callable[[Any], None]:
        def handler(e: Any) -> None:
            self.answers[fid] = e.control.value or None
            self._changed(fid)

        return handler

    def _set_country(self, fid: str) -> Callable[[Any], None]:
        def handler(e: Any) -> None:
            self.region_country[fid] = str(e.control.value or "")
            self.answers[fid] = None
            self._changed(fid, rerender=True)

        return handler

    def _toggle(self, fid: str, option: str) -> Callable[[Any], None]:
        def handler(e: Any) -> None:
            chosen = [v for v in self.answers.get(fid) or [] if v != option]
            if e.control.value:
                chosen.append(option)
            self.answers[fid] = chosen
            self._changed(fid)

        return handler

    def _set_yes_no(self, fid: str) -> Callable[[Any], None]:
        def handler(e: Any) -> None:
            self.answers[fid] = {"yes": True, "no": False}.get(str(e.control.value))
            self._changed(fid)

        return handler

    def _set_consent(self, fid: str, option: str) -> Callable[[Any], None]:
        def handler(e: Any) -> None:
            consent = dict(self.answers.get(fid) or {})
            consent[option] = bool(e.control.value)
            self.answers[fid] = consent
            self._changed()

        return handler

    def _set_attachments(self, fid: str) -> Callable[[list[str]], None]:
        def handler(ids: list[str]) -> None:
            self.answers[fid] = ids
            self._changed()

        return handler

    # ------------------------------------------------------------ actions
    def _keep_attachments(self) -> None:
        for panel in self.panels.values():
            panel.added.clear()

    async def save_draft(self, _e: Any = None) -> None:
        self.banner.clear()
        self.send_banner.clear()
        try:
            self.incident_id = await self.ctx.nav.run(self._save, False)
        except FormInvalid as exc:  # a draft refused only for what must not be kept as typed
            self.errors = exc.errors
            self.banner.show(self.ctx.error(exc))
            self._render_fields()
            return
        except Exception as exc:
            self.banner.show(self.ctx.error(exc))
            return
        self._keep_attachments()
        self.dirty = False
        self.ctx.nav.go("incidents")

    async def submit(self, _e: Any = None) -> None:
        self.banner.clear()
        self.send_banner.clear()
        try:
            self.incident_id = await self.ctx.nav.run(self._save, True)
        except FormInvalid as exc:
            self.errors = exc.errors
            self.banner.show(self.ctx.t("form.fix_errors", count=len(exc.errors)))
            self.send_banner.show(self.ctx.t("form.needs_attention", count=len(exc.errors)))
            self._render_fields()
            self.drafts.flush()  # nothing typed is lost by a refused send
            await self._show_first_problem()
            return
        except Exception as exc:
            self.banner.show(self.ctx.error(exc))
            self.send_banner.show(self.ctx.error(exc))
            return
        self._keep_attachments()
        self.dirty = False
        self.errors = {}
        self.ctx.nav.go("incidents")
        self.ctx.nav.sync_now()

    def first_problem(self) -> str | None:
        """The first answer to fix, in the order the form shows them."""
        visible = forms.visible_fields(self.form, self.answers)
        return next((f.id for f in visible if f.id in self.errors), None)

    async def _show_first_problem(self) -> None:
        """Scroll to the first answer to fix and put the cursor in it (where it has one)."""
        fid = self.first_problem()
        if fid is None:
            return
        for control in (self.banner, self.fields_column, self.send_banner):
            refresh(control)  # the marks must be on the screen before scrolling to them
        with contextlib.suppress(Exception):
            await self.ctx.nav.scroll_to(f"field-{fid}")
        target = focus_target(self.controls.get(fid))
        if target is not None:
            with contextlib.suppress(Exception):  # not on a page (tests), or gone meanwhile
                await target.focus()

    def _save(self, submit: bool) -> str:
        """Save or send, then forget the autosaved draft (the incident now holds it all)."""
        incident_id = self.ctx.service.save_incident(self.incident_id, self.answers, submit=submit)
        self.drafts.discard()
        return incident_id

    def delete(self, _e: Any = None) -> None:
        if self.incident_id is None:
            return
        if not self.confirm_delete:
            self.confirm_delete = True
            self.ctx.nav.refresh()
            return
        try:
            self.ctx.service.delete_incident(self.incident_id)
            self.drafts.discard()
        except Exception as exc:
            self.banner.show(self.ctx.error(exc))
            return
        self.dirty = False
        self.ctx.nav.go("incidents")

    def open_messages(self, _e: Any = None) -> None:
        if self.incident_id is not None:
            self.ctx.nav.go("messages", id=self.incident_id)

    def leave(self) -> None:
        """The shell calls this when navigating away (Back, a tab): keep what was typed as a
        draft, new attachments included (the draft refers to them), and delete any picked
        copy still waiting for a choice about its metadata."""
        self.drafts.flush()
        for panel in self.panels.values():
            panel.drop_pending()
        self._keep_attachments()

    def on_lock(self) -> None:
        """Save what was typed as an encrypted draft before the vault locks, then forget it."""
        self.drafts.flush()  # never blocks locking: a failed save is dropped
        self.drafts.stop()
        self._keep_attachments()
        self.answers.clear()
        self.raw_numbers.clear()
        self.date_parts.clear()
        for panel in self.panels.values():
            panel.forget_previews()
        self.fields_column.controls = []


def focus_target(control: ft.Control | None) -> Any:
    """The first control inside `control` that can take the keyboard focus, or None."""
    stack: list[Any] = [control] if control is not None else []
    while stack:
        current = stack.pop(0)
        if isinstance(current, ft.TextField | ft.Dropdown):
            return current
        for attr in ("controls", "content"):
            child = getattr(current, attr, None)
            if isinstance(child, list):
                stack.extend(child)
            elif isinstance(child, ft.Control):
                stack.append(child)
    return None


def _dropdowns(control: ft.Control) -> list[ft.Dropdown]:
    """The drop-downs in a field's control (a region is two, in a column)."""
    if isinstance(control, ft.Dropdown):
        return [control]
    inner = getattr(control, "controls", None) or []
    return [c for child in inner for c in _dropdowns(child)]


_Builder = Callable[[IncidentFormScreen, Field, "str | None", Any], ft.Control]
_BUILDERS: dict[str, _Builder] = {
    "text": IncidentFormScreen._text_control,
    "long_text": IncidentFormScreen._text_control,
    "pseudonym": IncidentFormScreen._pseudonym_control,
    "number": IncidentFormScreen._number_control,
    "single_choice": IncidentFormScreen._choice_control,
    "multi_choice": IncidentFormScreen._multi_choice_control,
    "yes_no": IncidentFormScreen._yes_no_control,
    "consent": IncidentFormScreen._consent_control,
    "attachments": IncidentFormScreen._attachments_control,
}
