"""Forms management: edit or import a form definition (JSON), validate it with core.forms,
preview it in the current language, and publish all forms in a new signed org document."""

from __future__ import annotations

import json
from typing import Any

import flet as ft

from app.coordinator import widgets as w
from app.coordinator.context import ViewContext
from core.forms import FormDefinition, label

TYPE_ICONS = {
    "text": ft.Icons.SHORT_TEXT,
    "long_text": ft.Icons.NOTES,
    "number": ft.Icons.PIN,
    "date": ft.Icons.EVENT,
    "datetime": ft.Icons.SCHEDULE,
    "single_choice": ft.Icons.RADIO_BUTTON_CHECKED,
    "multi_choice": ft.Icons.CHECK_BOX,
    "yes_no": ft.Icons.TOGGLE_ON,
    "region": ft.Icons.PLACE,
    "attachments": ft.Icons.ATTACH_FILE,
    "consent": ft.Icons.HANDSHAKE,
}


class FormsView:
    def __init__(self, ctx: ViewContext) -> None:
        self.ctx = ctx
        t = ctx.t
        self.forms: list[dict[str, Any]] = []
        self.selected = 0
        self.picker = w.choice(
            t("forms.form"), self.ctx.t("list.open"), width=320, on_select=self.on_pick_form
        )
        self.editor = ft.TextField(
            label=t("forms.json"),
            multiline=True,
            min_lines=18,
            max_lines=28,
            text_style=ft.TextStyle(font_family="monospace", size=12),
            autocorrect=False,
            enable_suggestions=False,
            key="form-json",
        )
        self.status = w.banner("")
        self.preview = ft.Column([], spacing=6)
        self.control = w.screen_column(
            w.title(t("forms.title")),
            w.muted(t("forms.intro")),
            w.actions(
                self.picker,
                ft.OutlinedButton(
                    t("forms.import"), icon=ft.Icons.UPLOAD_FILE, on_click=self.on_import
                ),
                w.button(
                    "outlined",
                    t("forms.validate"),
                    self.on_validate,
                    "form-validate",
                    ft.Icons.RULE,
                ),
                w.button(
                    "filled",
                    t("forms.publish"),
                    self.on_publish,
                    "form-publish",
                    ft.Icons.PUBLISH,
                ),
            ),
            self.status,
            ft.Row(
                [
                    ft.Container(self.editor, expand=3),
                    ft.Container(w.card(w.heading(t("forms.preview")), self.preview), expand=2),
                ],
                vertical_alignment=ft.CrossAxisAlignment.START,
            ),
        )

    def load(self) -> None:
        try:
            self.forms = self.ctx.service.forms()
        except Exception as exc:
            self._say(self.ctx.error(exc), error=True)
            return
        self.picker.options = [
            ft.DropdownOption(key=str(i), text=self._name(f)) for i, f in enumerate(self.forms)
        ]
        self.select(0)

    def _name(self, raw: dict[str, Any]) -> str:
        name = label(raw.get("label", {}), self.ctx.lang)
        return f"{name} ({raw.get('id')} v{raw.get('version')})"

    def select(self, index: int) -> None:
        self.selected = index
        self.picker.value = str(index) if self.forms else None
        raw = self.forms[index] if self.forms else {}
        self.editor.value = json.dumps(raw, ensure_ascii=False, indent=2)
        self.on_validate()

    def _say(self, text: str, *, error: bool) -> None:
        w.show_banner(self.status, text, error=error)

    def _parse(self) -> FormDefinition | None:
        try:
            form = self.ctx.service.validate_form(self.editor.value or "")
        except Exception as exc:
            detail = getattr(exc, "detail", "")
            self._say(self.ctx.t("forms.invalid", detail=detail), error=True)
            self.preview.controls = []
            return None
        return form

    def render_preview(self, form: FormDefinition) -> None:
        lang = self.ctx.lang
        controls: list[ft.Control] = [w.heading(label(form.labels, lang))]
        for section in form.sections:
            controls.append(ft.Text(label(section.labels, lang), weight=ft.FontWeight.W_600))
            for f in section.fields:
                suffix = " *" if f.required else ""
                options = ", ".join(label(o.labels, lang) for o in f.options[:6])
                controls.append(
                    ft.Row(
                        [
                            ft.Icon(TYPE_ICONS.get(f.type, ft.Icons.HELP), size=18),
                            ft.Column(
                                [
                                    ft.Text(label(f.labels, lang) + suffix, size=13),
                                    *([w.muted(options)] if options else []),
                                ],
                                spacing=0,
                                expand=True,
                            ),
                        ]
                    )
                )
        self.preview.controls = controls

    def on_pick_form(self, _e: Any = None) -> None:
        self.select(int(self.picker.value or 0))

    def on_validate(self, _e: Any = None) -> None:
        form = self._parse()
        if form is not None:
            self._say(self.ctx.t("forms.valid", fields=len(form.fields)), error=False)
            self.render_preview(form)

    def on_import(self, _e: Any = None) -> None:
        def picked(_name: str, data: bytes) -> None:
            self.editor.value = data.decode("utf-8", errors="replace")
            self.on_validate()

        self.ctx.port.pick(picked)

    def on_publish(self, _e: Any = None) -> None:
        ctx = self.ctx
        form = self._parse()
        if form is None:
            return
        raw = json.loads(self.editor.value or "{}")
        forms = [f for f in self.forms if f.get("id") != raw.get("id")] + [raw]

        def yes() -> None:
            def done(version: int) -> None:
                self._say(ctx.t("forms.published", version=version), error=False)
                self.load()
                self._say(ctx.t("forms.published", version=version), error=False)

            ctx.port.run(
                lambda: ctx.service.publish_forms(forms),
                done,
                lambda e: self._say(ctx.error(e), error=True),
            )

        ctx.port.confirm(
            ctx.t("forms.publish_title"),
            ctx.t("forms.publish_text", form=label(form.labels, ctx.lang)),
            ctx.t("forms.publish"),
            ctx.t("cancel"),
            yes,
        )
