"""Attack: the phone's file picker copies each picked file, in plaintext and with its metadata,
into the app's cache. Whatever happens to the import (stored, refused, failed, the form left,
the app locked), that copy does not outlive it; only a desktop's own files are never touched.
A file whose metadata cannot be removed is added only after an explicit, translated choice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.field.attachments import AttachmentsPanel
from app.field.context import FieldContext, PickedFile, RecordingNavigator
from app.i18n import Translator
from app.services.field import VaultFieldService
from tests.forensics import media_samples as samples
from tests.forensics.conftest import disk_hits

PASS = "walnut orchard lantern 1987"


def panel_for(tmp_path: Path, files: list[PickedFile], lang: str = "en") -> AttachmentsPanel:
    service = VaultFieldService(tmp_path / "vault", kdf_log_n=15)
    service.create(PASS, language=lang)
    ctx = FieldContext(service, Translator(lang, "field"), RecordingNavigator(files))
    return AttachmentsPanel(ctx, [], lambda _ids: None)


def cached(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "cache" / "file_picker" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_the_picker_copy_is_deleted_even_when_the_bytes_came_back_too(tmp_path: Path) -> None:
    data = samples.mp4()
    copy = cached(tmp_path, "clip.mp4", data)
    panel = panel_for(tmp_path, [PickedFile("clip.mp4", data, str(copy), copy=True)])
    asyncio.run(panel.add())
    assert len(panel.ids) == 1
    assert not copy.exists()
    assert disk_hits(tmp_path, samples.MARKER) == []


def test_the_picker_copy_is_deleted_when_the_import_fails(tmp_path: Path) -> None:
    data = b"x" * 1000
    copy = cached(tmp_path, "a.bin", data)
    panel = panel_for(tmp_path, [PickedFile("a.bin", None, str(copy), copy=True)])
    panel.ctx.service.lock()  # the vault locks mid-import: the attach fails
    asyncio.run(panel.add())
    assert panel.ids == [] and panel.banner.message
    assert not copy.exists()


def test_a_desktop_file_picked_by_path_is_never_deleted(tmp_path: Path) -> None:
    own = tmp_path / "Documents" / "statement.pdf"
    own.parent.mkdir()
    own.write_bytes(b"%PDF-1.4 statement")
    panel = panel_for(tmp_path, [PickedFile("statement.pdf", None, str(own), copy=False)])
    asyncio.run(panel.add())
    assert len(panel.ids) == 1 and own.exists()


@pytest.mark.parametrize("lang", ["en", "ru", "ky", "kk"])
def test_a_heic_photo_is_not_added_until_the_owner_explicitly_keeps_its_metadata(
    tmp_path: Path, lang: str
) -> None:
    copy = cached(tmp_path, "IMG_0042.heic", samples.heic())
    panel = panel_for(tmp_path, [PickedFile("IMG_0042.heic", None, str(copy), copy=True)], lang)
    asyncio.run(panel.add())
    assert panel.ids == []
    question = panel.question.controls[0].content.controls[0]  # type: ignore[attr-defined]
    expected = Translator(lang, "field").t("att.metadata_stays", name="IMG_0042.heic")
    assert "att.metadata_stays" not in expected and question.value == expected
    assert copy.exists()  # kept only while the owner decides
    asyncio.run(panel.keep_metadata())
    assert len(panel.ids) == 1 and not copy.exists()
    assert panel.question.controls == []


def test_choosing_not_to_add_deletes_the_copy(tmp_path: Path) -> None:
    copy = cached(tmp_path, "voice.ogg", samples.ogg())
    panel = panel_for(tmp_path, [PickedFile("voice.ogg", None, str(copy), copy=True)])
    asyncio.run(panel.add())
    asyncio.run(panel.do_not_add())
    assert panel.ids == [] and not copy.exists()
    assert disk_hits(tmp_path, samples.MARKER) == []


def test_a_copy_waiting_for_a_choice_is_deleted_when_the_app_locks(tmp_path: Path) -> None:
    copy = cached(tmp_path, "voice.flac", samples.flac())
    panel = panel_for(tmp_path, [PickedFile("voice.flac", None, str(copy), copy=True)])
    asyncio.run(panel.add())
    assert copy.exists()
    panel.forget_previews()  # what locking calls
    assert not copy.exists() and panel.pending == []


def test_refused_bytes_from_the_web_leave_no_copy_and_can_still_be_kept(tmp_path: Path) -> None:
    data = samples.heic()
    panel = panel_for(tmp_path, [PickedFile("IMG.heic", data, None)])
    asyncio.run(panel.add())
    assert panel.ids == [] and len(panel.pending) == 1
    asyncio.run(panel.keep_metadata())
    assert panel.ctx.service.attachment_bytes(panel.ids[0]) == data
