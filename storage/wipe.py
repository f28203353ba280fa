"""The panic wipe. Works on a locked vault: it needs no passphrase and no key.

Use `wipe_directory(path, extra_dirs=())`. Order matters:

1. Destroy the key material: overwrite the key file, the sealed wipe-check file
   (`storage.checkfile`), and any half-written key file left in `tmp/` by a crash, with random
   bytes, fsync, unlink, fsync the directory. From this instant every other byte is
   undecryptable. This step is timed on its own (`key_destroyed_s`).
2. Delete the journal, the attachments, the spool, the temp directory, the attempt counter,
   every directory in `extra_dirs` (caches and temp dirs the app uses, the file picker's among
   them) and the lock file. The launch file beside the directory is the app's to remove
   (`storage.launch.remove_launch`), because the app decides what the phone shows next.
3. Remove the data directory itself if the vault created it and nothing else is left in it,
   so no marker remains that a vault existed.

The wipe never stops half-way: a failure on one file is counted in `WipeReport.failures` and
the rest is still deleted.

`wipe_capture_leftovers(dirs, since=...)` is the small sibling the app runs after every camera
capture or recording: the platform's camera plugin writes each photo and video to the cache or
temp directory before handing its bytes over and never deletes it. Every file written there since
the capture began, and every file that looks like a photo, video or recording whatever its age,
is overwritten and unlinked; the directories themselves stay (the plugin writes there again).

Danger: on flash storage, overwriting is not a guaranteed erase; the security of the wipe rests
on the key file being the only copy of the wrapped master key (it is: the key file is rewritten
only when a passphrase changes), and on scrypt for any stale copy the flash may keep.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterable
from pathlib import Path

from storage.attempts import Attempts
from storage.files import fsync_dir, overwrite_random
from storage.keyfile import FILE_SIZE as KEY_FILE_SIZE
from storage.layout import Layout

KEY_TEMP_PREFIX = "key-"


@dataclasses.dataclass(frozen=True)
class WipeReport:
    key_destroyed_s: float
    total_s: float
    failures: int = 0


def overwrite_and_unlink(path: Path) -> bool:
    """Overwrite `path` with random bytes, fsync and unlink. False if it did not exist."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        return False
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(path)
        return True
    try:
        overwrite_random(fd, max(os.fstat(fd).st_size, KEY_FILE_SIZE))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.unlink(path)
    return True


def destroy_keys(layout: Layout) -> int:
    """Step 1 of the wipe. Returns the number of failures (0 when the keys are gone)."""
    failures = 0
    targets = [layout.key, layout.state]
    with contextlib.suppress(OSError):
        targets += [
            Path(entry.path)
            for entry in os.scandir(layout.tmp)
            if entry.name.startswith(KEY_TEMP_PREFIX)
        ]
    for target in targets:
        try:
            overwrite_and_unlink(target)
        except OSError:
            failures += 1
    with contextlib.suppress(OSError):
        fsync_dir(layout.root)
    return failures


def _remove(path: Path) -> int:
    """Delete a file or a directory tree; returns the number of entries that resisted."""
    try:
        if not (path.is_dir() and not path.is_symlink()):
            path.unlink()
            return 0
        failures = 0
        with os.scandir(path) as entries:
            children = [Path(entry.path) for entry in entries]
        for child in children:
            failures += _remove(child)
        path.rmdir()
        return failures
    except FileNotFoundError:
        return 0
    except OSError:
        return 1


def wipe_directory(
    path: str | os.PathLike[str], extra_dirs: Iterable[str | os.PathLike[str]] = ()
) -> WipeReport:
    """Panic-wipe the vault at `path` (and `extra_dirs`). Safe to call when nothing is there."""
    started = time.perf_counter()
    layout = Layout.at(path)
    created_dir = Attempts.load(layout.attempts).created_dir
    failures = destroy_keys(layout)
    key_destroyed = time.perf_counter() - started
    for directory in layout.dirs():
        failures += _remove(directory)
    for extra in extra_dirs:
        failures += _remove(Path(extra))
    for file in layout.files():
        failures += _remove(file)
    with contextlib.suppress(OSError):
        fsync_dir(layout.root)
    if created_dir:
        with contextlib.suppress(OSError):
            layout.root.rmdir()  # only succeeds if nothing else is in it
    return WipeReport(key_destroyed, time.perf_counter() - started, failures)


# The first bytes of what a camera, a video recorder or a voice recorder writes.
MEDIA_SIGNATURES = (b"\xff\xd8\xff", b"RIFF", b"#!AMR", b"ID3", b"OggS", b"\x1aE\xdf\xa3", b"fLaC")
ISO_BRAND_OFFSET = 4  # MP4, MOV, 3GP, HEIC: a box size, then "ftyp"
SNIFF = 12


def looks_like_media(path: Path) -> bool:
    """True when `path` starts like a photo, a video or a recording (JPEG, MP4/MOV/3GP/HEIC,
    WAV, AMR, MP3, Ogg, WebM/Matroska, FLAC)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF)
    except OSError:
        return False
    return head.startswith(MEDIA_SIGNATURES) or head[ISO_BRAND_OFFSET:8] == b"ftyp"


def wipe_capture_leftovers(
    dirs: Iterable[str | os.PathLike[str]], *, since: float, slack: float = 2.0
) -> tuple[int, int]:
    """Overwrite and unlink, under each of `dirs`, every file modified at or after
    `since - slack` (a wall-clock time, as `time.time()`) and every file that looks like media.
    Returns (files wiped, failures). A missing directory is nothing to do."""
    wiped = failures = 0
    for directory in dirs:
        for root, _subdirs, names in os.walk(directory):
            for name in names:
                path = Path(root) / name
                try:
                    if path.is_symlink():
                        continue
                    recent = path.stat().st_mtime >= since - slack
                    if (recent or looks_like_media(path)) and overwrite_and_unlink(path):
                        wiped += 1
                except OSError:
                    failures += 1
    return wiped, failures
