"""After each capture the camera plugin's files in the cache and temp directories are
overwritten and deleted: whatever was written since the capture began, and anything that looks
like a photo, video or recording; other cached files and the directories themselves stay."""

from __future__ import annotations

import os
import time
from pathlib import Path

from storage.wipe import looks_like_media, wipe_capture_leftovers

JPEG = b"\xff\xd8\xff\xe1 Exif GPS"
MP4 = b"\x00\x00\x00\x18ftypmp42 video"


def old(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    return path


def test_the_cameras_files_go_and_other_cached_files_and_the_directories_stay(
    tmp_path: Path,
) -> None:
    cache, temp = tmp_path / "cache", tmp_path / "temp"
    stale_photo = old(cache / "CAP998.jpg", JPEG)  # left by a capture that crashed
    stale_video = old(temp / "sub" / "REC1.mp4", MP4)
    unrelated = old(cache / "fonts.bin", b"font cache, no media")
    started = time.time()
    fresh = cache / "CAP999.tmp"
    fresh.write_bytes(b"anything written during the capture")
    wiped, failures = wipe_capture_leftovers([cache, temp, tmp_path / "missing"], since=started)
    assert (wiped, failures) == (3, 0)
    assert not stale_photo.exists() and not stale_video.exists() and not fresh.exists()
    assert unrelated.exists() and cache.is_dir() and temp.is_dir()


def test_media_is_recognised_by_its_first_bytes_not_its_name(tmp_path: Path) -> None:
    samples = {
        "a": JPEG,
        "b": MP4,
        "c": b"RIFF\x00\x00\x00\x00WAVEfmt ",
        "d": b"#!AMR\n",
        "e": b"plain text",
    }
    for name, data in samples.items():
        (tmp_path / name).write_bytes(data)
    assert [n for n in samples if looks_like_media(tmp_path / n)] == ["a", "b", "c", "d"]
