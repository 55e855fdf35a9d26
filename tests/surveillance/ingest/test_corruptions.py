"""One test per class of bad input: the gate's verdict, and a curated lake with nothing wrong.

Each test corrupts a copy of a simulated venue day with one corruptor and ingests it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import corruptors
import pytest
from ingest_lake import curated, quarantined, reasons_of

from surveillance import storage
from surveillance.config import Config
from surveillance.contract import Orders, Trades
from surveillance.errors import ContractError, DataQualityError
from surveillance.ingest import ingest_day
from surveillance.ingest.report import SUMMARY
from surveillance.settings import Settings
from surveillance.storage import Lake

ROW_LEVEL = [
    pytest.param(corruptors.duplicate_seq, Orders.name, "orders.duplicate_seq", id="duplicate-seq"),
    pytest.param(
        corruptors.out_of_order_seq,
        Orders.name,
        "orders.seq_not_increasing_in_file",
        id="out-of-order-seq",
    ),
    pytest.param(
        corruptors.fill_without_trade,
        Orders.name,
        "orders.fill_without_trade",
        id="fill-without-trade",
    ),
    pytest.param(
        corruptors.trade_without_fills,
        Trades.name,
        "trades.without_fills",
        id="trade-without-fills",
    ),
    pytest.param(
        corruptors.mismatched_trade_and_fill,
        Trades.name,
        "trades.fill_mismatch",
        id="mismatched-trade-and-fill",
    ),
    pytest.param(
        corruptors.non_positive_price_and_quantity,
        Orders.name,
        "not_positive:price not_positive:quantity",
        id="negative-price-zero-quantity",
    ),
    pytest.param(corruptors.off_tick_price, Orders.name, "orders.off_tick", id="off-tick-price"),
    pytest.param(corruptors.off_lot_quantity, Orders.name, "orders.off_lot", id="off-lot-quantity"),
    pytest.param(
        corruptors.unknown_account, Orders.name, "orders.unknown_account", id="unknown-account"
    ),
    pytest.param(
        corruptors.unknown_symbol, Orders.name, "orders.unknown_symbol", id="unknown-symbol"
    ),
    pytest.param(
        corruptors.event_after_terminal,
        Orders.name,
        "orders.event_after_terminal",
        id="event-after-terminal",
    ),
]


# ``reason``: the reason code (or space-separated codes) the corrupted rows must carry.
@pytest.mark.parametrize(("corrupt", "dataset", "reason"), ROW_LEVEL)
def test_bad_rows_are_quarantined_with_their_reason_and_kept_out_of_the_lake(
    corrupt: Callable[[Path, dt.date], corruptors.Corruption],
    dataset: str,
    reason: str,
    small_day: Any,
    landing_copy: Path,
    run_settings: Settings,
    lenient: Config,
    assert_curated_clean: Callable[[Lake, dt.date], None],
) -> None:
    day = small_day.day
    broken = corrupt(landing_copy, day)
    result = ingest_day(run_settings, day, config=lenient)
    lake = run_settings.lake
    assert set(reason.split()) <= reasons_of(quarantined(lake, dataset, day))
    assert result.status == "passed"
    assert result.quarantined[dataset] >= 1
    orders = curated(lake, Orders.name, day)
    keys = set(zip(orders[Orders.symbol], orders[Orders.order_id], strict=True))
    assert not {(broken.symbol, o) for o in broken.order_ids} & keys
    assert not set(curated(lake, Trades.name, day)[Trades.trade_id]) & broken.trade_ids
    assert_curated_clean(lake, day)


@pytest.mark.parametrize(
    ("corrupt", "reason", "column", "words"),
    [
        pytest.param(
            corruptors.wrong_type,
            "wrong_type",
            "price",
            "column 'price' must be",
            id="wrong-type",
        ),
        pytest.param(
            corruptors.missing_column,
            "missing_column",
            "side",
            "required column 'side'",
            id="missing-column",
        ),
        pytest.param(
            corruptors.truncated_file,
            "unreadable_file",
            None,
            "cannot be read as Parquet",
            id="truncated-file",
        ),
    ],
)
def test_a_broken_file_fails_the_day_naming_it_and_writes_nothing_curated(
    corrupt: Callable[[Path, dt.date], corruptors.Corruption],
    reason: str,
    column: str | None,
    words: str,
    small_day: Any,
    landing_copy: Path,
    run_settings: Settings,
) -> None:
    day = small_day.day
    broken = corrupt(landing_copy, day)
    with pytest.raises(ContractError, match=re.escape(words)) as caught:
        ingest_day(run_settings, day)
    assert caught.value.reason == reason
    assert caught.value.column == column
    assert broken.file in str(caught.value)
    lake = run_settings.lake
    assert not storage.exists(lake.curated(Orders.name, day))
    summary = json.loads(Path(lake.quality_report(day), SUMMARY).read_text())
    assert (summary["status"], summary["file_error"]["reason"]) == ("failed", reason)
    assert summary["file_error"]["file"] == caught.value.file


def test_an_extra_column_is_kept_in_the_curated_lake_and_not_fatal(
    small_day: Any, landing_copy: Path, run_settings: Settings
) -> None:
    corruptors.extra_column(landing_copy, small_day.day)
    result = ingest_day(run_settings, small_day.day)
    orders = curated(run_settings.lake, Orders.name, small_day.day)
    assert result.quarantined_events == 0
    assert orders["venue_flag"].str.startswith("f").all()
    summary = json.loads(Path(result.report_uri, SUMMARY).read_text())
    assert summary["datasets"]["orders"]["extra_columns"] == ["venue_flag"]


def test_an_empty_day_fails_rather_than_passing_with_nothing_to_analyse(
    small_day: Any, landing_copy: Path, run_settings: Settings
) -> None:
    corruptors.empty_day(landing_copy, small_day.day)
    with pytest.raises(DataQualityError, match="empty_dataset") as caught:
        ingest_day(run_settings, small_day.day)
    assert caught.value.reason == "empty_dataset"
    assert not storage.exists(run_settings.lake.curated(Orders.name, small_day.day))
