"""Coordinator screens without a page: handlers called with fake events, services faked."""

from __future__ import annotations

import datetime
import json

import flet as ft
import pytest

from app.casebook.cases import CaseFilter
from app.coordinator.case_view import CaseView
from app.coordinator.cases_view import CaseListView
from app.coordinator.context import NAMESPACE, ViewContext
from app.coordinator.dashboard_view import DashboardView
from app.coordinator.devices_view import DevicesView
from app.coordinator.exports_view import ExportsView
from app.coordinator.forms_view import FormsView
from app.coordinator.setup_view import SetupView, UnlockView
from app.coordinator.shell import SCREENS, CoordinatorApp
from app.i18n import Translator
from app.services.coordinator_fake import FakeCoordinatorService
from sync.shortcode import parse_code
from tests.app.coordinator.fakes import FakePort, click
from tests.app.coordinator.test_service_contract import ANSWERS
from tests.app.coordinator.worlds import PASSPHRASE, FakeWorld


@pytest.fixture
def world(tmp_path):
    w = FakeWorld(tmp_path)
    w.setup()
    device = w.enrol_device("phone")
    w.case_ids = [
        w.report(device, ANSWERS, b"\x89PNG-not-really"),
        w.report(device, {**ANSWERS, "region": "kg.chuy", "description": "Другое дело"}),
    ]
    w.device = device
    w.service.pull()
    return w


def ctx_for(service, lang: str = "ru", port: FakePort | None = None) -> ViewContext:
    return ViewContext(
        service=service, port=port or FakePort(), translator=Translator(lang, NAMESPACE)
    )


def texts(control) -> str:
    """Every text value inside a control tree, joined (for assertions on what is shown)."""
    out: list[str] = []

    def walk(c) -> None:
        if c is None:
            return
        for attr in ("value", "label", "text", "hint_text"):
            v = getattr(c, attr, None)
            if isinstance(v, str):
                out.append(v)
        for attr in ("content", "title", "subtitle", "leading", "label"):
            child = getattr(c, attr, None)
            if isinstance(child, ft.Control):
                walk(child)
        for attr in ("controls", "cells", "rows", "columns", "destinations", "options", "segments"):
            for child in getattr(c, attr, None) or []:
                walk(child)

    walk(control)
    return "\n".join(out)


def test_setup_refuses_mismatched_passphrases_then_creates_the_organisation() -> None:
    service = FakeCoordinatorService()
    ready = []
    view = SetupView(ctx_for(service), lambda: ready.append(True))
    view.passphrase.value, view.confirm.value = PASSPHRASE, "other"
    click(view.submit)
    assert view.error.visible and not ready
    view.confirm.value = PASSPHRASE
    view.server.value, view.org.value, view.token.value = "http://127.0.0.1:8", "Сеть", "tok"
    click(view.submit)
    assert ready == [True] and service.info().org == "Сеть"
    assert view.passphrase.value == "" and view.token.value == ""


def test_setup_passes_the_certificate_pin_and_shows_a_bad_one_in_the_language() -> None:
    service = FakeCoordinatorService()
    ready = []
    view = SetupView(ctx_for(service, "ru"), lambda: ready.append(True))
    assert view.tls_pin.label == "Отпечаток сертификата (необязательно)"
    view.passphrase.value = view.confirm.value = PASSPHRASE
    view.server.value, view.org.value, view.token.value = "https://10.0.0.5", "Сеть", "tok"
    view.tls_pin.value = "12:34"
    click(view.submit)
    assert not ready and view.error.content.value.startswith("Отпечаток сертификата — это SHA-256")
    view.tls_pin.value = " " + "AB" * 32 + " "
    click(view.submit)
    assert ready == [True] and service.info().tls_pin == "ab" * 32


def test_join_mode_needs_a_backup_and_shows_the_service_error() -> None:
    service = FakeCoordinatorService()
    view = SetupView(ctx_for(service, "en"), lambda: None)
    view.set_mode("join")
    assert view.join_fields.visible and not view.new_fields.visible
    view.passphrase.value = view.confirm.value = PASSPHRASE
    view.server.value = "http://127.0.0.1:8"
    click(view.submit)
    assert "backup" in view.error.content.value.lower()
    view.backup.value, view.backup_passphrase.value = "garbage", "x"
    click(view.submit)
    assert view.error.content.value == "Wrong passphrase."


def test_unlock_shows_wrong_passphrase_and_unlocks_with_the_right_one(world) -> None:
    world.service.lock()
    ready = []
    view = UnlockView(ctx_for(world.service, "kk"), lambda: ready.append(1))
    view.passphrase.value = "nope"
    click(view.button)
    assert view.error.visible and view.error.content.value == "Құпия тіркес қате."
    assert view.passphrase.value == ""  # never kept on screen
    view.passphrase.value = PASSPHRASE
    click(view.button)
    assert ready == [1] and world.service.unlocked


def test_unlocking_a_workspace_from_a_newer_release_says_so_and_counts_nothing(tmp_path) -> None:
    from app.errors_text import error_key
    from app.services.coordinator import VaultCoordinatorService
    from storage import Vault, VaultFormatTooNew
    from storage.keyfile import MAGIC

    Vault.create(tmp_path, PASSPHRASE, kdf_log_n=15, wipe_threshold=1).lock()
    key = tmp_path / "key"
    key.write_bytes(MAGIC[:-1] + bytes([MAGIC[-1] + 1]) + key.read_bytes()[len(MAGIC) :])
    service = VaultCoordinatorService(tmp_path)
    view = UnlockView(ctx_for(service, "en"), lambda: None)
    for attempt in ("a wrong passphrase", PASSPHRASE):
        view.passphrase.value = attempt
        click(view.button)
        assert view.error.content.value.startswith("This workspace was saved by a newer version")
    assert service.is_set_up() and not service.unlocked
    assert error_key(VaultFormatTooNew("journal", 2, 1)) == "error.vault_too_new"


def test_case_list_filters_searches_sorts_and_opens_a_case(world) -> None:
    opened = []
    ctx = ctx_for(world.service)
    ctx.navigate = lambda screen, arg="": opened.append((screen, arg))
    view = CaseListView(ctx)
    view.load()
    assert len(view.table.rows) == 2 and "Дел: 2" in view.count.value
    view.filters.dropdowns["region"].value = "kg.chuy"
    click(view.filters.dropdowns["region"])
    assert len(view.table.rows) == 1 and ctx.filters.region == "kg.chuy"
    view.filters.on_clear()
    view.filters.text.value = "ҚОРҚЫТТЫ"
    view.filters.on_apply()
    assert [r for r in view.results] and view.results[0].id == world.case_ids[0]
    view.filters.date_from.value = "31.02.2025"
    view.filters.on_apply()
    assert view.filters.date_error.visible
    assert (
        view.filters.date_from.error
        == "Это не дата. Введите её как 03.12.2026 или выберите кнопкой календаря."
    )
    view.filters.date_from.value = "02.05.2025"  # the Russian way
    view.filters.on_apply()
    assert not view.filters.date_error.visible and ctx.filters.date_from == "2025-05-02"
    picker = view.filters.to_input.picker
    picker.value = datetime.datetime(2025, 5, 1)
    picker.on_change(ft.ControlEvent(control=picker, name="change", data=None))
    assert view.filters.date_to.value == "01.05.2025" and ctx.filters.date_to == "2025-05-01"
    assert view.results == []  # from after to: nothing, and applied at once
    view.filters.on_clear()
    view.on_sort(
        ft.DataColumnSortEvent(
            column_index=2, ascending=True, control=view.table.columns[2], name="sort"
        )
    )
    assert ctx.filters.sort == "region" and ctx.filters.descending is False
    view.table.rows[0].on_select_change(None)
    assert opened == [("case", view.results[0].id)]


def test_case_view_shows_fields_custody_and_applies_workflow(world) -> None:
    port = FakePort()
    ctx = ctx_for(world.service, "ru", port)
    cid = world.case_ids[0]
    view = CaseView(ctx, cid)
    view.load()
    shown = texts(view.control)
    assert "Задержали у кафе" in shown and "Подпись верна, цепочка цела" in shown
    view.status.value = "verified"
    click(view.status)
    view.new_tag.value = "срочно"
    view.on_tag()
    view.new_comment.value = "Позвонить юристу"
    view.on_comment()
    view.referral_to.value, view.referral_note.value = "юрист", "Ош"
    view.on_refer()
    view.message.value = "Уточните, пожалуйста"
    view.on_send()
    state = world.service.case(cid).state
    assert state.status == "verified" and "срочно" in state.tags
    assert state.comments[0].text == "Позвонить юристу" and state.referrals[0].to == "юрист"
    assert view.new_comment.value == "" and view.message.value == ""
    assert "Уточните, пожалуйста" in texts(view.thread)
    view.on_untag("срочно")
    assert "срочно" not in world.service.case(cid).state.tags


def test_case_view_shows_a_photo_from_memory_and_explains_custody_problems(world) -> None:
    ctx = ctx_for(world.service, "en")
    cid = world.case_ids[0]
    view = CaseView(ctx, cid)
    view.load()
    attachment = view.detail.attachments[0]
    holder = ft.Column()
    view.on_attachment(attachment, holder)
    image = holder.controls[0]
    assert isinstance(image, ft.Image) and image.src == b"\x89PNG-not-really"
    raw = world.service.index().raw(cid)
    raw["custody"] = {"signature": "valid", "chain": "gap", "problems": ["seq 3: missing 2"]}
    world.service._invalidate()
    view.load()
    shown = texts(view.custody)
    assert "Chain: envelopes are missing before this one" in shown and "seq 3: missing 2" in shown


def test_devices_invite_shows_code_and_qr_and_revoke_asks_first(world) -> None:
    port = FakePort(confirm=False)
    view = DevicesView(ctx_for(world.service, "ky", port))
    view.load()
    assert len(view.table.rows) == 1
    click(view.invite_button)
    assert view.invite_box.visible and view.invite_code.value.startswith("FV1-")
    assert isinstance(view.invite_qr.src, bytes) and view.invite_qr.src.startswith(b"\x89PNG")
    assert view.copy_button.visible is not False
    assert view.invite_code.read_only and view.short_box.visible
    assert parse_code(view.short_code.value or "") == view.short_code.value
    assert "Телефондо бул кодду жана сервердин дарегин териңиз: http" in str(
        view.short_server.value
    )
    assert "колдонула элек" in texts(view.open_invites).lower()
    rows = [c for c in view.open_invites.controls if isinstance(c, ft.Row)]
    click(rows[0].controls[-1])  # cancel the newest
    assert len(world.service.open_invites()) == len(rows) - 1
    view.on_revoke(world.device)
    assert port.confirmations and not world.service.devices()[0].revoked
    port.answer = True
    view.on_revoke(world.device)
    view.on_wipe(world.device)
    device = world.service.devices()[0]
    assert device.revoked and device.wipe == "pending"
    assert "Ажыратылды" in texts(view.table)


def test_dashboard_follows_the_shared_filters(world) -> None:
    ctx = ctx_for(world.service, "en")
    view = DashboardView(ctx)
    view.load()
    assert view.board.total == 2 and len(view.grid.controls) == 4
    view.filters.dropdowns["region"].value = "kg.osh"
    view.filters.on_apply()
    assert view.board.total == 1 and ctx.filters.region == "kg.osh"


def test_identifying_export_warns_and_is_encrypted_unless_explicitly_confirmed(world) -> None:
    port = FakePort(confirm=False)
    view = ExportsView(ctx_for(world.service, "en", port))
    view.load()
    assert not view.warning.visible
    click(view.button)
    assert port.saved[-1][0].endswith(".csv")
    view.identifying.value = True
    view.on_options()
    assert view.warning.visible and view.protect_box.visible
    click(view.button)
    assert port.saved[-1][0].endswith(".csv.age") and view.last.protected
    view.protection.value = "none"
    view.on_options()
    click(view.button)
    assert port.confirmations and port.saved[-1][0].endswith(".csv.age")  # refused: not saved
    port.answer = True
    click(view.button)
    assert port.saved[-1][0].endswith(".csv") and not view.last.protected
    view.kind.value = "stats"
    view.on_options()
    assert not view.warning.visible


def test_bundle_check_shows_valid_and_tampered_verdicts(world) -> None:
    port = FakePort()
    view = ExportsView(ctx_for(world.service, "en", port))
    good = world.service.export("bundle", protection="none").data
    port.to_pick = ("evidence.zip", good)
    click(view.verify_button)
    assert "Bundle valid" in texts(view.verdict)
    port.to_pick = ("broken.zip", good[:-40] + b"\x00" * 40)
    click(view.verify_button)
    assert "Bundle INVALID" in texts(view.verdict)


def test_forms_validate_preview_and_publish(world) -> None:
    port = FakePort()
    view = FormsView(ctx_for(world.service, "ky", port))
    view.load()
    assert view.preview.controls and view.status.visible
    view.editor.value = '{"id": 1}'
    view.on_validate()
    assert "Форма туура эмес" in view.status.content.value and not view.preview.controls
    raw = world.service.forms()[0]
    view.editor.value = json.dumps({**raw, "version": raw["version"] + 1})
    click(
        next(
            c for c in view.control.controls[2].controls if getattr(c, "key", "") == "form-publish"
        )
    )
    assert world.service.info().org_version == 2 and port.confirmations


def test_settings_switch_language_at_run_time_and_lock(world) -> None:
    app = CoordinatorApp(world.service, FakePort(), "en")
    assert app.screen == "cases"
    app.navigate("settings")
    assert "Settings" in texts(app.root)
    app.view.on_pick("kk")
    assert app.ctx.lang == "kk" and "Баптаулар" in texts(app.root)
    assert world.service.language() == "kk"
    app.view.backup_passphrase.value = "a long backup passphrase"
    app.view.on_backup()
    assert app.ctx.port.saved[-1][0] == "fieldvault-root-key.age"
    app.lock()
    assert not world.service.unlocked and app.screen == "unlock"
    assert "Задержали" not in texts(app.root)


def test_every_screen_renders_without_missing_text_in_every_language(world) -> None:
    for lang in ("en", "ru", "ky", "kk"):
        missing: set[str] = set()
        app = CoordinatorApp(world.service, FakePort(), lang)
        translator = app.ctx.translator
        original = translator.t

        def checked(
            key: str, _orig=original, _tr=translator, _missing=missing, **params: object
        ) -> str:
            if not _tr.has(key):
                _missing.add(key)
            return _orig(key, **params)

        translator.t = checked  # type: ignore[method-assign]
        for screen in SCREENS:
            app.navigate(screen)
        app.navigate("case", world.case_ids[0])
        app.ctx.filters = CaseFilter()
        assert not missing, f"{lang}: {sorted(missing)}"
