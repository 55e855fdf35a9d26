"""``build_book`` on an ingested simulated day: outputs, agreement with the engine, CLI."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from booked import BookedDay

from surveillance import storage
from surveillance.book import build_book
from surveillance.book.build import replay_partition
from surveillance.book.engine import ReplayParams, replay_table
from surveillance.book.output import book_writer
from surveillance.book.schema import findings_schema, queue_schema, top_schema
from surveillance.config import load_config, parse_config
from surveillance.contract import Labels, Orders
from surveillance.errors import ConfigError, InputError
from surveillance.settings import resolve


def test_every_symbol_gets_top_queue_and_findings_in_their_schemas(booked_day: BookedDay) -> None:
    lake = booked_day.settings.lake
    result = booked_day.result
    assert result.symbols == lake.curated_symbols(Orders.name, booked_day.day)
    for symbol, r in result.per_symbol.items():
        top = storage.read_table(lake.book("top", booked_day.day, symbol))
        queue = storage.read_table(lake.book("queue", booked_day.day, symbol))
        findings = storage.read_table(lake.book("findings", booked_day.day, symbol))
        assert top.schema.equals(top_schema()) and queue.schema.equals(queue_schema())
        assert findings.schema.equals(findings_schema())
        assert (top.num_rows, queue.num_rows, findings.num_rows) == (
            r.top_rows,
            r.queue_rows,
            r.findings_total,
        )
        assert (
            r.events
            == storage.read_table(lake.curated(Orders.name, booked_day.day, symbol)).num_rows
        )


def test_replay_agrees_with_the_engine_after_every_trade_and_instruction(
    booked_day: BookedDay,
) -> None:
    """The simulator's engine records its best bid/ask after each journal row.

    Within one match it records the state after both FILL rows, so the two agree
    wherever a trade or an instruction is complete.
    """
    lake = booked_day.settings.lake
    checked = 0
    for symbol in booked_day.result.symbols:
        orders = storage.read_table(lake.curated(Orders.name, booked_day.day, symbol))
        top = storage.read_table(lake.book("top", booked_day.day, symbol))
        truth = storage.read_table(str(booked_day.truth / f"{symbol}.parquet"))
        seq = np.asarray(orders.column("seq"))
        trade = orders.column("trade_id").to_pylist()
        times = np.asarray(orders.column("event_time").cast(pa.int64()))
        trade_done = np.array(
            [i > 0 and t is not None and trade[i - 1] == t for i, t in enumerate(trade)]
        )
        instruction_done = np.append(times[1:] != times[:-1], True)
        at = trade_done | instruction_done
        row = np.searchsorted(np.asarray(top.column("seq")), seq, side="right") - 1
        assert (row >= 0)[at].all()
        truth_by_seq = {s: i for i, s in enumerate(truth.column("seq").to_pylist())}
        idx = np.array([truth_by_seq[s] for s in seq])
        for mine, theirs in (
            ("best_bid", "best_bid"),
            ("best_bid_qty", "best_bid_qty"),
            ("best_ask", "best_ask"),
            ("best_ask_qty", "best_ask_qty"),
        ):
            a = np.asarray(top.column(mine).to_numpy(zero_copy_only=False), dtype=float)[row[at]]
            b = np.asarray(truth.column(theirs).to_numpy(zero_copy_only=False), dtype=float)[
                idx[at]
            ]
            if mine.endswith("_qty"):
                b = np.nan_to_num(b)  # the engine writes NaN for an empty side's size
            assert np.array_equal(a, b, equal_nan=True), f"{symbol} {mine}"
        checked += int(at.sum())
    assert checked > 3_000


def test_queue_evidence_shows_each_injected_priority_breach(booked_day: BookedDay) -> None:
    labels = storage.read_table(booked_day.settings.landing.day_dir(Labels.name, booked_day.day))
    breaches = labels.filter(pc.equal(labels.column(Labels.typology), "PT_PRIORITY_BREACH"))
    queue = storage.read_table(booked_day.settings.lake.book("queue", booked_day.day))
    jumped = queue.filter(pc.greater(queue.column("queue_position"), 0)).to_pylist()
    assert breaches.num_rows > 0
    for label in breaches.to_pylist():
        evidence = [q for q in jumped if q["order_id"] in label["order_ids"]]
        assert evidence, label["label_id"]
        assert all(q["is_amm"] and q["account_id"] == label["account_id"] for q in evidence)
        assert any(set(q["ahead_order_ids"]) & set(label["order_ids"]) for q in evidence)


def test_an_unknown_symbol_is_refused_with_the_symbols_that_exist(booked_day: BookedDay) -> None:
    with pytest.raises(InputError, match=r"symbol NOPE-USD; symbols with data: BTC-USD, ETH-USD"):
        build_book(booked_day.settings, booked_day.day, symbols=["NOPE-USD"])


def test_a_day_without_curated_data_is_refused(booked_day: BookedDay) -> None:
    with pytest.raises(InputError, match=r"no curated orders for 2026-03-03; run `mmsurv ingest"):
        build_book(booked_day.settings, "2026-03-03")


def test_cli_builds_the_book_and_prints_per_symbol_counts(
    booked_day: BookedDay, mmsurv: Any, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(Path(booked_day.settings.lake_uri) / "curated", lake / "curated")
    done = mmsurv("book", "--date", str(booked_day.day), "--lake", str(lake), "--symbol", "ETH-USD")
    assert done.exit_code == 0, done.stderr
    assert "ETH-USD" in done.stdout and "BTC-USD" not in done.stdout
    assert (lake / "book" / "top" / f"date={booked_day.day}" / "symbol=ETH-USD").is_dir()


def test_cli_exits_2_when_the_day_has_no_curated_data(mmsurv: Any, tmp_path: Path) -> None:
    done = mmsurv("book", "--date", "2026-03-02", "--lake", str(tmp_path / "empty"))
    assert done.exit_code == 2
    assert "no curated orders for 2026-03-02" in done.stderr


def test_config_refuses_repeated_depth_distances(tmp_path: Path) -> None:
    path = tmp_path / "mmsurv.toml"
    path.write_text("version = 1\n[book]\ndepth_bps = [10, 10]\n")
    with pytest.raises(ConfigError, match=r"key 'book.depth_bps' .*must not repeat a distance"):
        load_config(path)


@pytest.mark.parametrize("carry_over", [True, False])
def test_next_day_starts_from_the_orders_left_resting_only_when_carrying_over(
    booked_day: BookedDay, tmp_path: Path, carry_over: bool
) -> None:
    lake_root = tmp_path / "lake"
    shutil.copytree(Path(booked_day.settings.lake_uri) / "curated", lake_root / "curated")
    settings = resolve(None, str(lake_root), f"sqlite:///{tmp_path}/db", None)
    config = parse_config({"version": 1, "book": {"carry_over": carry_over}})
    build_book(settings, booked_day.day, symbols=["ETH-USD"], config=config)
    lake = settings.lake
    opening = storage.read_table(lake.book("open", booked_day.day, "ETH-USD"))
    assert opening.num_rows > 0 and max(opening.column("joined_seq").to_pylist()) < 1
    carried = opening.to_pylist()[0]  # the best bid's first order in time
    next_day = booked_day.day + dt.timedelta(days=1)
    for dataset in ("accounts", "instruments"):
        storage.write_partition(
            storage.read_table(lake.curated(dataset, booked_day.day)),
            lake.curated(dataset, next_day),
        )
    cancel: dict[str, Any] = {name: None for name in Orders.names()}
    cancel.update(
        event_time=dt.datetime(2026, 3, 3, 0, 0, 1, tzinfo=dt.UTC),
        seq=1,
        symbol="ETH-USD",
        order_id=carried["order_id"],
        account_id=carried["account_id"],
        event_type="CANCEL",
        side=carried["side"],
        order_type="LIMIT",
        time_in_force="GTC",
        price=carried["price"],
        quantity=carried["quantity"],
        leaves_quantity=0.0,
        origin="CLIENT",
    )
    storage.write_partition(
        Orders.from_pylist([cancel]), lake.curated("orders", next_day, "ETH-USD")
    )
    result = build_book(settings, next_day, symbols=["ETH-USD"], config=config)
    if not carry_over:  # an empty book: the cancel names an order it never saw
        assert result.per_symbol["ETH-USD"].findings == {"ORDER_NOT_IN_BOOK": 1}
        return
    assert result.per_symbol["ETH-USD"].findings == {}  # the cancelled order was in the book
    [row] = storage.read_table(lake.book("top", next_day, "ETH-USD")).to_pylist()
    rest = [o for o in opening.to_pylist()[1:] if o["side"] == carried["side"]]
    assert row["best_bid_orders"] + row["best_ask_orders"] > 0
    assert row["best_bid" if carried["side"] == "BUY" else "best_ask"] == rest[0]["price"]


def test_a_partition_without_order_key_builds_the_same_outputs(
    booked_day: BookedDay, tmp_path: Path
) -> None:
    """Curated orders written before the ingest added ``order_key`` are still replayed
    (ids hashed instead), to the same rows."""
    lake = booked_day.settings.lake
    orders = storage.read_table(lake.curated(Orders.name, booked_day.day, "ETH-USD"))
    assert "order_key" in orders.column_names  # the ingest wrote it: the keyed path ran
    settings = resolve(None, str(tmp_path / "lake"), f"sqlite:///{tmp_path}/db", None)
    for dataset in ("accounts", "instruments"):
        storage.write_partition(
            storage.read_table(lake.curated(dataset, booked_day.day)),
            settings.lake.curated(dataset, booked_day.day),
        )
    storage.write_partition(
        orders.drop_columns(["order_key"]),
        settings.lake.curated(Orders.name, booked_day.day, "ETH-USD"),
    )
    build_book(settings, booked_day.day)
    for kind in ("top", "queue", "findings", "open"):
        keyed = storage.read_table(lake.book(kind, booked_day.day, "ETH-USD"))
        hashed = storage.read_table(settings.lake.book(kind, booked_day.day, "ETH-USD"))
        assert hashed.num_rows > 0 or kind == "findings"
        assert hashed.equals(keyed), kind


def test_writer_sinks_that_reuse_the_top_buffers_write_the_rows_replay_table_keeps(
    booked_day: BookedDay, tmp_path: Path
) -> None:
    """With ``sink_consumes`` the loop overwrites the buffers a written batch wrapped;
    small buffers (many flushes) must still give the rows kept without a sink."""
    lake = booked_day.settings.lake
    uri = lake.curated(Orders.name, booked_day.day, "BTC-USD")
    params = ReplayParams("BTC-USD", 0.01, 0.0001, frozenset(), (10, 25), buffer_rows=100)
    orders = storage.read_table(uri)
    kept = replay_table(orders, params, chunk_rows=1_000)
    paths = {kind: str(tmp_path / f"{kind}.parquet") for kind in ("top", "queue")}
    with (
        book_writer(paths["top"], top_schema(params.depth_bps)) as top_writer,
        book_writer(paths["queue"], queue_schema()) as queue_writer,
    ):
        streamed, _ = replay_partition(
            uri,
            params,
            chunk_rows=1_000,
            top_sink=top_writer.write_batch,
            queue_sink=queue_writer.write_batch,
            sink_consumes=True,
        )
    assert streamed.top_rows == kept.top.num_rows > 100 and kept.queue.num_rows > 0
    assert pq.read_table(paths["top"]).equals(kept.top)
    assert pq.read_table(paths["queue"]).equals(kept.queue)
