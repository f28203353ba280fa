"""Drafts: what is typed into an incident form or a note is kept, encrypted, without asking.

Use `DraftKeeper` in a screen that edits something: call `changed()` on every edit; it saves a
draft (`FieldService.save_draft`) after `PAUSE_SECONDS` without typing, and `flush()` saves at
once (the shell's `leave` and `on_lock` call it, so Back, a tab, locking or the idle lock lose
nothing and ask nothing). `discard()` forgets the draft once the real thing is saved or sent,
or when the owner drops it. `draft_tiles` lists drafts with *Continue* and *Discard*.

A draft is a vault record like any other: encrypted at rest, wiped by a panic, duress or
remote wipe, and forgotten by the vault's deletion (re-keyed journal) when discarded. It is
never sealed for the organisation and never synced.

Danger: `snapshot` runs on the UI thread and must return a copy (the save runs in a worker
thread while the owner keeps typing); a save that fails is retried at the next edit or flush,
never reported as lost work.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import threading
from collections.abc import Callable, Mapping
from typing import Any

import flet as ft

from app.field.context import FieldContext
from app.field.widgets import hint, when
from app.services.field_types import Draft
from core import forms

PAUSE_SECONDS = 1.5  # a draft is written this long after the last keystroke
Schedule = Callable[[float, Callable[[], None]], Any]


def loop_schedule(delay: float, callback: Callable[[], None]) -> Any:
    """`loop.call_later` on the running event loop (Flet runs handlers on it); None without one
    (tests: the keeper then saves on `flush`)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return loop.call_later(delay, callback)


# eq=False: compared by identity.
# repr=False: it holds the unlocked context and the form being typed, which no log may show.
@dataclasses.dataclass(eq=False, repr=False)
class DraftKeeper:
    """Autosaves one form's or one note's content as a draft (see the module docstring)."""

    ctx: FieldContext
    form: str
    snapshot: Callable[[], Mapping[str, Any]]
    _: dataclasses.KW_ONLY
    target: str = ""
    draft_id: str | None = None
    pause: float = PAUSE_SECONDS
    schedule: Schedule = loop_schedule
    pending: bool = dataclasses.field(default=False, init=False)  # edited since the last save
    closed: bool = dataclasses.field(default=False, init=False)  # discarded: late saves dropped
    _generation: int = dataclasses.field(default=0, init=False)  # of the newest snapshot taken
    _written: int = dataclasses.field(default=0, init=False)  # of the last snapshot written
    _timer: Any = dataclasses.field(default=None, init=False)
    _task: Any = dataclasses.field(default=None, init=False)
    _write_lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, init=False)

    # ------------------------------------------------------------ edits
    def changed(self) -> None:
        """An edit: save after a pause without further edits."""
        self.closed = False
        self.pending = True
        self._cancel_timer()
        self._timer = self.schedule(self.pause, self._fire)

    def _fire(self) -> None:
        self._timer = None
        with contextlib.suppress(RuntimeError):
            self._task = asyncio.ensure_future(self.save())

    async def save(self) -> None:
        """Save now, off the UI thread (the debounced path)."""
        taken = self._take()
        if taken is not None:
            with contextlib.suppress(Exception):  # kept pending: the next edit or flush retries
                await self.ctx.nav.run(self._write, *taken)

    def flush(self) -> None:
        """Save at once, on this thread (leaving the screen, locking). A debounced save still
        on its way to the vault is overtaken: the newest content is written now."""
        self._cancel_timer()
        if self._generation > self._written and not self.closed:
            self.pending = True
        taken = self._take()
        if taken is not None and self.ctx.service.unlocked:
            with contextlib.suppress(Exception):  # leaving or locking is never blocked
                self._write(*taken)

    def discard(self) -> None:
        """Forget the draft (the real thing was saved or sent, or the owner dropped it).

        Safe from a worker thread (screens call it right after the save): a pending timer is
        left to fire and finds nothing to write."""
        self.pending, self.closed = False, True
        with self._write_lock:
            draft_id, self.draft_id = self.draft_id, None
        if draft_id is not None and self.ctx.service.unlocked:
            self.ctx.service.delete_draft(draft_id)

    def stop(self) -> None:
        self._cancel_timer()

    # ------------------------------------------------------------ internals
    def _take(self) -> tuple[int, dict[str, Any]] | None:
        if not self.pending or self.closed:
            return None
        self.pending = False
        self._generation += 1
        return self._generation, copy.deepcopy(dict(self.snapshot()))

    def _write(self, generation: int, content: dict[str, Any]) -> None:
        with self._write_lock:
            if self.closed or generation <= self._written:
                return  # discarded meanwhile, or a newer snapshot is already written
            try:
                self.draft_id = self.ctx.service.save_draft(
                    self.draft_id, self.form, self.target, content
                )
            except Exception:
                self.pending = True
                raise
            self._written = generation

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            with contextlib.suppress(Exception):
                timer.cancel()


# ------------------------------------------------------------ listing


def draft_title(ctx: FieldContext, draft: Draft) -> str:
    """What a draft is about, for the list: the incident's summary or the note's first line."""
    if draft.form == "note":
        text = str(draft.content.get("text") or "").strip()
        return text.splitlines()[0][:80] if text else ctx.t("drafts.untitled")
    answers = draft.content.get("answers")
    if isinstance(answers, Mapping):
        with contextlib.suppress(Exception):
            form = ctx.service.form()
            title = forms.summary(form, answers, ctx.tr.lang)
            if title:
                return title
            for field in form.fields:  # else the first words typed
                value = answers.get(field.id)
                if field.type in ("text", "long_text") and isinstance(value, str) and value.strip():
                    return value.strip().splitlines()[0][:80]
    return ctx.t("drafts.untitled")


def discard_draft(ctx: FieldContext, draft: Draft) -> None:
    """Forget a draft the owner dropped, with the attachments only it referred to."""
    if draft.form == "incident":
        kept: set[str] = set()
        if draft.target:
            with contextlib.suppress(Exception):
                incident = ctx.service.get_incident(draft.target)
                kept = {a.id for a in incident.attachments}
        for attachment_id in _attachment_ids(ctx, draft) - kept:
            with contextlib.suppress(Exception):
                ctx.service.remove_attachment(attachment_id)
    ctx.service.delete_draft(draft.id)


def _attachment_ids(ctx: FieldContext, draft: Draft) -> set[str]:
    answers = draft.content.get("answers")
    if not isinstance(answers, Mapping):
        return set()
    ids: set[str] = set()
    for field in ctx.service.form().fields:
        if field.type == "attachments":
            value = answers.get(field.id)
            if isinstance(value, list):
                ids.update(str(v) for v in value)
    return ids


def draft_tiles(
    ctx: FieldContext,
    drafts: list[Draft],
    resume: Callable[[Draft], None],
    discard: Callable[[Draft], None],
) -> list[ft.Control]:
    """A heading and one tile per draft (*Continue*, *Discard*); [] when there are none."""
    if not drafts:
        return []
    t = ctx.t
    tiles: list[ft.Control] = [
        ft.Text(t("drafts.title"), size=16, weight=ft.FontWeight.BOLD, data="drafts-title")
    ]
    for draft in drafts:
        tiles.append(
            ft.Container(
                ft.Column(
                    [
                        ft.Text(
                            draft_title(ctx, draft),
                            size=15,
                            max_lines=2,
                            overflow=ft.TextOverflow.ELLIPSIS,
                        ),
                        hint(t("drafts.saved_at", time=when(draft.updated_at))),
                        ft.Row(
                            [
                                ft.FilledTonalButton(
                                    t("drafts.resume"),
                                    icon=ft.Icons.EDIT_NOTE,
                                    on_click=_bind(resume, draft),
                                    data=f"draft-resume-{draft.id}",
                                    height=48,
                                ),
                                ft.TextButton(
                                    t("drafts.discard"),
                                    on_click=_bind(discard, draft),
                                    data=f"draft-discard-{draft.id}",
                                    height=48,
                                ),
                            ],
                            wrap=True,
                        ),
                    ],
                    spacing=4,
                ),
                padding=12,
                border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
                border_radius=10,
                data=f"draft-{draft.id}",
            )
        )
    return tiles


def _bind(fn: Callable[[Draft], None], draft: Draft) -> Callable[[Any], None]:
    def handler(_e: Any = None) -> None:
        fn(draft)

    return handler
