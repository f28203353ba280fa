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
import uuid
from pathlib import Path

import pytest

from app.demo.orchestra import Orchestra, free_port
from app.demo.seed import INCIDENTS


def _needles(marker: str) -> list[bytes]:
    raw = marker.encode()
    needles = [raw, marker.encode("utf-16-le"), marker.encode("utf-16-be")]
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\x00" * shift + raw)[4:-4]  # the middle, independent of neighbours
            needles.append(text)
    return needles


def _scan(root: Path, marker: str) -> list[str]:
    found = []
    needles = _needles(marker)
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
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
def used_system(tmp_path: Path):  # type: ignore[no-untyped-def]
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
        cases = orchestra.cases()
        assert len(cases) >= 2
        assert marker in str(cases), "the coordinator could not read what it received"
        yield orchestra, marker
    finally:
        orchestra.stop()


def test_no_marker_on_any_disk_after_normal_use_through_the_real_commands(
    used_system: tuple[Orchestra, str],
) -> None:
    orchestra, marker = used_system
    orchestra.stop()  # flush and close everything: logs, WAL, vault journals
    written = [p for p in orchestra.root.rglob("*") if p.is_file()]
    assert any(p.is_relative_to(orchestra.server_dir) for p in written)
    assert any(p.is_relative_to(orchestra.field_dir) for p in written)
    assert any(p.is_relative_to(orchestra.coordinator_dir) for p in written)
    assert _scan(orchestra.root, marker) == []


def test_panic_wipe_leaves_nothing_of_the_field_vault(
    used_system: tuple[Orchestra, str],
) -> None:
    orchestra, marker = used_system
    orchestra.command(["field", "wipe", "--data", str(orchestra.field_dir)], what="field wipe")
    leftovers = list(orchestra.field_dir.rglob("*")) if orchestra.field_dir.exists() else []
    assert leftovers == [], f"the wipe left {leftovers}"
    assert not orchestra.field_dir.exists(), "the wipe left an empty data directory behind"
    assert _scan(orchestra.root, marker) == []
