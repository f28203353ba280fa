"""Consent binds every export and chart, on the fake and on the real service (a live server and
a real phone): a case the victim did not agree to use that way is left out, or the export is
refused with `consent_withheld`; a withdrawal after sending, from the documenter's phone or a
coordinator, is honoured by every export made afterwards. See `app.exports.consent`."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import zipfile

import pytest

from app.services.coordinator_types import CoordinatorError
from tests.app.coordinator.test_service_contract import ANSWERS
from tests.app.coordinator.worlds import FakeWorld, RealWorld
from tests.conftest import require

ALL = {"share_org": True, "statistics": True, "advocacy": True}


@pytest.fixture(params=["fake", "real"])
def world(request, tmp_path):
    w = FakeWorld(tmp_path) if request.param == "fake" else RealWorld(tmp_path)
    try:
        w.setup()
        yield w
    finally:
        w.close()


def _report(world, device: str, marker: str, **consent: bool) -> str:
    answers = {**ANSWERS, "description": marker, "consent": {**ALL, **consent}}
    return world.report(device, answers)


@pytest.fixture
def two_cases(world):
    """An open case and one whose consent is about to be limited, from one phone."""
    device = world.enrol_device("phone")
    open_case = _report(world, device, "OPEN-CASE")
    return world, device, open_case


def _ids_in_csv(data: bytes) -> set[str]:
    return {row["case_id"] for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))}


def _ids_in_uwazi(data: bytes) -> set[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        text = zf.read("import.csv").decode("utf-8")
    return {row["fieldvault_case"] for row in csv.DictReader(io.StringIO(text))}


def _pdf_text(data: bytes) -> str:
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils) not installed")
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode("utf-8")


def test_statistics_leave_out_a_case_not_for_statistics(two_cases) -> None:
    world, device, _ = two_cases
    _report(world, device, "NO-STATS", statistics=False)
    world.service.pull()
    rows = world.service.export("stats").data.decode("utf-8-sig").splitlines()
    assert "total,all,<3" in rows  # one counted case of two, suppressed as "<3"
    assert world.service.dashboard().total == 1
    assert world.service.dashboard().left_out == 1


def test_dashboard_charts_count_only_cases_for_statistics(two_cases) -> None:
    world, device, _ = two_cases
    for marker in ("A", "B"):
        _report(world, device, marker, statistics=False)
    world.service.pull()
    board = world.service.dashboard()
    assert (board.total, board.left_out) == (1, 2)
    assert sum(count for _, count in board.by_region) == 1


def test_anonymised_csv_leaves_out_a_case_not_for_statistics(two_cases) -> None:
    world, device, open_case = two_cases
    left = _report(world, device, "NO-STATS", statistics=False)
    world.service.pull()
    result = world.service.export("csv", identifying=False)
    assert _ids_in_csv(result.data) == {open_case}
    assert result.left_out == (left,)


def test_identifying_csv_keeps_a_case_not_for_statistics_but_not_a_withdrawn_one(
    two_cases,
) -> None:
    world, device, open_case = two_cases
    casework = _report(world, device, "NO-STATS", statistics=False)
    withdrawn = _report(world, device, "WITHDRAWN")
    world.service.pull()
    world.withdraw(device, withdrawn, ["share_org"])
    world.service.pull()
    result = world.service.export("csv", identifying=True, protection="none")
    assert _ids_in_csv(result.data) == {open_case, casework}
    assert result.left_out == (withdrawn,)


def test_uwazi_leaves_out_a_case_with_no_public_use(two_cases) -> None:
    world, device, open_case = two_cases
    _report(world, device, "NOT-PUBLIC", advocacy=False)
    world.service.pull()
    result = world.service.export("uwazi", protection="none")
    assert _ids_in_uwazi(result.data) == {open_case}
    assert len(result.left_out) == 1


def test_pdf_marks_a_case_with_no_public_use_and_refuses_a_withdrawn_one(two_cases) -> None:
    world, device, open_case = two_cases
    private = _report(world, device, "NOT-PUBLIC", advocacy=False)
    world.service.pull()
    marked = _pdf_text(world.service.export("pdf", protection="none", case_ids=[private]).data)
    plain = _pdf_text(world.service.export("pdf", protection="none", case_ids=[open_case]).data)
    assert "Не для публичного" in marked or "Not for public use" in marked
    assert "Не для публичного" not in plain and "Not for public use" not in plain
    world.withdraw(device, private, ["share_org"])
    world.service.pull()
    with pytest.raises(CoordinatorError) as refused:
        world.service.export("pdf", protection="none", case_ids=[private])
    assert refused.value.reason == "consent_withheld"


def test_bundle_refuses_a_case_whose_sharing_was_withdrawn(two_cases) -> None:
    world, device, open_case = two_cases
    world.service.pull()
    world.withdraw(device, open_case, ["share_org"])
    world.service.pull()
    with pytest.raises(CoordinatorError) as refused:
        world.service.export("bundle", protection="none", case_ids=[open_case])
    assert refused.value.reason == "consent_withheld"


def test_a_documenters_withdrawal_after_sending_is_honoured_by_every_export(two_cases) -> None:
    world, device, open_case = two_cases
    world.service.pull()
    assert world.service.dashboard().total == 1
    world.withdraw(device, open_case, ["statistics", "advocacy"])
    world.service.pull()
    assert world.service.dashboard().total == 0
    with pytest.raises(CoordinatorError):
        world.service.export("csv", identifying=False)
    with pytest.raises(CoordinatorError):
        world.service.export("uwazi", protection="none")
    kept = world.service.export("csv", identifying=True, protection="none")
    assert _ids_in_csv(kept.data) == {open_case}  # casework may go on


def test_a_coordinators_withdrawal_is_honoured_and_cannot_be_undone(two_cases) -> None:
    world, _, open_case = two_cases
    world.service.pull()
    world.service.act(open_case, {"type": "withdraw", "purposes": "statistics"})
    assert world.service.dashboard().total == 0
    with pytest.raises(CoordinatorError) as refused:
        world.service.act(open_case, {"type": "consent", "purposes": "statistics"})
    assert refused.value.reason == "invalid_event"
    assert world.service.dashboard().total == 0
