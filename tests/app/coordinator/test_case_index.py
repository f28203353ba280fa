"""The case index: filters, full-text search in every script, sorting, detail and dashboard."""

from __future__ import annotations

import pytest

from app.casebook.cases import CaseFilter, CaseIndex, normalise
from app.casebook.dashboard import UNKNOWN, aggregate
from tests.app.coordinator import factory


@pytest.fixture
def setup() -> tuple[CaseIndex, list[str], factory.Device, factory.Device]:
    d1, d2 = factory.Device(), factory.Device()
    datas = [
        factory.case_data(d1, factory.SAMPLE_ANSWERS[0], now=1_741_000_000),
        factory.case_data(d2, factory.SAMPLE_ANSWERS[1], now=1_744_000_000),
        factory.case_data(d1, factory.SAMPLE_ANSWERS[2], now=1_745_000_000, revisions=2),
    ]
    ids = [d["case_id"] for d in datas]
    events = [
        factory.event_record(ids[0], "coordA", 10, {"type": "status", "status": "verified"}),
        factory.event_record(ids[0], "coordB", 11, {"type": "assign", "assignee": "coordB"}),
        factory.event_record(ids[1], "coordA", 12, {"type": "comment", "text": "Позвонить юристу"}),
        factory.event_record(ids[1], "coordA", 13, {"type": "tag", "tag": "срочно"}),
        factory.event_record(ids[2], "coordA", 14, {"type": "bogus"}),  # ignored
    ]
    index = CaseIndex.build([factory.case_record(d) for d in datas], events, [factory.form()])
    return index, ids, d1, d2


def test_filters_by_every_facet(setup) -> None:
    index, ids, _, d2 = setup
    q = lambda **kw: {s.id for s in index.query(CaseFilter(**kw))}  # noqa: E731
    assert q() == set(ids)
    assert q(region="bishkek") == {ids[0], ids[2]}
    assert q(violation_type="beating") == {ids[0], ids[2]}
    assert q(perpetrator_type="family") == {ids[1], ids[2]}
    assert q(status="verified") == {ids[0]}
    assert q(status="new") == {ids[1], ids[2]}
    assert q(assignee="coordB") == {ids[0]}
    assert q(device=d2.id) == {ids[1]}
    assert q(date_from="2025-04-01") == {ids[1], ids[2]}
    assert q(date_from="2025-04-01", date_to="2025-04-15") == {ids[1]}
    assert q(region="bishkek", violation_type="extortion") == {ids[0]}


def test_full_text_search_is_case_insensitive_for_kazakh_kyrgyz_and_russian(setup) -> None:
    index, ids, _, _ = setup
    q = lambda text: {s.id for s in index.query(CaseFilter(text=text))}  # noqa: E731
    assert q("ҚОРҚЫТТЫ") == {ids[0]}  # Kazakh letters, upper case
    assert q("үй-БҮЛӨСҮ") == {ids[1]}  # Kyrgyz letters, mixed case
    assert q("елка") == {ids[1]}  # ё matches е
    assert q("избиение") == {ids[0], ids[2]}  # Russian option label of a choice value
    assert q("ЮРИСТУ") == {ids[1]}  # a comment
    assert q("срочно") == {ids[1]}  # a tag
    assert q("кафе деньги") == {ids[0]}  # all words must match
    assert q("кафе nothing") == set()


def test_normalise_folds_kazakh_and_kyrgyz_capitals() -> None:
    assert normalise("ӘҒҚҢӨҰҮҺІ Ё") == "әғқңөұүһі е"


def test_sorting_by_received_and_region(setup) -> None:
    index, ids, _, _ = setup
    newest_first = [s.id for s in index.query(CaseFilter())]
    assert newest_first == [ids[2], ids[1], ids[0]]
    oldest_first = [s.id for s in index.query(CaseFilter(descending=False))]
    assert oldest_first == [ids[0], ids[1], ids[2]]
    by_region = [s.region for s in index.query(CaseFilter(sort="region", descending=False))]
    assert by_region == ["bishkek", "bishkek", "osh"]


def test_detail_renders_labels_in_the_requested_language(setup) -> None:
    index, ids, _, _ = setup
    detail = index.detail(ids[0], "ru")
    fields = {f.field_id: f for f in detail.fields}
    assert fields["violation_types"].label == "Нарушение"
    assert fields["violation_types"].value == "Избиение, Вымогательство"
    assert fields["region"].value == "Бишкек"
    assert fields["victim_name"].sensitive is True
    assert detail.fields[0].section == "Что произошло"
    assert detail.state.status == "verified" and detail.state.assignee == "coordB"
    assert detail.custody.ok
    assert index.detail(ids[2]).revisions[1].version == 2
    assert index.detail(ids[0], "kk").fields[0].section == "Не болды"


def test_dashboard_counts_follow_the_filter(setup) -> None:
    index, _, _, _ = setup
    board = aggregate(index.query(CaseFilter()))
    assert board.total == 3
    assert board.by_month == (("2025-03", 1), ("2025-04", 2))
    assert dict(board.by_violation_type) == {"beating": 2, "extortion": 1, "outing": 1}
    assert dict(board.by_perpetrator_type) == {"police": 2, "family": 2}
    assert board.by_region[0] == ("bishkek", 2)
    only_osh = aggregate(index.query(CaseFilter(region="osh")))
    assert only_osh.total == 1 and only_osh.by_region == (("osh", 1),)


def test_cases_without_facets_count_as_unknown() -> None:
    d = factory.Device()
    index = CaseIndex.build([factory.case_record(factory.case_data(d, {"description": "x"}))], [])
    board = aggregate(index.query())
    assert board.by_region == ((UNKNOWN, 1),) and board.by_violation_type == ((UNKNOWN, 1),)


def test_facet_values_and_option_labels(setup) -> None:
    index, _, d1, d2 = setup
    values = index.facet_values()
    assert values["region"] == ["bishkek", "osh"]
    assert set(values["device"]) == {d1.id, d2.id}
    assert index.option_label("violation_type", "outing", "ru") == "Аутинг"
    assert index.option_label("region", "nowhere", "ru") == "nowhere"
