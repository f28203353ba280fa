"""One case: every field with the form's labels, attachments from memory, revision history,
the chain-of-custody verdict, the workflow (status, assignee, tags, comments, referrals), the
links to other cases and merged reports (`links_section`), the consent as it stands with a
coordinator's withdrawal and referral to a directory contact (`case_consent`), and the message
thread with the reporter.

Attachments are decrypted into memory when asked for and shown with `ft.Image(src=bytes)`;
every attachment, photos included, can be downloaded (the browser's save dialog; in-app
playback of audio would need the optional flet-audio package, which is not a dependency).
Nothing is written to disk by this screen itself.

Opening the case marks its replies read (`service.mark_read`); the replies that were unread
when it opened carry a "new" mark until the next visit. Devices and coordinators appear by
name, dates in the reader's language and local time, yes/no and consent answers as words.
"""

from __future__ import annotations

from typing import Any

import flet as ft

from app.casebook.cases import Attachment, CaseDetail
from app.coordinator import widgets as w
from app.coordinator.case_consent import ConsentCard, DirectoryPicker
from app.coordinator.context import ViewContext
from app.coordinator.links_section import LinksSection
from app.services.coordinator_types import MessageInfo
from core.cases import STATUSES

UNASSIGNED = "-"
DATE_TYPES = ("date", "datetime")


class CaseView:
    def __init__(self, ctx: ViewContext, case_id: str) -> None:
        self.ctx, self.case_id = ctx, case_id
        t = ctx.t
        self.detail: CaseDetail | None = None
        self.messages: list[MessageInfo] = []
        self.unread = 0  # replies that were unread when the case was opened
        self.previews: dict[str, bytes] = {}  # decrypted photos, in memory only
        self.error = w.banner("")
        self.header = ft.Column([], spacing=6)
        self.fields = ft.Column([], spacing=6)
        self.attachments = ft.Column([], spacing=8)
        self.history = ft.Column([], spacing=4)
        self.custody = ft.Column([], spacing=4)
        self.status = ft.RadioGroup(
            content=ft.Row(
                [
                    ft.Radio(value=s, label=ctx.status(s), key=f"status-{s}", height=48)
                    for s in STATUSES
                ],
                wrap=True,
                spacing=4,
            ),
            on_change=self.on_status,
        )
        self.assignee = w.choice(
            t("case.assignee"),
            ctx.t("list.open"),
            width=220,
            on_select=self.on_assign,
            key="case-assignee",
        )
        self.tags = w.actions()
        self.new_tag = w.sensitive_field(t("case.add_tag"), width=200, on_submit=self.on_tag)
        self.comments = ft.Column([], spacing=6)
        self.new_comment = w.sensitive_field(
            t("case.add_comment"), multiline=True, min_lines=2, key="comment-text"
        )
        self.referrals = ft.Column([], spacing=6)
        self.referral_to = w.sensitive_field(t("case.referral_to"), key="referral-to")
        self.referral_note = w.sensitive_field(t("case.referral_note"), key="referral-note")
        self.directory = DirectoryPicker(ctx, self.on_contact)
        self.consent = ConsentCard(ctx, case_id, self.load)
        self.thread = ft.Column([], spacing=6)
        self.links = LinksSection(ctx, case_id, self.load)
        self.message = w.sensitive_field(
            t("case.message"), multiline=True, min_lines=2, key="message-text"
        )
        back = w.button("text", t("case.back"), self.on_back, "case-back", ft.Icons.ARROW_BACK)
        self.control = w.screen_column(
            back,
            self.header,
            self.error,
            ft.Row(
                [self._left_column(), self._right_column()],
                vertical_alignment=ft.CrossAxisAlignment.START,
            ),
        )

    def _left_column(self) -> ft.Column:
        """What came in: custody, the report, its attachments and its revisions."""
        t = self.ctx.t
        return ft.Column(
            [
                w.card(w.heading(t("case.custody")), self.custody),
                w.card(w.heading(t("case.report")), self.fields),
                w.card(w.heading(t("case.attachments")), self.attachments),
                w.card(w.heading(t("case.history")), self.history),
            ],
            spacing=12,
            expand=3,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )

    def _right_column(self) -> ft.Column:
        """What the coordinators do with it: workflow, links, consent, comments, referrals,
        messages to the reporter."""
        t = self.ctx.t
        return ft.Column(
            [
                self._workflow_card(),
                self.links.control,
                self.consent.control,
                w.card(
                    w.heading(t("case.comments")),
                    self.comments,
                    self.new_comment,
                    w.button("filled", t("case.comment"), self.on_comment, "comment"),
                ),
                w.card(
                    w.heading(t("case.referrals")),
                    self.referrals,
                    self.directory.control,
                    self.referral_to,
                    self.referral_note,
                    w.button("outlined", t("case.refer"), self.on_refer, "refer"),
                ),
                w.hint_card(
                    t("case.messages"),
                    t("case.messages_hint"),
                    self.thread,
                    self.message,
                    w.button("filled", t("case.send"), self.on_send, "send", ft.Icons.SEND),
                ),
            ],
            spacing=12,
            expand=2,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )

    def _workflow_card(self) -> ft.Control:
        t = self.ctx.t
        return w.hint_card(
            t("case.workflow"),
            t("case.status"),
            self.status,
            self.assignee,
            w.muted(t("case.tags")),
            self.tags,
            ft.Row(
                [
                    self.new_tag,
                    ft.IconButton(
                        ft.Icon(ft.Icons.ADD, semantics_label=t("case.add_tag")),
                        tooltip=t("case.add_tag"),
                        on_click=self.on_tag,
                    ),
                ]
            ),
        )

    # ---- rendering
    def load(self) -> None:
        ctx = self.ctx
        ctx.load_names()
        try:
            self.detail = ctx.service.case(self.case_id, ctx.lang)
            self.messages = ctx.service.messages(self.case_id)
            if self.detail.summary.unread:
                self.unread = self.detail.summary.unread
                ctx.service.mark_read(self.case_id)
        except Exception as exc:
            self.show_error(exc)
            return
        self.links.load()
        self.consent.load()
        self.directory.load()
        self.render()

    def render(self) -> None:
        ctx, t, d = self.ctx, self.ctx.t, self.detail
        if d is None:
            return
        state = d.state
        self.header.controls = self._header(d)
        self.custody.controls = self._custody(d)
        self.fields.controls = self._fields(d)
        self.attachments.controls = [self._attachment(a) for a in d.attachments] or [
            w.muted(t("case.no_attachments"))
        ]
        self.history.controls = self._revisions(d)
        self.status.value = state.status
        self._fill_assignees(state.assignee)
        self.tags.controls = [self._tag_chip(tag) for tag in sorted(state.tags)] or [
            w.muted(t("case.no_tags"))
        ]
        self.comments.controls = [
            ft.Column(
                [
                    w.muted(f"{ctx.when(c.created)} · {ctx.name(c.author)}"),
                    ft.Text(c.text),
                ],
                spacing=2,
            )
            for c in state.comments
        ] or [w.muted(t("case.no_comments"))]
        self.referrals.controls = [
            self.directory.referral(r, ctx.when(r.created)) for r in state.referrals
        ] or [w.muted(t("case.no_referrals"))]
        replies = [m.id for m in self.messages if m.direction != "out"]
        new = set(replies[len(replies) - self.unread :]) if self.unread else set()
        self.thread.controls = [self._message(m, m.id in new) for m in self.messages] or [
            w.muted(t("case.no_messages"))
        ]

    def _header(self, d: CaseDetail) -> list[ft.Control]:
        """The reference and title, then status, custody verdict and where it came from."""
        ctx, t = self.ctx, self.ctx.t
        s, state = d.summary, d.state
        return [
            ft.Row(
                [
                    w.reference(s.reference),
                    ft.Text(
                        s.title_in(ctx.lang) or t(f"type.{s.case_type}"),
                        size=22,
                        weight=ft.FontWeight.BOLD,
                        expand=True,
                    ),
                ],
                vertical_alignment=ft.CrossAxisAlignment.CENTER,
            ),
            w.actions(
                w.status_pill(ctx.status(state.status), state.status),
                w.verdict_pill(
                    d.custody.ok,
                    t("custody.ok_short" if d.custody.ok else "custody.problem_short"),
                ),
                w.muted(
                    t(
                        "case.meta",
                        case=s.reference,
                        device=ctx.name(s.device),
                        received=ctx.when(s.received_at),
                    )
                ),
            ),
        ]

    def _revisions(self, d: CaseDetail) -> list[ft.Control]:
        ctx, t = self.ctx, self.ctx.t
        return [
            ft.ExpansionTile(
                title=ft.Text(t("case.revision", version=n, when=ctx.when(rev.created))),
                subtitle=ft.Text(t("case.received_at", when=ctx.when(rev.received_at)), size=12),
                controls=[
                    ft.Text(
                        f"{f.label}: "
                        + (ctx.day(f.value) if f.field_type in DATE_TYPES else f.value),
                        size=13,
                    )
                    for f in rev.fields
                ],
            )
            for n, rev in enumerate(d.revisions, start=1)
        ]

    def _fill_assignees(self, assignee: str) -> None:
        """Unassigned, me, everyone assigned a case anywhere, and this case's assignee."""
        ctx, t = self.ctx, self.ctx.t
        me = self._me()
        assignees = {UNASSIGNED: t("case.unassigned")}
        if me:
            assignees[me] = t("case.me")
        for value in ctx.service.facet_values().get("assignee", []):
            assignees.setdefault(value, ctx.name(value))
        if assignee:
            assignees.setdefault(assignee, ctx.name(assignee))
        self.assignee.options = [ft.DropdownOption(key=k, text=v) for k, v in assignees.items()]
        self.assignee.value = assignee or UNASSIGNED

    def _tag_chip(self, tag: str) -> ft.Control:
        t = self.ctx.t
        return w.removable_chip(
            ft.Text(tag, size=13),
            remove=t("case.remove_tag"),
            on_remove=lambda _e: self.on_untag(tag),
            colour=ft.Colors.SECONDARY_CONTAINER,
        )

    def _me(self) -> str:
        try:
            return self.ctx.service.info().coordinator_id
        except Exception:
            return ""

    def _custody(self, d: CaseDetail) -> list[ft.Control]:
        t, c = self.ctx.t, d.custody
        sealed: list[ft.Control] = []  # how the envelopes were encrypted: post-quantum or not
        if c.recipients:
            key = "custody.post_quantum" if c.post_quantum else "custody.classic"
            sealed.append(w.muted(t(key, kinds=", ".join(c.recipients))))
        if c.ok:
            return [
                w.verdict_pill(True, t("custody.ok")),
                w.muted(t("custody.ok_explained")),
                *sealed,
            ]
        lines: list[ft.Control] = [w.verdict_pill(False, t("custody.problem"))]
        lines.append(ft.Text(t(f"custody.signature_{c.signature}")))
        lines.append(ft.Text(t(f"custody.chain_{c.chain}")))
        lines.extend(ft.Text(f"• {p}", size=13) for p in c.problems)
        return lines + sealed

    def _fields(self, d: CaseDetail) -> list[ft.Control]:
        out: list[ft.Control] = []
        section = None
        for f in d.fields:
            if f.section and f.section != section:
                section = f.section
                out.append(ft.Text(section, weight=ft.FontWeight.W_600, size=15))
            label = f.label + (f" · {self.ctx.t('case.sensitive')}" if f.sensitive else "")
            value = self.ctx.day(f.value) if f.field_type in DATE_TYPES else f.value
            out.append(ft.Column([w.muted(label), ft.Text(value or "—")], spacing=1))
        return out or [w.muted(self.ctx.t("case.empty"))]

    def _attachment(self, a: Attachment) -> ft.Control:
        t = self.ctx.t
        kib = max(1, a.size // 1024)
        name = a.name or a.id[:8]
        is_image = a.media_type.startswith("image/")
        holder = ft.Column([], spacing=6)
        if a.id in self.previews:
            holder.controls = [self._image(self.previews[a.id])]
        buttons: list[ft.Control] = []
        if is_image:
            buttons.append(
                w.button(
                    "text",
                    t("case.show_photo"),
                    lambda _e: self.on_attachment(a, holder),
                    f"show-{a.id[:8]}",
                    ft.Icons.VISIBILITY,
                )
            )
        buttons.append(
            w.button(
                "text",
                t("case.download"),
                lambda _e: self.on_download(a),
                f"download-{a.id[:8]}",
                ft.Icons.DOWNLOAD,
            )
        )
        row = w.actions(
            ft.Icon(ft.Icons.IMAGE if is_image else ft.Icons.ATTACH_FILE),
            ft.Text(t("case.attachment_line", name=name, kib=kib)),
            *buttons,
        )
        return ft.Column([row, holder], spacing=4)

    @staticmethod
    def _image(data: bytes) -> ft.Image:
        return ft.Image(src=data, width=420, fit=ft.BoxFit.CONTAIN)

    def _message(self, m: MessageInfo, new: bool = False) -> ft.Control:
        mine = m.direction == "out"
        who = self.ctx.t("case.message_out" if mine else "case.message_in")
        top: list[ft.Control] = [w.muted(f"{who} · {self.ctx.when(m.created)}")]
        if new:
            top.append(w.unread_pill(self.ctx.t("case.new_reply")))
        return ft.Row(
            [
                ft.Container(
                    ft.Column(
                        [ft.Row(top, spacing=6, wrap=True), ft.Text(m.text)],
                        spacing=2,
                    ),
                    bgcolor=ft.Colors.PRIMARY_CONTAINER
                    if mine
                    else ft.Colors.SURFACE_CONTAINER_HIGH,
                    padding=10,
                    border_radius=10,
                    width=340,
                )
            ],
            alignment=ft.MainAxisAlignment.END if mine else ft.MainAxisAlignment.START,
        )

    def show_error(self, exc: BaseException) -> None:
        self.error.content.value = self.ctx.error(exc)  # type: ignore[union-attr]
        self.error.visible = True

    # ---- handlers
    def on_back(self, _e: Any = None) -> None:
        self.ctx.navigate("cases")

    def on_attachment(self, a: Attachment, holder: ft.Column) -> None:
        ctx = self.ctx

        def done(data: bytes) -> None:
            if a.media_type.startswith("image/"):
                self.previews[a.id] = data
                holder.controls = [self._image(data)]
            else:
                ctx.port.save(a.name or f"{a.id}.bin", data)

        ctx.port.run(lambda: ctx.service.attachment(self.case_id, a.id), done, self.show_error)

    def on_download(self, a: Attachment) -> None:
        """Save the decrypted attachment through the browser's save dialog."""
        ctx = self.ctx
        name = a.name or f"{a.id}.bin"
        ctx.port.run(
            lambda: ctx.service.attachment(self.case_id, a.id),
            lambda data: ctx.port.save(name, data),
            self.show_error,
        )

    def _act(self, event: dict[str, Any], after: Any = None) -> None:
        self.error.visible = False

        def done(_r: Any) -> None:
            if after:
                after()
            self.load()

        self.ctx.port.run(lambda: self.ctx.service.act(self.case_id, event), done, self.show_error)

    def on_status(self, _e: Any = None) -> None:
        value = self.status.value or ""
        if self.detail and value and value != self.detail.state.status:
            self._act({"type": "status", "status": value})

    def on_assign(self, _e: Any = None) -> None:
        value = self.assignee.value or UNASSIGNED
        assignee = "" if value == UNASSIGNED else value
        if self.detail and assignee != self.detail.state.assignee:
            self._act({"type": "assign", "assignee": assignee})

    def on_tag(self, _e: Any = None) -> None:
        tag = (self.new_tag.value or "").strip()
        if tag:
            self._act({"type": "tag", "tag": tag}, after=lambda: setattr(self.new_tag, "value", ""))

    def on_untag(self, tag: str) -> None:
        self._act({"type": "untag", "tag": tag})

    def on_comment(self, _e: Any = None) -> None:
        text = (self.new_comment.value or "").strip()
        if text:
            self._act(
                {"type": "comment", "text": text},
                after=lambda: setattr(self.new_comment, "value", ""),
            )

    def on_refer(self, _e: Any = None) -> None:
        to = (self.referral_to.value or "").strip()
        note = (self.referral_note.value or "").strip()
        if not to:
            return

        def clear() -> None:
            self.referral_to.value = self.referral_note.value = ""
            self.directory.clear()

        contact = self.directory.chosen()
        event = {"type": "referral", "to": to, **({"note": note} if note else {})}
        if contact is not None and contact.name == to:
            event["contact"] = contact.id
        self._act(event, after=clear)

    def on_contact(self, contact: Any) -> None:
        if contact is not None:
            self.referral_to.value = contact.name

    def on_send(self, _e: Any = None) -> None:
        text = (self.message.value or "").strip()
        if not text:
            return
        self.error.visible = False

        def done(_r: Any) -> None:
            self.message.value = ""
            self.load()

        self.ctx.port.run(
            lambda: self.ctx.service.send_message(self.case_id, text), done, self.show_error
        )
