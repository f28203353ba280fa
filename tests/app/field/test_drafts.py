"""Drafts: the service's contract (in memory and in the real vault), the forensic check that a
draft is never readable from the files, and the screens that autosave and resume them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.field.drafts import DraftKeeper
from app.field.incident_form import IncidentFormScreen
from app.field.incidents import IncidentListScreen
from app.field.notes import NotesScreen
from app.services.fake_field import FakeFieldService
from app.services.field import VaultFieldService
from app.services.field_api import FieldService
from app.services.field_types import NotFound
from tests.app.field.test_views import PASS, change, click, find, texts, unlocked

MARKER = "ҚЖ-жоба-4417"  # Kazakh letters: the draft text searched for in every file


@pytest.fixture(params=["fake", "vault"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FieldService]:
    svc: FieldService
    if request.param == "fake":
        svc = FakeFieldService()
    else:
        svc = VaultFieldService(tmp_path / "data", kdf_log_n=15)
    svc.create(PASS, language="kk")
    yield svc
    svc.lock()


# ------------------------------------------------------------ the service's contract


def test_a_draft_is_saved_updated_in_place_listed_newest_first_and_forgotten(
    service: FieldService,
) -> None:
    first = service.save_draft(None, "incident", "", {"answers": {"description": "a"}})
    second = service.save_draft(None, "note", "", {"text": "b", "shared": False})
    assert service.save_draft(first, "incident", "", {"answers": {"description": "c"}}) == first
    assert [d.id for d in service.list_drafts()] == [first, second]
    assert [d.id for d in service.list_drafts("note")] == [second]
    assert service.get_draft(first).content == {"answers": {"description": "c"}}
    service.delete_draft(first)
    service.delete_draft(first)  # gone already: nothing to do
    with pytest.raises(NotFound):
        service.get_draft(first)
    assert [d.id for d in service.list_drafts()] == [second]


def test_a_draft_for_an_unknown_kind_of_form_is_refused(service: FieldService) -> None:
    with pytest.raises(ValueError, match="unknown draft form"):
        service.save_draft(None, "message", "", {})


def test_deleting_an_incident_or_a_note_forgets_its_drafts(service: FieldService) -> None:
    incident_id = service.save_incident(None, {}, submit=False)
    note_id = service.save_note(None, "note", shared=False)
    service.save_draft(None, "incident", incident_id, {"answers": {}})
    service.save_draft(None, "note", note_id, {"text": "edited"})
    kept = service.save_draft(None, "incident", "", {"answers": {}})
    service.delete_incident(incident_id)
    service.delete_note(note_id)
    assert [d.id for d in service.list_drafts()] == [kept]


def test_a_wipe_takes_the_drafts_with_everything(service: FieldService) -> None:
    service.save_draft(None, "note", "", {"text": MARKER})
    service.wipe()
    service.create(PASS, language="kk")
    assert service.list_drafts() == []


def test_panic_is_immediate_by_default_only_on_a_disguised_phone_and_can_be_changed(
    service: FieldService, tmp_path: Path
) -> None:
    assert service.settings().panic_immediate is False
    assert service.update_settings(panic_immediate=True).panic_immediate is True
    disguised: FieldService = (
        FakeFieldService()
        if isinstance(service, FakeFieldService)
        else VaultFieldService(tmp_path / "disguised", kdf_log_n=15)
    )
    disguised.create("739105628417", language="ru", disguise=True)
    assert disguised.settings().panic_immediate is True
    assert disguised.update_settings(panic_immediate=False).panic_immediate is False
    disguised.lock()


def test_draft_text_is_never_in_clear_in_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    service = VaultFieldService(data, kdf_log_n=15)
    service.create(PASS, language="kk")
    draft_id = service.save_draft(None, "incident", "", {"answers": {"description": MARKER}})
    service.save_draft(draft_id, "incident", "", {"answers": {"description": MARKER + "!"}})
    assert_not_in_files(data, MARKER)
    service.delete_draft(draft_id)
    assert_not_in_files(data, MARKER)
    service.lock()
    service.unlock(PASS)
    assert service.list_drafts() == []
    service.lock()


def assert_not_in_files(root: Path, marker: str) -> None:
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files  # the vault is there: the scan is not vacuous
    for path in files:
        data = path.read_bytes()
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            assert marker.encode(encoding) not in data, path.name
        assert marker.encode("unicode_escape") not in data, path.name


# ------------------------------------------------------------ autosave


class FakeTimers:
    """A scheduler for `DraftKeeper`: records each pending save; `fire()` runs the last one."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None], Timer]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer()
        self.pending.append((delay, callback, timer))
        return timer

    def live(self) -> list[tuple[float, Callable[[], None], Timer]]:
        return [p for p in self.pending if not p[2].cancelled]


class Timer:
    cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def test_typing_saves_a_draft_once_after_a_pause_not_on_every_key() -> None:
    ctx = unlocked("kk")
    text = {"text": ""}
    timers = FakeTimers()
    keeper = DraftKeeper(ctx, "note", lambda: dict(text), schedule=timers)
    for typed in ("Ж", "Жо", "Жоба"):
        text["text"] = typed
        keeper.changed()
    [(delay, _callback, _timer)] = timers.live()  # each key put the save off again
    assert delay == pytest.approx(1.5)
    assert ctx.service.list_drafts() == []
    asyncio.run(keeper.save())
    [draft] = ctx.service.list_drafts()
    assert draft.content == {"text": "Жоба"}
    asyncio.run(keeper.save())  # nothing new typed: nothing written
    assert ctx.service.list_drafts()[0].updated_at == draft.updated_at


def test_a_stale_save_never_overwrites_a_newer_one_and_a_discarded_draft_stays_gone() -> None:
    ctx = unlocked()
    content = {"text": "old"}
    keeper = DraftKeeper(ctx, "note", lambda: dict(content), schedule=lambda *_: None)
    keeper.changed()
    old = keeper._take()
    content["text"] = "new"
    keeper.changed()
    keeper.flush()
    assert old is not None
    keeper._write(*old)  # the slower save arrives last
    assert ctx.service.list_drafts()[0].content == {"text": "new"}
    keeper.discard()
    keeper._write(old[0] + 10, {"text": "late"})
    assert ctx.service.list_drafts() == []


# ------------------------------------------------------------ the incident form


def test_back_on_a_half_filled_form_keeps_a_draft_that_reopens_with_the_text() -> None:
    ctx = unlocked("kk")
    screen = IncidentFormScreen(ctx)
    screen.build()
    change(find(screen.fields_column, "input-description"), MARKER)
    screen.leave()  # what the shell does on Back or a tab, before the next screen
    listing = IncidentListScreen(ctx)
    body = listing.build().body
    [draft] = ctx.service.list_drafts("incident")
    assert "Қалған жерден жалғастыру" in texts(body)
    click(find(body, f"draft-resume-{draft.id}"))
    assert ctx.nav.events[-1] == ("go:incident", {"draft": draft.id})  # type: ignore[attr-defined]
    reopened = IncidentFormScreen(ctx, draft_id=draft.id)
    reopened.build()
    assert find(reopened.fields_column, "input-description").value == MARKER
    assert ctx.service.list_incidents() == []


def test_saving_or_sending_the_form_forgets_its_draft() -> None:
    ctx = unlocked()
    screen = IncidentFormScreen(ctx)
    body = screen.build().body
    change(find(screen.fields_column, "input-description"), "typed")
    screen.drafts.flush()
    assert len(ctx.service.list_drafts()) == 1
    click(find(body, "form-draft"))
    assert ctx.service.list_drafts() == []
    [item] = ctx.service.list_incidents()
    edit = IncidentFormScreen(ctx, item.id)
    edit.build()
    change(find(edit.fields_column, "input-description"), "typed again")
    edit.leave()
    reopened = IncidentFormScreen(ctx, item.id)  # its unsaved edit continues
    reopened.build()
    assert find(reopened.fields_column, "input-description").value == "typed again"


def test_a_failed_send_goes_to_the_first_problem_and_says_how_many_beside_send() -> None:
    ctx = unlocked("ru")
    screen = IncidentFormScreen(ctx)
    body = screen.build().body
    change(find(screen.fields_column, "input-description"), "описание")
    click(find(body, "form-send"))
    count = len(screen.errors)
    assert count >= 2
    assert str(count) in screen.send_banner.message
    assert "Первый выделен выше" in screen.send_banner.message
    assert screen.first_problem() == "occurred_at"  # the first in the form's order
    assert ("scroll_to", {"key": "field-occurred_at"}) in ctx.nav.events  # type: ignore[attr-defined]
    built = screen.build().body
    after_banner = built[next(i for i, c in enumerate(built) if c is screen.send_banner) + 1]
    assert find(after_banner, "form-send")  # the count is right above Send
    assert [d.content["answers"]["description"] for d in ctx.service.list_drafts()] == [
        "описание"
    ]  # nothing typed is lost by a refused send


# ------------------------------------------------------------ notes


def test_a_half_written_note_comes_back_in_the_editor_and_saving_forgets_the_draft() -> None:
    ctx = unlocked("ky")
    screen = NotesScreen(ctx)
    screen.build()
    change(screen.editor, "Шейшемби " + MARKER)
    screen.leave()
    again = NotesScreen(ctx)
    again.build()
    assert again.editor.value == "Шейшемби " + MARKER
    click(find(again.build().body, "note-save"))
    assert ctx.service.list_drafts() == []
    assert [n.text for n in ctx.service.list_notes()] == ["Шейшемби " + MARKER]


def test_other_note_drafts_are_listed_and_can_be_continued() -> None:
    ctx = unlocked()
    note_id = ctx.service.save_note(None, "saved note", shared=False)
    screen = NotesScreen(ctx)
    screen.build()
    change(screen.editor, "new words")
    click(find(screen.build().body, f"note-edit-{note_id}"))  # the new words become a draft
    assert screen.text == "saved note"
    change(screen.editor, "saved note, edited")
    body = screen.build().body
    [other] = [d for d in ctx.service.list_drafts("note") if d.target == ""]
    click(find(body, f"draft-resume-{other.id}"))
    assert screen.text == "new words" and screen.editing is None
    [edited] = [d for d in ctx.service.list_drafts("note") if d.target == note_id]
    assert edited.content["text"] == "saved note, edited"


def test_cancel_drops_the_edit_and_its_draft_but_no_other_draft() -> None:
    ctx = unlocked()
    note_id = ctx.service.save_note(None, "x", shared=False)
    screen = NotesScreen(ctx)
    screen.build()
    change(screen.editor, "kept aside")
    click(find(screen.build().body, f"note-edit-{note_id}"))
    change(screen.editor, "x, never mind")
    screen.drafts.flush()
    assert len(ctx.service.list_drafts()) == 2
    click(find(screen.build().body, "note-cancel"))
    assert [d.content["text"] for d in ctx.service.list_drafts()] == ["kept aside"]
    assert [n.text for n in ctx.service.list_notes()] == ["x"]


def test_on_the_event_loop_a_draft_is_written_after_the_pause_by_itself() -> None:
    ctx = unlocked()
    content = {"text": ""}
    keeper = DraftKeeper(ctx, "note", lambda: dict(content), pause=0.05)

    async def type_and_wait() -> None:
        content["text"] = "typed, then a pause"
        keeper.changed()
        assert ctx.service.list_drafts() == []
        await asyncio.sleep(0.3)

    asyncio.run(type_and_wait())
    assert [d.content["text"] for d in ctx.service.list_drafts()] == ["typed, then a pause"]


def test_a_draft_whose_incident_was_sent_and_forgotten_reopens_as_a_new_report() -> None:
    ctx = unlocked()
    draft_id = ctx.service.save_draft(None, "incident", "gone" * 8, {"answers": {"victims": "A1"}})
    screen = IncidentFormScreen(ctx, draft_id=draft_id)
    screen.build()
    assert screen.incident_id is None and screen.answers["victims"] == "A1"
    stale = IncidentFormScreen(ctx, draft_id="f" * 32)  # discarded meanwhile
    stale.build()
    assert "victims" not in stale.answers


def test_the_duress_passphrase_leaves_no_draft_of_the_real_vault(service: FieldService) -> None:
    service.set_duress(PASS, "quiet evening river 7")
    service.save_draft(None, "note", "", {"text": MARKER})
    service.lock()
    service.unlock("quiet evening river 7")
    assert service.list_drafts() == []


def test_send_and_forget_forgets_an_unsaved_edit_of_the_sent_report(tmp_path: Path) -> None:
    from core.records import Kind, Record, Status

    class Report:
        wiped = False

    class Engine:
        def __init__(self, vault: Any, **_kw: Any) -> None:
            self.vault = vault

        def run_once(self) -> Report:  # what sending and forgetting leaves: a stub
            for record in self.vault.list(kind=Kind.INCIDENT):
                self.vault.delete(record.id)
                self.vault.put(Record(kind=Kind.STUB, id=record.id, data={}, status=Status.SENT))
            return Report()

        def cancel(self) -> None:
            pass

    service = VaultFieldService(tmp_path / "data", kdf_log_n=15, engine_factory=Engine)
    service.create(PASS, language="kk")
    sent = service.save_incident(None, {"description": "x"}, submit=False)
    service.save_draft(None, "incident", sent, {"answers": {"description": MARKER}})
    kept = service.save_draft(None, "note", "", {"text": "a note"})
    service.sync_round()
    assert [d.id for d in service.list_drafts()] == [kept]
    assert_not_in_files(tmp_path / "data", MARKER)
    service.lock()


def test_leaving_while_a_debounced_save_is_on_its_way_writes_the_newest_text_at_once() -> None:
    ctx = unlocked()
    content = {"text": "first words"}
    keeper = DraftKeeper(ctx, "note", lambda: dict(content), schedule=lambda *_: None)
    keeper.changed()
    in_flight = keeper._take()  # taken for a worker thread that has not run yet
    assert in_flight is not None
    keeper.flush()  # the screen is left, or the app locks, meanwhile
    assert [d.content["text"] for d in ctx.service.list_drafts()] == ["first words"]
    keeper._write(*in_flight)  # arrives late: changes nothing
    assert len(ctx.service.list_drafts()) == 1
