"""The launch file never says "disguise", is absent with the disguise and after a wipe, and
still reads the form release 0.1 wrote."""

from __future__ import annotations

import os
from pathlib import Path

from storage.launch import LaunchFacts, launch_path, read_launch, remove_launch, write_launch


def test_a_disguised_phone_keeps_no_launch_file_at_all(tmp_path: Path) -> None:
    data_dir = tmp_path / "phone"
    write_launch(data_dir, language="ky", disguise=False)
    assert launch_path(data_dir).exists()
    write_launch(data_dir, language="ky", disguise=True)
    assert not launch_path(data_dir).exists()
    assert read_launch(data_dir) is None
    assert os.listdir(tmp_path) == []


def test_without_the_disguise_only_the_language_is_written(tmp_path: Path) -> None:
    data_dir = tmp_path / "phone"
    write_launch(data_dir, language="kk", disguise=False)
    raw = launch_path(data_dir).read_bytes()
    assert raw == b'{"language": "kk"}'
    assert read_launch(data_dir) == LaunchFacts(language="kk", disguise=False)
    assert sorted(os.listdir(tmp_path)) == ["phone.launch.json"]  # no temp file left


def test_nothing_written_reads_as_none_so_first_run_and_after_a_wipe_look_alike(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "phone"
    assert read_launch(data_dir) is None
    write_launch(data_dir, language="ru", disguise=False)
    assert remove_launch(data_dir) is True
    assert read_launch(data_dir) is None
    assert remove_launch(data_dir) is False


def test_a_file_from_0_1_is_read_and_replaced_without_the_word_disguise(tmp_path: Path) -> None:
    data_dir = tmp_path / "phone"
    launch_path(data_dir).write_text('{"language": "ru", "disguise": true}', encoding="utf-8")
    assert read_launch(data_dir) == LaunchFacts(language="ru", disguise=True)
    write_launch(data_dir, language="ru", disguise=False)
    assert b"disguise" not in launch_path(data_dir).read_bytes()


def test_a_damaged_launch_file_reads_as_none(tmp_path: Path) -> None:
    data_dir = tmp_path / "phone"
    for junk in (b"\xff\xfe", b"[1, 2]", b"{"):
        launch_path(data_dir).write_bytes(junk)
        assert read_launch(data_dir) is None
