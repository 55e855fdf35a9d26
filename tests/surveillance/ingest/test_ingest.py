"""The ingest stage end to end: exit codes, the threshold, idempotence and atomicity."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import corruptors
import pyarrow.parquet as pq
import pytest
from ingest_lake import curated

from surveillance import storage
from surveillance.config import load_config
from surveillance.contract import Orders
from surveillance.ingest import ingest_day
from surveillance.ingest.config import IngestConfig
from surveillance.ingest.report import HTML, LINEAGE, SUMMARY, VALIDATION
from surveillance.settings import Settings

AT = dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_a_day_without_its_marker_exits_3_and_writes_nothing(
    mmsurv: Callable[..., Any], small_day: Any, landing_copy: Path, tmp_path: Path
) -> None:
    Path(storage.Landing(landing_copy).marker(small_day.day)).unlink()
    lake = tmp_path / "lake"
    result = mmsurv("ingest", "--date", small_day.day, "--landing", landing_copy, "--lake", lake)
    assert result.exit_code == 3
    assert "_SUCCESS" in result.stderr
    assert not lake.exists()


def test_the_cli_prints_the_summary_and_the_path_of_a_self_contained_report(
    mmsurv: Callable[..., Any], small_day: Any, landing_copy: Path, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    result = mmsurv("ingest", "--date", small_day.day, "--landing", landing_copy, "--lake", lake)
    assert result.exit_code == 0, result.stderr
    assert "passed" in result.stdout
    report = result.stdout.split("report: ", 1)[1].strip()
    assert Path(report).name == HTML
    html = Path(report).read_text()
    assert "Data-quality report, trading day 2026-03-02" in html
    assert ("<script" not in html, "src=" not in html, 'href="http' not in html) == (True,) * 3


def test_too_many_quarantined_events_fail_the_day_with_the_top_reasons(
    mmsurv: Callable[..., Any], small_day: Any, landing_copy: Path, tmp_path: Path
) -> None:
    path = corruptors.files(landing_copy, Orders.name, small_day.day)[0]
    table = pq.read_table(path).to_pandas()
    news = table.index[table[Orders.event_type] == "NEW"][:120]
    table.loc[news, Orders.price] = -1.0
    corruptors._save(path, table, pq.read_schema(path))
    lake = tmp_path / "lake"
    result = mmsurv("ingest", "--date", small_day.day, "--landing", landing_copy, "--lake", lake)
    assert result.exit_code == 1
    assert "[quarantine_threshold]" in result.stderr
    assert "orders not_positive:price: 120 rows" in result.stderr
    assert "e.g. _file=" in result.stderr
    settings_lake = storage.Lake(lake)
    assert not storage.exists(settings_lake.curated(Orders.name, small_day.day))
    summary = json.loads((Path(settings_lake.quality_report(small_day.day)) / SUMMARY).read_text())
    top = summary["top_reasons"][0]
    assert (summary["status"], top["reason"], top["rows"]) == ("failed", "not_positive:price", 120)
    assert top["examples"][0]["price"] == -1.0
    html = (Path(settings_lake.quality_report(small_day.day)) / HTML).read_text()
    assert "not_positive:price" in html


def test_reingesting_a_day_gives_identical_bytes(
    small_day: Any, run_settings: Settings, tmp_path: Path
) -> None:
    ingest_day(run_settings, small_day.day, ingested_at=AT)
    first = _files(tmp_path / "lake")
    ingest_day(run_settings, small_day.day, ingested_at=AT)
    assert _files(tmp_path / "lake") == first
    assert {Path(name).name for name in first} >= {HTML, SUMMARY, VALIDATION, LINEAGE}


def test_a_failure_part_way_through_writing_keeps_the_previous_partitions(
    small_day: Any,
    landing_copy: Path,
    run_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ingest_day(run_settings, small_day.day, ingested_at=AT)
    before = _files(tmp_path / "lake" / "curated")
    corruptors.extra_column(landing_copy, small_day.day)
    real = storage.table_writer
    written: list[str] = []

    @contextlib.contextmanager
    def fail_on_second_symbol(uri: str, schema: Any, **options: Any) -> Iterator[Any]:
        if "symbol=" in uri:
            written.append(uri)
            if len(written) == 2:
                raise OSError("disk full")
        with real(uri, schema, **options) as writer:
            yield writer

    monkeypatch.setattr(storage, "table_writer", fail_on_second_symbol)
    with pytest.raises(OSError, match="disk full"):
        ingest_day(run_settings, small_day.day, ingested_at=AT)
    assert _files(tmp_path / "lake" / "curated") == before
    assert "venue_flag" not in curated(run_settings.lake, Orders.name, small_day.day)


def test_the_lineage_names_every_source_file_with_its_hash(
    small_day: Any, landing_copy: Path, run_settings: Settings
) -> None:
    import hashlib

    result = ingest_day(run_settings, small_day.day)
    manifest = json.loads(Path(result.report_uri, LINEAGE).read_text())
    landed = sorted(str(p) for p in landing_copy.rglob("*.parquet") if "labels" not in str(p))
    assert sorted(f["uri"] for f in manifest["files"]) == landed
    entry = manifest["files"][0]
    assert entry["sha256"] == hashlib.sha256(Path(entry["uri"]).read_bytes()).hexdigest()
    assert entry["rows"] == pq.read_metadata(entry["uri"]).num_rows
    assert manifest["versions"]["contract"] == "venue-export-v1"


def test_the_threshold_defaults_to_a_tenth_of_a_percent() -> None:
    assert load_config(None).section("ingest", IngestConfig).max_quarantine_share == 0.001


def test_every_validator_rule_the_native_suites_replace_exists() -> None:
    from surveillance.ingest.gate import native_equivalents
    from surveillance.validate import RULES_BY_CODE

    assert native_equivalents() <= set(RULES_BY_CODE)


def test_every_reason_code_the_gate_can_give_is_documented() -> None:
    from surveillance.contract import LANDING_DATASETS
    from surveillance.ingest import gate, pipeline, quarantine

    docs = (Path(__file__).parents[3] / "docs" / "ingest.md").read_text()
    codes = {
        item.reason.split(":", 1)[0]
        for dataset in LANDING_DATASETS
        for item in gate.content_plan(dataset, dataset.names(), [], min_rows=1)
    }
    codes |= {quarantine.ORDER_QUARANTINED, quarantine.TRADE_QUARANTINED}
    codes |= {pipeline.REFERENCE_REASON, pipeline.THRESHOLD_REASON}
    assert {c for c in codes if f"`{c}" not in docs} == set()
