"""Every encrypted export the coordinator app makes opens from inside the app: the recommended
one (to the coordinators' keys) with the workspace's own key, a passphrase-protected one after
its passphrase is typed; what cannot be opened says why in the coordinator's language."""

from __future__ import annotations

import pytest

from app.coordinator.open_export_view import OPEN_ERRORS, OpenExportSection
from app.exports import protect
from app.exports.opened import opened
from app.i18n import LANGUAGES, Translator
from sync.age.x25519 import X25519Identity
from tests.app.coordinator.fakes import FakePort, click
from tests.app.coordinator.test_service_contract import ANSWERS
from tests.app.coordinator.test_views import ctx_for, texts
from tests.app.coordinator.worlds import FakeWorld

EXPORT_PASSPHRASE = "a long export passphrase 2026"


@pytest.fixture
def world(tmp_path):
    w = FakeWorld(tmp_path)
    w.setup()
    device = w.enrol_device("phone")
    w.report(device, ANSWERS, b"\x89PNG-not-really")
    w.service.pull()
    return w


def section(world, lang: str = "en") -> tuple[OpenExportSection, FakePort]:
    port = FakePort()
    return OpenExportSection(ctx_for(world.service, lang, port)), port


@pytest.mark.parametrize(
    ("kind", "identifying", "opened_kind", "starts"),
    [
        ("csv", True, "csv", b""),
        ("pdf", False, "pdf", b"%PDF-"),
        ("bundle", False, "bundle", b"PK\x03\x04"),
        ("uwazi", True, "uwazi", b"PK\x03\x04"),
    ],
)
def test_the_recommended_encrypted_export_opens_with_the_workspaces_own_key(
    world, kind: str, identifying: bool, opened_kind: str, starts: bytes
) -> None:
    result = world.service.export(kind, identifying=identifying, protection="recipients")
    assert result.protected and result.filename.endswith(".age")
    view, port = section(world)
    port.to_pick = (result.filename, result.data)
    click(view.pick_button)
    assert not view.error.visible, texts(view.error)
    name, data = port.saved[-1]
    assert name == result.filename[: -len(".age")]
    assert data.startswith(starts) and data != result.data
    assert view.last is not None and view.last.kind == opened_kind
    shown = texts(view.result)
    assert name in shown and "not encrypted" in shown
    if kind == "bundle":
        assert "Bundle valid" in shown  # checked as well as opened


def test_a_passphrase_protected_export_asks_for_its_passphrase_then_opens(world) -> None:
    result = world.service.export(
        "csv", identifying=True, protection="passphrase", passphrase=EXPORT_PASSPHRASE
    )
    view, port = section(world, "ru")
    t = Translator("ru", "coordinator").t
    port.to_pick = (result.filename, result.data)
    click(view.pick_button)
    assert port.saved == [] and view.passphrase.visible and view.open_button.visible
    assert texts(view.error) == t("exports.open_error_needs_passphrase")
    view.passphrase.value = "not the passphrase"
    click(view.open_button)
    assert port.saved == [] and texts(view.error) == t("exports.open_error_wrong_passphrase")
    view.passphrase.value = EXPORT_PASSPHRASE
    click(view.open_button)
    assert port.saved and port.saved[-1][0].endswith(".csv") and not view.error.visible
    assert not view.passphrase.visible and view.passphrase.value == ""


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_file_that_cannot_be_opened_says_why_in_the_coordinators_language(
    world, lang: str
) -> None:
    t = Translator(lang, "coordinator").t
    stranger = X25519Identity.generate().recipient().encode()
    cases = {
        "not_encrypted": ("cases.csv", b"id,region\n1,osh\n"),
        "not_addressed_to_identity": (
            "other.csv.age",
            protect.protect(b"id\n1\n", recipients=[stranger]),
        ),
        "damaged": ("cut.csv.age", world.service.export("bundle").data[:200]),
    }
    for reason, picked in cases.items():
        view, port = section(world, lang)
        port.to_pick = picked
        click(view.pick_button)
        assert port.saved == []
        assert texts(view.error) == t(f"exports.open_error_{reason}"), reason


def test_every_reason_an_export_does_not_open_has_a_message_in_every_language() -> None:
    for lang in LANGUAGES:
        t = Translator(lang, "coordinator")
        for reason in OPEN_ERRORS:
            assert t.has(f"exports.open_error_{reason}"), (lang, reason)
        for kind in ("bundle", "uwazi", "zip", "pdf", "csv", "other"):
            assert t.has(f"exports.opened_kind_{kind}"), (lang, kind)


def test_an_opened_file_is_named_after_the_export_without_its_age_suffix() -> None:
    assert opened("cases-2026-12-05.csv.age", b"id\n").name == "cases-2026-12-05.csv"
    assert opened("report.age", b"%PDF-1.7 ...").name == "report.pdf"
    assert opened("../../etc/report.pdf.age", b"%PDF-1.7").name == "report.pdf"
    assert opened("x.age", bytes(range(256))).kind == "other"
