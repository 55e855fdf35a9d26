"""Reading the queue: filters, sorting, pagination and counts, as the web app asks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from surveillance.cases import CaseFilter, CaseStore
from surveillance.errors import InputError


@pytest.fixture
def queue(store: CaseStore, alerts: Any) -> dict[str, int]:
    """Three cases: A/BTC front running HIGH 90 (2 Mar), A/ETH quote fade LOW 20 (2 Mar,
    assigned to ana), B/BTC priority breach MEDIUM 50 (3 Mar). Returns their ids."""
    rows = [
        alerts.row(0, entity_id="A", severity="HIGH", score=90.0),
        alerts.row(60, entity_id="A", symbol="ETH-USDT", typology="SM_QUOTE_FADE",
                   severity="LOW", score=20.0),
        alerts.row(24 * 60, entity_id="B", typology="PT_PRIORITY_BREACH", severity="MEDIUM",
                   score=50.0),
    ]  # fmt: skip
    ids = store.ingest_alerts(alerts.table(rows)).case_ids
    named = dict(zip(("fr", "sm", "pt"), ids, strict=True))
    case = store.case_summary(named["sm"])
    store.assign("sue", case.id, case.version, "ana")
    return named


def _ids(store: CaseStore, **filters: Any) -> set[int]:
    return {c.id for c in store.list_cases(CaseFilter(**filters), limit=None).items}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": ("IN_REVIEW",)}, {"sm"}),
        ({"status": ("NEW", "IN_REVIEW")}, {"fr", "sm", "pt"}),
        ({"family": ("SPREAD_MANIPULATION",)}, {"sm"}),
        ({"typology": ("PT_PRIORITY_BREACH",)}, {"pt"}),
        ({"severity": ("HIGH", "MEDIUM")}, {"fr", "pt"}),
        ({"entity_id": "A"}, {"fr", "sm"}),
        ({"symbol": "BTC-USDT"}, {"fr", "pt"}),
        ({"assignee": "ana"}, {"sm"}),
        ({"assignee": "-"}, {"fr", "pt"}),
        ({"date_from": dt.date(2026, 3, 3)}, {"pt"}),
        ({"date_to": dt.date(2026, 3, 2)}, {"fr", "sm"}),
        ({"entity_id": "A", "severity": ("LOW",)}, {"sm"}),
    ],
    ids=lambda v: "-".join(f"{k}" for k in v) if isinstance(v, dict) else "",
)
def test_filters_keep_the_matching_cases(
    store: CaseStore, queue: dict[str, int], filters: dict, expected: set[str]
) -> None:
    assert _ids(store, **filters) == {queue[n] for n in expected}


def test_sort_by_score_puts_the_highest_first(store: CaseStore, queue: dict[str, int]) -> None:
    items = store.list_cases(sort="score").items
    assert [c.id for c in items] == [queue["fr"], queue["pt"], queue["sm"]]


def test_sort_by_date_ascending_puts_the_earliest_first(
    store: CaseStore, queue: dict[str, int]
) -> None:
    items = store.list_cases(sort="date", descending=False).items
    assert [c.id for c in items] == [queue["fr"], queue["sm"], queue["pt"]]


def test_pages_do_not_overlap_and_count_the_total(store: CaseStore, queue: dict[str, int]) -> None:
    first = store.list_cases(sort="score", limit=2, offset=0)
    second = store.list_cases(sort="score", limit=2, offset=2)
    assert (first.total, second.total) == (3, 3)
    assert [c.id for c in first.items + second.items] == [queue["fr"], queue["pt"], queue["sm"]]


def test_counts_by_status_cover_the_filter(store: CaseStore, queue: dict[str, int]) -> None:
    page = store.list_cases(limit=1)
    assert page.counts_by_status == {"NEW": 2, "IN_REVIEW": 1}


def test_alerts_of_a_day_come_with_their_case(store: CaseStore, queue: dict[str, int]) -> None:
    rows = store.list_alerts(days=[dt.date(2026, 3, 3)])
    assert [(a.typology, c.id) for a, c in rows] == [("PT_PRIORITY_BREACH", queue["pt"])]


def test_an_unknown_sort_is_refused(store: CaseStore) -> None:
    with pytest.raises(InputError, match="sort 'priority' is not a case order"):
        store.list_cases(sort="priority")
