"""Field screens without a page: build them on the fake service, call handlers with fake
events, and check the controls and what the service was asked to do."""

from __future__ import annotations

import asyncio
import datetime
import inspect
from collections.abc import Iterator
from typing import Any

import flet as ft
import pytest

from app.field.calculator import CalculatorScreen
from app.field.context import FieldContext, PickedFile, RecordingNavigator
from app.field.incident_form import IncidentFormScreen
from app.field.incidents import IncidentListScreen
from app.field.messages import MessagesScreen
from app.field.notes import NotesScreen
from app.field.panic import PanicControl
from app.field.settings import SettingsScreen
from app.field.setup import SetupScreen
from app.field.unlock import UnlockScreen
from app.field.widgets import button_of
from app.i18n import Translator
from app.services.fake_field import FakeFieldService, fake_invite
from sync.errors import DeviceRevoked
from sync.shortcode import new_code

PASS = "correct horse 42"


def event(control: ft.Control, value: Any = None) -> ft.ControlEvent:
    if value is not None:
        control.value = value  # type: ignore[attr-defined]
    return ft.ControlEvent(control=control, name="change", data=None)


def run(result: Any) -> Any:
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


def call(handler: Any, control: ft.Control, name: str) -> Any:
    """Call a handler the way Flet does: with the event, or with nothing if it takes none."""
    if not inspect.signature(handler).parameters:
        return run(handler())
    return run(handler(ft.ControlEvent(control=control, name=name, data=None)))


def click(control: ft.Control) -> Any:
    return call(control.on_click, control, "click")  # type: ignore[attr-defined]


def change(control: ft.Control, value: Any) -> Any:
    return run(control.on_change(event(control, value)))  # type: ignore[attr-defined]


def select(control: ft.Dropdown, value: str) -> Any:
    control.value = value
    assert control.on_select is not None
    return run(control.on_select(ft.ControlEvent(control=control, name="select", data=None)))


def walk(control: Any) -> Iterator[Any]:
    yield control
    for attr in ("controls", "content", "actions"):
        child = getattr(control, attr, None)
        if isinstance(child, list):
            for c in child:
                yield from walk(c)
        elif isinstance(child, ft.Control):
            yield from walk(child)


def find(root: Any, key: str) -> Any:
    roots = root if isinstance(root, list) else [root]
    for r in roots:
        for c in walk(r):
            if getattr(c, "data", None) == key:
                return c
    raise AssertionError(f"no control with key {key!r}")


def texts(root: Any) -> str:
    roots = root if isinstance(root, list) else [root]
    out = []
    for r in roots:
        for c in walk(r):
            for attr in ("value", "label", "text"):
                v = getattr(c, attr, None)
                if isinstance(v, str) and v:
                    out.append(v)
            if isinstance(getattr(c, "content", None), str):
                out.append(c.content)
    return "\n".join(out)


def context(service: FakeFieldService | None = None, lang: str = "en", **nav: Any) -> FieldContext:
    svc = service or FakeFieldService()
    return FieldContext(svc, Translator(lang), RecordingNavigator(**nav))


def unlocked(lang: str = "en", **nav: Any) -> FieldContext:
    ctx = context(lang=lang, **nav)
    ctx.service.create(PASS, language=lang)
    return ctx


def no_sleep(_s: float) -> Any:
    async def done() -> None:
        return None

    return done()


# ------------------------------------------------------------ first run


def test_choosing_a_language_is_remembered_and_redraws_the_screen() -> None:
    ctx = context()
    screen = SetupScreen(ctx)
    body = screen.build().body
    click(find(body, "lang-ky"))
    assert ctx.service.launch_prefs().language == "ky"
    assert ctx.nav.names == ["language_changed"]  # type: ignore[attr-defined]


def test_a_short_pin_is_warned_about_and_strength_is_shown() -> None:
    ctx = context()
    screen = SetupScreen(ctx, step="passphrase")
    screen.build()
    change(screen.pass_field, "123456")
    warnings = [c.data for c in screen.warnings.controls]
    assert "setup.warn_short_pin" in warnings
    assert screen.strength_text.value == "Very weak"
    change(screen.pass_field, "Tall-Maple-Quietly-91")
    assert screen.warnings.controls == []
    assert screen.strength_text.value == "Strong"


def test_disguise_asks_for_a_digits_only_passphrase() -> None:
    ctx = context()
    screen = SetupScreen(ctx, step="passphrase")
    screen.build()
    change(screen.disguise_switch, True)
    change(screen.pass_field, "letters 12345")
    assert "setup.warn_digits_for_disguise" in [c.data for c in screen.warnings.controls]


def test_mismatched_passphrases_create_nothing() -> None:
    ctx = context()
    screen = SetupScreen(ctx, step="passphrase")
    screen.build()
    change(screen.pass_field, PASS)
    change(screen.confirm_field, PASS + "x")
    click(button_of(screen.create_row))
    assert screen.banner.message == "The two passphrases are not the same."
    assert not ctx.service.has_vault()


def test_creating_with_a_duress_passphrase_moves_on_to_joining() -> None:
    ctx = context()
    service = ctx.service
    screen = SetupScreen(ctx, step="passphrase")
    screen.build()
    change(screen.pass_field, PASS)
    change(screen.confirm_field, PASS)
    change(screen.duress_switch, True)
    assert screen.duress_field.visible
    change(screen.duress_field, "under pressure")
    click(button_of(screen.create_row))
    assert service.unlocked and service.settings().has_duress
    assert screen.step == "org" and screen.passphrase == ""


def test_an_invite_shows_the_fingerprint_in_groups_before_joining() -> None:
    ctx = unlocked()
    screen = SetupScreen(ctx, step="org")
    screen.build()
    change(screen.invite_field, "garbage")
    click(button_of(find(screen.build().body, "setup-check")))
    assert screen.banner.message.startswith("This is not a valid invite code")
    change(screen.invite_field, fake_invite(root="ab12" * 8))
    click(button_of(find(screen.build().body, "setup-check")))
    body = screen.build().body
    assert find(body, "setup-fingerprint").value == "ab12 ab12 ab12 ab12 ab12 ab12 ab12 ab12"
    click(button_of(find(body, "setup-join")))
    assert ctx.service.org_info() is not None
    assert ctx.nav.names[-2:] == ["unlocked", "sync_now"]  # type: ignore[attr-defined]


# ------------------------------------------------------------ unlock and calculator


def test_a_wrong_passphrase_says_how_many_attempts_are_left() -> None:
    ctx = unlocked()
    ctx.service.update_settings(wipe_threshold=5)
    ctx.service.lock()
    screen = UnlockScreen(ctx)
    screen.build()
    screen.field.value = "wrong wrong"
    click(button_of(screen.button_row))
    assert "Attempts left before everything is erased: 4" in screen.banner.message
    assert screen.field.value == ""
    screen.field.value = PASS
    click(button_of(screen.button_row))
    assert ctx.service.unlocked
    assert ctx.nav.names == ["unlocked"]  # type: ignore[attr-defined]


def test_reaching_the_threshold_on_the_unlock_screen_goes_to_first_run() -> None:
    ctx = unlocked()
    ctx.service.update_settings(wipe_threshold=3)
    ctx.service.lock()
    screen = UnlockScreen(ctx)
    screen.build()
    for _ in range(3):
        screen.field.value = "wrong wrong"
        click(button_of(screen.button_row))
    assert not ctx.service.has_vault()
    assert ctx.nav.names == ["wiped"]  # type: ignore[attr-defined]


def press_all(screen: CalculatorScreen, keys: str) -> None:
    for key in keys:
        click(screen.buttons[key])


def test_the_calculator_calculates_and_sums_are_never_unlock_attempts() -> None:
    ctx = context()
    ctx.service.create("739105628417", language="ru", disguise=True)
    ctx.service.update_settings(wipe_threshold=3)
    ctx.service.lock()
    screen = CalculatorScreen(ctx)
    screen.build()
    for _ in range(5):
        press_all(screen, "12+3×4=")
        assert screen.display.value == "24"
        click(screen.buttons["C"])
    assert ctx.service.has_vault()
    assert "unlock" not in ctx.service.calls  # type: ignore[attr-defined]


def test_the_calculator_reads_percent_as_phones_do_and_says_error_in_the_users_language() -> None:
    ctx = context(lang="ky")
    screen = CalculatorScreen(ctx)
    screen.build()
    for keys, shown in (("200+10%=", "220"), ("200−10%=", "180"), ("200×10%=", "20")):
        press_all(screen, keys)
        assert screen.display.value == shown
        click(screen.buttons["C"])
    press_all(screen, "7÷0=")
    assert screen.display.value == "Ката"


def test_typing_the_passphrase_and_equals_unlocks_the_calculator() -> None:
    ctx = context()
    ctx.service.create("739105628417", language="ru", disguise=True)
    ctx.service.lock()
    screen = CalculatorScreen(ctx)
    screen.build()
    press_all(screen, "739105628416=")
    assert screen.display.value == "739105628416"  # looks like any calculator
    assert not ctx.service.unlocked
    press_all(screen, "739105628417=")
    assert ctx.service.unlocked
    assert ctx.nav.names == ["unlocked"]  # type: ignore[attr-defined]


def test_wrong_numbers_on_the_calculator_count_toward_the_wipe() -> None:
    ctx = context()
    ctx.service.create("739105628417", language="ru", disguise=True)
    ctx.service.update_settings(wipe_threshold=2)
    ctx.service.lock()
    screen = CalculatorScreen(ctx)
    screen.build()
    press_all(screen, "111111=")
    press_all(screen, "222222=")
    assert not ctx.service.has_vault()
    assert ctx.nav.names == ["wiped"]  # type: ignore[attr-defined]


def test_holding_c_on_the_calculator_wipes_at_once_and_the_display_only_clears() -> None:
    ctx = context()
    ctx.service.create("739105628417", language="ru", disguise=True)
    ctx.service.lock()
    screen = CalculatorScreen(ctx)
    screen.build()
    press_all(screen, "12+")
    run(screen.buttons["C"].on_long_press(None))
    assert not ctx.service.has_vault()
    assert screen.display.value == "0"  # as "C" would: no countdown, nothing to cancel
    assert ctx.nav.names == ["panicked"]  # type: ignore[attr-defined]


def test_after_a_panic_the_calculator_shows_the_owners_sign_until_a_key() -> None:
    ctx = context()
    screen = CalculatorScreen(ctx, sign=True)
    screen.build()
    assert screen.display.value == "0."
    press_all(screen, "7")
    assert screen.display.value == "7"
    press_all(screen, "C")
    assert screen.display.value == "0"


def test_with_no_vault_holding_equals_opens_setup() -> None:
    ctx = context()
    screen = CalculatorScreen(ctx)
    screen.build()
    run(screen.buttons["="].on_long_press(None))
    assert ctx.nav.names == ["go:setup"]  # type: ignore[attr-defined]


# ------------------------------------------------------------ incidents


def test_the_list_shows_each_sync_state_newest_first() -> None:
    ctx = unlocked()
    svc: FakeFieldService = ctx.service  # type: ignore[assignment]
    svc.save_incident(None, {"violation_types": ["raid"]}, submit=False)
    svc.join(fake_invite())
    svc.sync_round()
    svc.save_incident(None, {"violation_types": ["beating"]}, submit=False)
    screen = IncidentListScreen(ctx)
    body = screen.build().body
    shown = texts(body)
    assert "Draft" in shown and "Beating or torture" in shown
    assert "Last sync" in find(body, "sync-status").value
    svc.next_sync_error = DeviceRevoked()
    answers = {
        "occurred_at": "2026-11-01T10:00",
        "region": "kz.almaty_city",
        "violation_types": ["threat"],
        "description": "d",
        "perpetrator_types": ["unknown"],
        "victims": "B1",
        "consent": {"share_org": True, "statistics": False, "advocacy": False},
    }
    svc.save_incident(None, answers, submit=True)
    with pytest.raises(DeviceRevoked):
        svc.sync_round()
    shown = texts(screen.build().body)
    # as on the real service: the report still waits, and the sync line says why
    assert "Waiting to send" in shown and "Not sent" not in shown
    assert (
        "The organisation has disconnected this phone"
        in find(screen.build().body, "sync-error").value
    )
    click(button_of(find(screen.build().body, "incident-new")))
    assert ctx.nav.names[-1] == "go:incident"  # type: ignore[attr-defined]


def test_sending_an_incomplete_form_shows_messages_under_the_fields() -> None:
    ctx = unlocked()
    screen = IncidentFormScreen(ctx)
    body = screen.build().body
    click(button_of(find(body, "form-send")))
    assert screen.banner.message.startswith("Please check the marked answers")
    assert find(screen.fields_column, "error-occurred_at").value == "Please answer this."
    assert ctx.service.list_incidents() == []


def test_choosing_extortion_reveals_the_amount_and_currency() -> None:
    ctx = unlocked()
    screen = IncidentFormScreen(ctx)
    screen.build()
    with pytest.raises(AssertionError):
        find(screen.fields_column, "input-extortion_amount")
    change(find(screen.fields_column, "input-violation_types-extortion"), True)
    amount = find(screen.fields_column, "input-extortion_amount")
    change(amount, "12 000")
    assert screen.answers["extortion_amount"] == 12000
    change(find(screen.fields_column, "input-violation_types-extortion"), False)
    with pytest.raises(AssertionError):
        find(screen.fields_column, "input-extortion_amount")


def test_a_complete_form_in_kyrgyz_is_sent_and_the_list_is_shown() -> None:
    ctx = unlocked("ky")
    screen = IncidentFormScreen(ctx)
    body = screen.build().body
    assert "Качан жана кайда" in texts(body)
    col = screen.fields_column
    change(find(col, "input-occurred_at-date"), "2026-11-01")
    change(find(col, "input-occurred_at-time"), "21:30")
    select(find(col, "input-region-country"), "kg")
    select(find(col, "input-region"), "kg.naryn")
    change(find(col, "input-violation_types-detention"), True)
    change(find(col, "input-description"), "Кармалды")
    change(find(col, "input-perpetrator_types-police"), True)
    change(find(col, "input-victims"), "А1")
    change(find(col, "input-consent-share_org"), True)
    click(button_of(find(body, "form-send")))
    assert screen.banner.message == ""
    [item] = ctx.service.list_incidents()
    assert item.status == "queued" and item.title == "Кармоо же камакка алуу"
    incident = ctx.service.get_incident(item.id)
    assert incident.answers["occurred_at"] == "2026-11-01T21:30"
    assert incident.answers["consent"] == {
        "share_org": True,
        "statistics": False,
        "advocacy": False,
    }
    assert ctx.nav.names[-2:] == ["go:incidents", "sync_now"]  # type: ignore[attr-defined]


def test_attachments_are_encrypted_on_pick_and_previewed_from_memory() -> None:
    photo = b"\x89PNG\r\n\x1a\nfake"
    ctx = unlocked(files=[PickedFile("p.png", photo, None)])
    screen = IncidentFormScreen(ctx)
    body = screen.build().body
    click(find(screen.fields_column, "att-add"))
    [attachment_id] = screen.answers["evidence"]
    click(find(screen.fields_column, f"att-preview-{attachment_id}"))
    images = [c for c in walk(screen.fields_column) if isinstance(c, ft.Image)]
    assert [i.src for i in images] == [photo]
    click(button_of(find(body, "form-draft")))
    [item] = ctx.service.list_incidents()
    assert item.attachments == 1


def test_a_picked_file_given_by_path_is_deleted_after_encryption(tmp_path: Any) -> None:
    cached = tmp_path / "cache.jpg"
    cached.write_bytes(b"plaintext copy")
    ctx = unlocked(files=[PickedFile("cache.jpg", None, str(cached), copy=True)])
    screen = IncidentFormScreen(ctx)
    screen.build()
    click(find(screen.fields_column, "att-add"))
    assert not cached.exists()
    assert ctx.service.attachment_bytes(screen.answers["evidence"][0]) == b"plaintext copy"


def test_leaving_a_new_incident_keeps_its_attachment_until_the_draft_is_discarded() -> None:
    ctx = unlocked(files=[PickedFile("a.txt", b"a", None)])
    screen = IncidentFormScreen(ctx)
    screen.build()
    click(find(screen.fields_column, "att-add"))
    [attachment_id] = [i for v in screen.answers.values() if isinstance(v, list) for i in v]
    screen.leave()
    assert ctx.service.attachment(attachment_id).name == "a.txt"
    listing = IncidentListScreen(ctx)
    [draft] = ctx.service.list_drafts("incident")
    click(find(listing.build().body, f"draft-discard-{draft.id}"))
    assert ctx.service.list_drafts() == []
    with pytest.raises(Exception, match="not_found"):
        ctx.service.attachment(attachment_id)


def test_locking_saves_the_typed_form_as_a_draft_and_clears_the_screen() -> None:
    ctx = unlocked()
    screen = IncidentFormScreen(ctx)
    screen.build()
    change(find(screen.fields_column, "input-description"), "typed before the lock")
    screen.on_lock()
    assert screen.answers == {} and screen.fields_column.controls == []
    assert ctx.service.list_incidents() == []  # nothing saved as an incident behind its back
    [draft] = ctx.service.list_drafts("incident")
    assert draft.content["answers"]["description"] == "typed before the lock"


def test_deleting_needs_a_second_tap() -> None:
    ctx = unlocked()
    incident_id = ctx.service.save_incident(None, {}, submit=False)
    screen = IncidentFormScreen(ctx, incident_id)
    click(button_of(find(screen.build().body, "form-delete")))
    assert ctx.service.list_incidents() != []
    click(button_of(find(screen.build().body, "form-delete")))
    assert ctx.service.list_incidents() == []


# ------------------------------------------------------------ notes, messages, settings, panic


def test_notes_are_saved_private_or_shared() -> None:
    ctx = unlocked()
    screen = NotesScreen(ctx)
    screen.build()
    change(screen.editor, "private thought")
    click(button_of(find(screen.build().body, "note-save")))
    screen.build()
    change(screen.editor, "for the office")
    change(screen.share_switch, True)
    click(button_of(find(screen.build().body, "note-save")))
    notes = {n.text: n.status for n in ctx.service.list_notes()}
    assert notes == {"private thought": "local", "for the office": "queued"}
    assert ctx.nav.names.count("sync_now") == 1  # type: ignore[attr-defined]


def test_a_coordinators_message_can_be_answered() -> None:
    ctx = unlocked()
    svc: FakeFieldService = ctx.service  # type: ignore[assignment]
    incident_id = svc.save_incident(None, {}, submit=False)
    svc.add_coordinator_message(incident_id, "Badge number?")
    screen = MessagesScreen(ctx, incident_id)
    body = screen.build().body
    assert "Badge number?" in texts(body)
    change(screen.reply_field, "4471")
    click(button_of(find(body, "msg-send")))
    assert [m.text for m in svc.messages(incident_id)] == ["Badge number?", "4471"]


def test_settings_switch_language_and_show_versions() -> None:
    ctx = unlocked()
    screen = SettingsScreen(ctx)
    body = screen.build().body
    import cryptography

    assert cryptography.__version__ in find(body, "about-crypto").value
    assert find(body, "about-openssl").value
    click(find(body, "lang-kk"))
    assert ctx.service.launch_prefs().language == "kk"
    select(find(body, "settings-threshold"), "3")
    assert ctx.service.settings().wipe_threshold == 3
    change(screen.disguise, True)  # the passphrase is not digits: refused, switch back off
    assert screen.disguise.value is False
    assert "digits only" in screen.banner.message


def test_the_panic_control_counts_down_and_can_be_cancelled() -> None:
    ctx = unlocked()
    panic = PanicControl(ctx, sleep=no_sleep)
    click(panic.button)
    assert panic.banner.visible and "hold" in panic.text.value.lower()
    panic.counting = True
    click(panic.cancel_button)
    assert not panic.counting and not panic.banner.visible
    run(panic.button.on_long_press(None))
    assert not ctx.service.has_vault()
    assert ctx.nav.names == ["panicked"]  # type: ignore[attr-defined]


def test_a_cancelled_countdown_wipes_nothing() -> None:
    ctx = unlocked()
    panic: PanicControl

    def cancel_then_sleep(_s: float) -> Any:
        panic.cancel()
        return no_sleep(0)

    panic = PanicControl(ctx, sleep=cancel_then_sleep)
    run(panic.button.on_long_press(None))
    assert ctx.service.has_vault() and ctx.nav.names == []  # type: ignore[attr-defined]


def test_a_short_code_asks_for_the_server_then_fetches_the_invite_and_shows_it() -> None:
    ctx = unlocked()
    service = ctx.service
    assert isinstance(service, FakeFieldService)
    code = new_code()
    service.short_codes.add(code)
    screen = SetupScreen(ctx, step="org")
    screen.build()
    assert not screen.server_field.visible
    change(screen.invite_field, code.lower().replace("-", " "))
    assert screen.server_field.visible and screen.short_hint.visible
    change(screen.server_field, "https://org.example")
    click(button_of(screen.check_row))
    body = screen.build().body
    assert find(body, "setup-fingerprint").value == "abab " * 7 + "abab"
    click(button_of(find(body, "setup-join")))
    assert service.org_info() is not None


def test_a_mistyped_short_code_is_refused_with_a_clear_message() -> None:
    ctx = unlocked()
    screen = SetupScreen(ctx, step="org")
    screen.build()
    code = new_code()
    typo = ("1" if code[0] != "1" else "2") + code[1:]
    change(screen.invite_field, typo)
    change(screen.server_field, "https://org.example")
    click(button_of(screen.check_row))
    assert screen.banner.message.startswith("This short code has a typing mistake")
    assert screen.preview is None


def test_a_date_typed_the_russian_way_is_stored_as_iso_and_a_bad_one_is_named() -> None:
    ctx = unlocked("ru")
    screen = IncidentFormScreen(ctx)
    screen.build()
    col = screen.fields_column
    date = find(col, "input-occurred_at-date")
    assert date.hint_text == "03.12.2026"
    change(date, "03.12.2026")
    change(find(col, "input-occurred_at-time"), "21.30")
    assert screen.answers["occurred_at"] == "2026-12-03T21:30"
    change(date, "31.02.2026")
    date.on_blur(ft.ControlEvent(control=date, name="blur", data=None))
    assert date.error.startswith("Это не дата. Введите её как 21.11.2026")
    assert screen.answers["occurred_at"] == "31.02.2026T21:30"  # kept, and refused on Send


def test_a_date_picked_from_the_calendar_fills_the_field_in_the_local_form() -> None:
    ctx = unlocked("kk")
    screen = IncidentFormScreen(ctx)
    screen.build()
    col = screen.fields_column
    pick = find(col, "input-occurred_at-date-pick")
    assert pick.tooltip == "Күнді таңдау"
    click(pick)  # no page here: opening the calendar is a no-op
    row = next(c for c in walk(col) if isinstance(c, ft.Row) and pick in c.controls)
    date_input_field = row.controls[0]
    picker = pick.on_click.__self__.picker
    picker.value = datetime.datetime(2026, 3, 8)
    picker.on_change(ft.ControlEvent(control=picker, name="change", data=None))
    assert date_input_field.value == "08.03.2026"
    assert screen.answers["occurred_at"].startswith("2026-03-08T")


def test_a_short_code_the_server_does_not_know_says_what_to_do() -> None:
    ctx = unlocked("ky")
    screen = SetupScreen(ctx, step="org")
    screen.build()
    change(screen.invite_field, new_code())
    change(screen.server_field, "https://org.example")
    click(button_of(screen.check_row))
    assert screen.banner.message.startswith("Бул серверде мындай кыска коду бар чакыруу жок.")
    assert screen.preview is None
