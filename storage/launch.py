"""The launch file: what the field app must know before unlock, kept so that it tells nothing.

Use `read_launch(data_dir)` at start, `write_launch(data_dir, language=..., disguise=...)` when
either changes, and let the wipe remove it (`wipe_directory` does, with the vault).

The file sits beside the data directory (`<data dir>.launch.json`) and says only which
language to show the lock screen in. It never says "disguise":

- with the calculator disguise there is **no file at all**: the calculator needs no words, and
  the language comes from inside the vault after unlock;
- without it, the file holds `{"language": "<code>"}` and nothing else;
- after a wipe there is no file either, so a wiped phone, a disguised phone and a phone where
  the app was never set up look the same on disk: `read_launch` returns None for all three, and
  the app should show the calculator (its package is a calculator; long-pressing "=" starts the
  first-run setup when there is no vault).

A file written by release 0.1 (`{"disguise": true}`, possibly with a language) is still read;
writing replaces it by the current form, overwriting the old bytes first.

Danger: this is about not leaving words behind, not secrecy: whether a vault exists is visible
to anyone who can list the app's files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from pathlib import Path

from storage.files import atomic_write, fsync_dir

LAUNCH_SUFFIX = ".launch.json"
MAX_LAUNCH_BYTES = 4096


@dataclasses.dataclass(frozen=True)
class LaunchFacts:
    language: str = ""
    disguise: bool = False


def launch_path(data_dir: str | os.PathLike[str]) -> Path:
    root = Path(data_dir)
    return root.with_name(root.name + LAUNCH_SUFFIX)


def read_launch(data_dir: str | os.PathLike[str]) -> LaunchFacts | None:
    """What the launch file says, or None when there is none (disguised, wiped or never set
    up: show the calculator). A damaged file reads as None too."""
    path = launch_path(data_dir)
    try:
        with open(path, "rb") as handle:
            raw = json.loads(handle.read(MAX_LAUNCH_BYTES).decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    language = raw.get("language")
    return LaunchFacts(
        language=language if isinstance(language, str) else "",
        disguise=raw.get("disguise") is True,  # release 0.1 wrote it
    )


def write_launch(data_dir: str | os.PathLike[str], *, language: str, disguise: bool) -> None:
    """Record the lock screen's language, or, with the disguise, remove the file entirely."""
    path = launch_path(data_dir)
    if disguise:
        remove_launch(data_dir)
        return
    if not isinstance(language, str) or len(language) > 16:
        raise ValueError("language must be a short language code")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    old = read_launch(data_dir)
    if old is not None and old.disguise:
        remove_launch(data_dir)  # a 0.1 file: overwrite its words before replacing it
    data = json.dumps({"language": language} if language else {}).encode("utf-8")
    atomic_write(path, data, path.parent, prefix=f".{path.name}-")


def remove_launch(data_dir: str | os.PathLike[str]) -> bool:
    """Overwrite the launch file with random bytes, fsync and unlink it. False if there was
    none."""
    from storage.wipe import overwrite_and_unlink

    path = launch_path(data_dir)
    try:
        removed = overwrite_and_unlink(path)
    except OSError:
        path.unlink(missing_ok=True)
        removed = True
    if removed:
        with contextlib.suppress(OSError):
            fsync_dir(path.parent)
    return removed
