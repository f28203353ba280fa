"""On a phone, every wipe also clears the app's cache directory, where the file picker leaves
plaintext copies of picked files."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.field.entry import cache_dirs, make_service


def test_on_a_phone_a_wipe_also_clears_the_cache_where_picked_files_are_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    (cache / "file_picker").mkdir(parents=True)
    (cache / "file_picker" / "IMG_0042.jpg").write_bytes(b"a plaintext copy with EXIF")
    monkeypatch.setenv("FLET_APP_STORAGE_TEMP", str(cache))
    service = make_service(tmp_path / "phone")
    service.kdf_log_n = 15  # type: ignore[attr-defined]
    service.create("walnut orchard lantern", language="en")
    service.wipe()
    assert not cache.exists()
    assert not service.has_vault()


def test_off_a_phone_no_cache_directory_is_handed_to_the_wipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLET_APP_STORAGE_TEMP", raising=False)
    monkeypatch.delenv("FLET_APP_STORAGE_CACHE", raising=False)
    assert cache_dirs() == ()


def test_on_a_phone_a_wipe_also_clears_the_cache_where_the_camera_leaves_its_photos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp, cache = tmp_path / "temp", tmp_path / "cache"
    temp.mkdir()
    cache.mkdir()
    (cache / "CAP123.jpg").write_bytes(b"\xff\xd8\xff a photo the camera plugin kept")
    monkeypatch.setenv("FLET_APP_STORAGE_TEMP", str(temp))
    monkeypatch.setenv("FLET_APP_STORAGE_CACHE", str(cache))
    assert cache_dirs() == (temp, cache)
    service = make_service(tmp_path / "phone")
    service.kdf_log_n = 15  # type: ignore[attr-defined]
    service.create("walnut orchard lantern", language="en")
    service.wipe()
    assert not cache.exists() and not temp.exists()
