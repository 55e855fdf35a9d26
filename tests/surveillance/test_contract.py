"""The contract in code matches venue-export-v1.md."""

from __future__ import annotations

import pyarrow as pa

from surveillance import contract
from surveillance.contract import Alerts, Family, Orders, Trades, Typology


def test_columns_are_named_through_the_dataset_class() -> None:
    assert Orders.price == "price"
    assert Trades.buy_account_id == "buy_account_id"
    assert Orders.spec(Orders.event_type).allowed == (
        "NEW",
        "REPLACE",
        "CANCEL",
        "FILL",
        "EXPIRE",
        "REJECT",
    )


def test_orders_schema_has_contract_types_and_optional_columns() -> None:
    schema = Orders.schema()
    assert schema.field("event_time").type == pa.timestamp("ns", tz="UTC")
    assert schema.field("seq").type == pa.int64()
    assert schema.field("price").type == pa.float64()
    assert "gateway_time" in Orders.optional_names()
    assert "origin" in Orders.optional_names()
    assert "gateway_time" not in Orders.schema(include_optional=False).names


def test_every_typology_has_its_family() -> None:
    assert {t.family for t in Typology} == set(Family)
    assert Typology.PT_PRIORITY_BREACH.family is Family.PREFERENTIAL_TREATMENT
    assert len(Typology) == 11


def test_alert_export_has_the_contract_columns() -> None:
    required = Alerts.required_names()
    assert required == [
        "alert_id",
        "family",
        "typology",
        "detector",
        "symbol",
        "account_id",
        "entity_id",
        "window_start",
        "window_end",
        "score",
        "severity",
        "order_ids",
        "trade_ids",
        "explanation",
    ]
    assert Alerts.schema().field("order_ids").type == pa.list_(pa.string())


def test_every_dataset_is_registered_by_name() -> None:
    assert set(contract.DATASETS_BY_NAME) == {
        "orders",
        "trades",
        "accounts",
        "instruments",
        "reference_prices",
        "labels",
        "alerts",
    }
