"""Alerts are upserted by id and grouped into cases; closed cases are never reopened."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from surveillance import storage
from surveillance.cases import CasesConfig, CaseStore, create_cases
from surveillance.errors import ContractError, NotReadyError
from surveillance.settings import resolve

DAY = dt.date(2026, 3, 2)


def test_rerunning_a_day_changes_nothing(store: CaseStore, alerts: Any) -> None:
    table = alerts.table([alerts.row(0), alerts.row(5), alerts.row(90)])
    store.ingest_alerts(table)
    entries = len(store.audit_entries())
    again = store.ingest_alerts(table)
    assert (again.alerts_new, again.alerts_unchanged, again.cases_created) == (0, 3, 0)
    assert len(store.audit_entries()) == entries
    assert store.list_cases().total == 2


def test_a_changed_alert_is_updated_not_duplicated(store: CaseStore, alerts: Any) -> None:
    row = alerts.row(0, score=40.0)
    store.ingest_alerts(alerts.table([row]))
    summary = store.ingest_alerts(alerts.table([{**row, "score": 90.0, "severity": "HIGH"}]))
    case = store.get_case(summary.case_ids[0])
    assert summary.alerts_updated == 1 and len(case.alerts) == 1
    assert (case.case.score, case.case.severity) == (90.0, "HIGH")


def test_an_alert_update_is_audited(store: CaseStore, alerts: Any) -> None:
    row = alerts.row(0, score=40.0)
    store.ingest_alerts(alerts.table([row]))
    store.ingest_alerts(alerts.table([{**row, "score": 90.0}]))
    entry = store.audit_entries()[-1]
    assert (entry.action, entry.before["alert"], entry.after["alert"]) == (
        "alert.updated",
        {"score": 40.0},
        {"score": 90.0},
    )


def test_a_changed_alert_makes_readers_reload_the_case(store: CaseStore, alerts: Any) -> None:
    row = alerts.row(0, score=40.0)
    case_id = store.ingest_alerts(alerts.table([row])).case_ids[0]
    seen = store.case_summary(case_id)
    store.ingest_alerts(alerts.table([{**row, "explanation": "recomputed with new baselines"}]))
    assert store.case_summary(case_id).version == seen.version + 1


def test_alerts_within_the_gap_share_a_case(store: CaseStore, alerts: Any) -> None:
    # 900 s default gap: 10:00-10:01 and 10:15-10:16 are 14 minutes apart.
    summary = store.ingest_alerts(alerts.table([alerts.row(0), alerts.row(15)]))
    assert summary.cases_created == 1
    assert store.get_case(summary.case_ids[0]).case.alert_count == 2


def test_alerts_beyond_the_gap_open_separate_cases(store: CaseStore, alerts: Any) -> None:
    summary = store.ingest_alerts(alerts.table([alerts.row(0), alerts.row(17)]))
    assert summary.cases_created == 2


def test_the_gap_is_configurable(db_url: str, alerts: Any) -> None:
    with CaseStore(db_url, CasesConfig(grouping_gap_seconds=3600)) as wide:
        summary = wide.ingest_alerts(alerts.table([alerts.row(0), alerts.row(45)]))
    assert summary.cases_created == 1


@pytest.mark.parametrize(
    "other",
    [
        {"entity_id": "ENT-OTHER"},
        {"symbol": "ETH-USDT"},
        {"typology": "SM_QUOTE_FADE"},
    ],
    ids=["entity", "symbol", "family"],
)
def test_a_different_key_opens_a_separate_case(
    store: CaseStore, alerts: Any, other: dict[str, str]
) -> None:
    summary = store.ingest_alerts(alerts.table([alerts.row(0), alerts.row(0, **other)]))
    assert summary.cases_created == 2


def test_typologies_of_one_family_share_a_case(store: CaseStore, alerts: Any) -> None:
    rows = [alerts.row(0), alerts.row(2, typology="FR_FLOW_ANTICIPATION")]
    case = store.get_case(store.ingest_alerts(alerts.table(rows)).case_ids[0]).case
    assert case.typologies == ("FR_FLOW_ANTICIPATION", "FR_TRADING_AHEAD")


def test_a_case_takes_its_worst_alert(store: CaseStore, alerts: Any) -> None:
    rows = [
        alerts.row(0, score=30.0, severity="LOW"),
        alerts.row(3, score=85.0, severity="HIGH", explanation="the strongest signal"),
    ]
    case = store.get_case(store.ingest_alerts(alerts.table(rows)).case_ids[0]).case
    assert (case.severity, case.score, case.explanation) == ("HIGH", 85.0, "the strongest signal")


def test_a_case_spans_its_alerts(store: CaseStore, alerts: Any) -> None:
    rows = [alerts.row(0, length_min=2), alerts.row(10, length_min=3)]
    case = store.get_case(store.ingest_alerts(alerts.table(rows)).case_ids[0]).case
    assert (case.window_start.minute, case.window_end.minute) == (0, 13)


def test_an_alert_near_a_closed_case_opens_a_linked_case(store: CaseStore, alerts: Any) -> None:
    first = store.ingest_alerts(alerts.table([alerts.row(0, severity="LOW")])).case_ids[0]
    case = store.case_summary(first)
    case = store.assign("sue", first, case.version, "ana")
    store.close_case("ana", first, case.version, "FALSE_POSITIVE", "quote was stale anyway")
    later = store.ingest_alerts(alerts.table([alerts.row(5, severity="LOW")]))
    follower = store.get_case(later.case_ids[0])
    assert (later.cases_created, later.cases_linked) == (1, 1)
    assert follower.case.follows_case_id == first
    assert [c.id for c in follower.related] == [first]


def test_a_closed_case_stays_closed_when_alerts_arrive(store: CaseStore, alerts: Any) -> None:
    first = store.ingest_alerts(alerts.table([alerts.row(0, severity="LOW")])).case_ids[0]
    case = store.assign("sue", first, store.case_summary(first).version, "ana")
    closed = store.close_case("ana", first, case.version, "FALSE_POSITIVE", "quote was stale")
    store.ingest_alerts(alerts.table([alerts.row(5, severity="LOW")]))
    assert store.case_summary(first) == closed


def test_the_closed_case_lists_its_follower(store: CaseStore, alerts: Any) -> None:
    first = store.ingest_alerts(alerts.table([alerts.row(0, severity="LOW")])).case_ids[0]
    case = store.assign("sue", first, store.case_summary(first).version, "ana")
    store.close_case("ana", first, case.version, "FALSE_POSITIVE", "quote was stale")
    follower = store.ingest_alerts(alerts.table([alerts.row(5)])).case_ids[0]
    assert [c.id for c in store.get_case(first).related] == [follower]


def test_a_new_alert_withdraws_a_pending_proposal(store: CaseStore, alerts: Any) -> None:
    first = store.ingest_alerts(alerts.table([alerts.row(0, severity="HIGH")])).case_ids[0]
    case = store.assign("sue", first, store.case_summary(first).version, "ana")
    store.close_case("ana", first, case.version, "FALSE_POSITIVE", "quote was stale")
    store.ingest_alerts(alerts.table([alerts.row(4)]))
    after = store.get_case(first)
    assert after.case.proposal is None and after.case.alert_count == 2
    assert "proposal_withdrawn" in after.history[-1].details


def test_an_alert_joins_an_open_case_from_the_day_before(store: CaseStore, alerts: Any) -> None:
    late = alerts.row(0, window_start=dt.datetime(2026, 3, 1, 23, 58, tzinfo=dt.UTC))
    late["window_end"] = late["window_start"] + dt.timedelta(minutes=1)
    early = alerts.row(0, window_start=dt.datetime(2026, 3, 2, 0, 5, tzinfo=dt.UTC))
    early["window_end"] = early["window_start"] + dt.timedelta(minutes=1)
    store.ingest_alerts(alerts.table([late]))
    summary = store.ingest_alerts(alerts.table([early]))
    assert (summary.cases_created, summary.cases_updated) == (0, 1)


def test_alert_evidence_is_kept(store: CaseStore, alerts: Any) -> None:
    row = alerts.row(0, order_ids=["O-1", "O-2"], trade_ids=["T-9"])
    alert = store.get_case(store.ingest_alerts(alerts.table([row])).case_ids[0]).alerts[0]
    assert (alert.order_ids, alert.trade_ids, alert.features) == (
        ("O-1", "O-2"),
        ("T-9",),
        {"lead_ms": {"value": 2000, "baseline": 50000}},
    )


def test_a_dataframe_is_accepted(store: CaseStore, alerts: Any) -> None:
    frame = alerts.table([alerts.row(0)]).to_pandas()
    assert store.ingest_alerts(frame).alerts_new == 1


def test_a_missing_column_is_a_contract_error(store: CaseStore, alerts: Any) -> None:
    table = alerts.table([alerts.row(0)]).drop_columns(["entity_id"])
    with pytest.raises(ContractError, match="column 'entity_id' is missing"):
        store.ingest_alerts(table, source="alerts/date=2026-03-02")


def test_an_unknown_typology_is_a_contract_error(store: CaseStore, alerts: Any) -> None:
    table = alerts.table([alerts.row(0)])
    table = table.set_column(
        table.schema.get_field_index("typology"), "typology", pa.array(["XX_UNKNOWN"])
    )
    with pytest.raises(ContractError, match=r"'typology' must be a code of typologies\.md"):
        store.ingest_alerts(table)


def test_a_typology_of_another_family_is_a_contract_error(store: CaseStore, alerts: Any) -> None:
    table = alerts.table([alerts.row(0, typology="SM_SPOOFING", family="FRONT_RUNNING")])
    with pytest.raises(ContractError, match="SM_SPOOFING belongs to family SPREAD_MANIPULATION"):
        store.ingest_alerts(table)


def test_a_bad_alert_stores_nothing(store: CaseStore, alerts: Any) -> None:
    table = alerts.table([alerts.row(0), alerts.row(5, score=250.0)])
    with pytest.raises(ContractError, match="'score' must be within 0-100"):
        store.ingest_alerts(table)
    assert store.list_cases().total == 0


def _settings(tmp_path: Path, db_url: str) -> Any:
    return resolve(lake=str(tmp_path / "lake"), db_url=db_url)


def test_create_cases_reads_the_days_alerts(tmp_path: Path, db_url: str, alerts: Any) -> None:
    settings = _settings(tmp_path, db_url)
    storage.write_partition(
        alerts.table([alerts.row(0), alerts.row(60)]), settings.lake.alerts(DAY)
    )
    result = create_cases(settings, DAY)
    assert (result.ingest.cases_created, result.open_cases) == (2, 2)


def test_create_cases_twice_is_idempotent(tmp_path: Path, db_url: str, alerts: Any) -> None:
    settings = _settings(tmp_path, db_url)
    storage.write_partition(alerts.table([alerts.row(0)]), settings.lake.alerts(DAY))
    create_cases(settings, DAY)
    assert create_cases(settings, DAY).ingest.alerts_unchanged == 1


def test_the_result_summary_is_json_ready(tmp_path: Path, db_url: str, alerts: Any) -> None:
    settings = _settings(tmp_path, db_url)
    storage.write_partition(alerts.table([alerts.row(0)]), settings.lake.alerts(DAY))
    summary = create_cases(settings, DAY).summary()
    assert json.loads(json.dumps(summary))["cases_created"] == 1


def test_create_cases_without_alerts_is_not_ready(tmp_path: Path, db_url: str) -> None:
    with pytest.raises(NotReadyError, match="run mmsurv detect --date 2026-03-02 first"):
        create_cases(_settings(tmp_path, db_url), DAY)


def test_alerts_joining_a_case_raise_its_version_once(store: CaseStore, alerts: Any) -> None:
    case_id = store.ingest_alerts(alerts.table([alerts.row(0)])).case_ids[0]
    seen = store.case_summary(case_id)
    store.ingest_alerts(alerts.table([alerts.row(5), alerts.row(10), alerts.row(200)]))
    assert store.case_summary(case_id).version == seen.version + 1
