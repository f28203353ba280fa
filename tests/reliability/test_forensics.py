"""Forensics: after real use, no readable trace on any disk; after a panic wipe, no vault at all.

The whole system runs through the real command line, as a person would use it: `fieldvault
server` (SQLite), `fieldvault coordinator init/invite/pull/cases`, `fieldvault field
init/add/sync/wipe`, each its own process with TMPDIR inside the test's directory. A marker
string is planted in every free-text answer, in a note, in an attachment's content, in its EXIF
and in its file name. Then every byte of every file written (server database and WAL, blob
directory, server log, both vaults, temporary files) is searched for the marker, also in UTF-16
and in base64 at each alignment. The file the user picked stays outside and is not scanned: it is
theirs.
"""

from __future__ import annotations

import base64
import io
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.demo.orchestra import COORDINATOR_PASSPHRASE, Orchestra, free_port
from app.demo.seed import INCIDENTS


def _needles(marker: str) -> list[bytes]:
    raw = marker.encode()
    needles = [raw, marker.encode("utf-16-le"), marker.encode("utf-16-be")]
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\x00" * shift + raw)[4:-4]  # the middle, independent of neighbours
            needles.append(text)
    return needles


def _scan(root: Path, marker: str, *, since: float = 0.0, skip: Path | None = None) -> list[str]:
    """Files under `root` (changed after `since`, outside `skip`) that hold the marker."""
    found = []
    needles = _needles(marker)
    for path in sorted(root.rglob("*")):
        try:
            if not path.is_file() or path.is_symlink() or path.stat().st_mtime < since:
                continue
            if skip is not None and path.is_relative_to(skip):
                continue
            data = path.read_bytes()
        except OSError:  # another program's file vanished or is not ours to read
            continue
        if any(n in data for n in needles):
            found.append(str(path.relative_to(root)))
    return found


def _photo_with_marker(marker: str) -> bytes:
    from PIL import Image

    image = Image.new("RGB", (64, 48), (120, 130, 140))
    exif = Image.Exif()
    exif[0x010E] = marker  # ImageDescription
    exif[0x013B] = marker  # Artist
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def _marked_answers(marker: str) -> dict[str, object]:
    answers = dict(INCIDENTS[0]["answers"])
    answers["description"] = f"{answers['description']} {marker}"
    answers["victims"] = f"Клиент {marker}"
    answers["perpetrator_details"] = marker
    answers["contact"] = f"+996 555 {marker}"
    return answers


@pytest.fixture
def used_system(tmp_path: Path) -> Iterator[tuple[Orchestra, str, float, Path]]:
    started = time.time() - 1
    marker = "FVMARK" + uuid.uuid4().hex
    root = tmp_path / "system"
    outside = tmp_path / "user-files"
    outside.mkdir()
    picked = outside / f"evidence-{marker}.jpg"
    picked.write_bytes(_photo_with_marker(marker))
    orchestra = Orchestra(root)
    try:
        orchestra.start_server(free_port())
        orchestra.setup_organisation()
        orchestra.record(_marked_answers(marker), attach=[picked])
        orchestra.record(INCIDENTS[2]["answers"])
        orchestra.record({"text": f"private note {marker}"}, kind="note")
        orchestra.sync()
        assert len(orchestra.cases()) >= 2
        search = ["coordinator", "cases", "--data", str(orchestra.coordinator_dir), "--json"]
        found = orchestra.command(
            [*search, "--text", marker],
            passphrase=COORDINATOR_PASSPHRASE,
            what="coordinator search",
        )
        # the marked incident and the marked note: the coordinator reads what it received
        assert len(json.loads(found)["cases"]) == 2
        exports = root / "exports"
        exports.mkdir()
        for fmt in ("csv", "pdf", "bundle"):  # identifying exports are encrypted by default
            orchestra.command(
                [
                    "coordinator",
                    "export",
                    "--data",
                    str(orchestra.coordinator_dir),
                    "--format",
                    fmt,
                    "--identifying",
                    "-o",
                    str(exports / f"cases.{fmt}.age"),
                ],
                passphrase=COORDINATOR_PASSPHRASE,
                what=f"coordinator export {fmt}",
            )
        assert sorted(p.stat().st_size > 0 for p in exports.iterdir()) == [True] * 3
        yield orchestra, marker, started, outside
    finally:
        orchestra.stop()


@pytest.mark.slow
def test_use_leaves_no_marker_on_any_disk_and_a_panic_wipe_leaves_no_vault(
    used_system: tuple[Orchestra, str, float, Path],
) -> None:
    orchestra, marker, started, users_own = used_system
    orchestra.stop()  # flush and close everything: logs, WAL, vault journals
    written = [p for p in orchestra.root.rglob("*") if p.is_file()]
    assert any(p.is_relative_to(orchestra.server_dir) for p in written)
    assert any(p.is_relative_to(orchestra.field_dir) for p in written)
    assert any(p.is_relative_to(orchestra.coordinator_dir) for p in written)
    assert _scan(orchestra.root, marker) == []
    # and nothing strayed into the machine's temporary directory (the user's picked file aside)
    system_tmp = Path(tempfile.gettempdir())
    assert _scan(system_tmp, marker, since=started, skip=users_own) == []

    vault = orchestra.field_dir
    orchestra.command(["field", "wipe", "--data", str(vault)], what="field wipe")
    leftovers = list(vault.rglob("*")) if vault.exists() else []
    assert leftovers == [], f"the wipe left {leftovers}"
    assert not vault.exists(), "the wipe left an empty vault directory behind"
    assert _scan(orchestra.root, marker) == []


def test_the_scan_finds_a_marker_in_plain_utf16_or_base64_form(tmp_path: Path) -> None:
    marker = "FVMARK" + uuid.uuid4().hex
    forms = {
        "plain": b"x" + marker.encode() + b"y",
        "utf16": marker.encode("utf-16-le"),
        "base64": base64.b64encode(b"ab" + marker.encode() + b"cd"),
        "urlsafe": base64.urlsafe_b64encode(b"a" + marker.encode()),
        "clean": b"nothing to see " * 10,
    }
    for name, data in forms.items():
        (tmp_path / name).write_bytes(data)
    assert _scan(tmp_path, marker) == ["base64", "plain", "urlsafe", "utf16"]
    assert _scan(tmp_path, marker, skip=tmp_path) == []
