"""The venue export contract, version 1, in code.

This module is the only definition of the contract's datasets in the code base
(``shared/contract/venue-export-v1.md``): Arrow types, which columns are required,
which may be null, the enumerations, and the alert and label formats the pipeline
exposes. Everything else (simulator, validator, ingest, book, detectors, exports)
refers to columns through the dataset classes, ``Orders.price`` rather than
``"price"``, so that a renamed or retyped column is a one-line change here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, overload

import pyarrow as pa

CONTRACT_VERSION = "venue-export-v1"

TIMESTAMP = pa.timestamp("ns", tz="UTC")
STRING = pa.string()
FLOAT = pa.float64()
INT = pa.int64()
STRING_LIST = pa.list_(pa.string())

#: Sign constraints a numeric column may carry (``ColumnSpec.sign``).
POSITIVE = "positive"
NON_NEGATIVE = "non_negative"


class EventType(StrEnum):
    """Engine event on an order [150 ExecType]."""

    NEW = "NEW"
    REPLACE = "REPLACE"
    CANCEL = "CANCEL"
    FILL = "FILL"
    EXPIRE = "EXPIRE"
    REJECT = "REJECT"


#: Events after which an order has no further event (leaves_quantity is 0).
TERMINAL_EVENTS = frozenset({EventType.CANCEL, EventType.EXPIRE, EventType.REJECT})
#: Events caused by an instruction received at the gateway (gateway_time is set).
GATEWAY_EVENTS = frozenset({EventType.NEW, EventType.REPLACE, EventType.CANCEL})


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    POST_ONLY = "POST_ONLY"


class Liquidity(StrEnum):
    MAKER = "MAKER"
    TAKER = "TAKER"


class Origin(StrEnum):
    CLIENT = "CLIENT"
    LIQUIDATION = "LIQUIDATION"
    SYSTEM = "SYSTEM"


#: The origin of an order whose ``origin`` column is absent or null.
DEFAULT_ORIGIN = Origin.CLIENT


class Role(StrEnum):
    AFFILIATED_MM = "AFFILIATED_MM"
    EXTERNAL_MM = "EXTERNAL_MM"
    CLIENT = "CLIENT"
    HOUSE = "HOUSE"


class Family(StrEnum):
    FRONT_RUNNING = "FRONT_RUNNING"
    PREFERENTIAL_TREATMENT = "PREFERENTIAL_TREATMENT"
    SPREAD_MANIPULATION = "SPREAD_MANIPULATION"
    MARKET_INTEGRITY = "MARKET_INTEGRITY"


class Typology(StrEnum):
    """The conduct codes of ``shared/contract/typologies.md``."""

    FR_TRADING_AHEAD = "FR_TRADING_AHEAD"
    FR_FLOW_ANTICIPATION = "FR_FLOW_ANTICIPATION"
    PT_PRIORITY_BREACH = "PT_PRIORITY_BREACH"
    PT_SEQUENCING_ADVANTAGE = "PT_SEQUENCING_ADVANTAGE"
    PT_OFF_MARKET_EXECUTION = "PT_OFF_MARKET_EXECUTION"
    SM_QUOTE_FADE = "SM_QUOTE_FADE"
    SM_SPREAD_WIDENING = "SM_SPREAD_WIDENING"
    SM_SPOOFING = "SM_SPOOFING"
    MI_WASH_TRADE = "MI_WASH_TRADE"
    MI_LIQUIDATION_HUNTING = "MI_LIQUIDATION_HUNTING"
    MI_OBLIGATION_BREACH = "MI_OBLIGATION_BREACH"

    @property
    def family(self) -> Family:
        return _FAMILY_BY_PREFIX[self.value[:2]]


_FAMILY_BY_PREFIX = {
    "FR": Family.FRONT_RUNNING,
    "PT": Family.PREFERENTIAL_TREATMENT,
    "SM": Family.SPREAD_MANIPULATION,
    "MI": Family.MARKET_INTEGRITY,
}


class Severity(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a dataset as the contract defines it.

    ``required`` means the column must be present in every file; ``nullable`` means a
    present column may hold nulls in some rows (rules that make a null conditional, such
    as ``price`` being null exactly for MARKET orders, are checked by the validator).
    """

    name: str
    type: pa.DataType
    required: bool
    nullable: bool
    doc: str
    allowed: tuple[str, ...] | None = None
    #: ``"positive"`` (> 0) or ``"non_negative"`` (>= 0) for numbers the contract bounds.
    sign: str | None = None

    @property
    def field(self) -> pa.Field:
        return pa.field(self.name, self.type, nullable=self.nullable or not self.required)


class Col:
    """Declares a column on a dataset class; reading it from the class gives its name.

    ``Orders.price == "price"``, so code names columns through the contract, and
    ``Orders.spec("price")`` gives the full :class:`ColumnSpec`.
    """

    def __init__(
        self,
        type_: pa.DataType,
        *,
        required: bool = True,
        nullable: bool = False,
        doc: str = "",
        allowed: type[StrEnum] | None = None,
        sign: str | None = None,
    ) -> None:
        if sign not in (None, POSITIVE, NON_NEGATIVE):
            raise ValueError(f"sign must be {POSITIVE!r} or {NON_NEGATIVE!r}, found {sign!r}")
        self._type = type_
        self._required = required
        self._nullable = nullable
        self._doc = doc
        self._allowed = tuple(m.value for m in allowed) if allowed else None
        self._sign = sign
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> str: ...
    @overload
    def __get__(self, obj: object, owner: type) -> str: ...
    def __get__(self, obj: object | None, owner: type) -> str:
        return self.name

    def spec(self) -> ColumnSpec:
        return ColumnSpec(
            self.name,
            self._type,
            self._required,
            self._nullable,
            self._doc,
            self._allowed,
            self._sign,
        )


class Dataset:
    """Base of the contract's datasets: a name and an ordered set of columns."""

    name: ClassVar[str]
    #: Whether a landing day may lack the dataset entirely.
    optional_dataset: ClassVar[bool] = False

    @classmethod
    def columns(cls) -> list[ColumnSpec]:
        specs: list[ColumnSpec] = []
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                if isinstance(value, Col):
                    specs.append(value.spec())
        return specs

    @classmethod
    def spec(cls, column: str) -> ColumnSpec:
        for spec in cls.columns():
            if spec.name == column:
                return spec
        raise KeyError(f"{cls.name} has no contract column {column!r}")

    @classmethod
    def names(cls) -> list[str]:
        return [c.name for c in cls.columns()]

    @classmethod
    def required_names(cls) -> list[str]:
        return [c.name for c in cls.columns() if c.required]

    @classmethod
    def optional_names(cls) -> list[str]:
        return [c.name for c in cls.columns() if not c.required]

    @classmethod
    def schema(cls, *, include_optional: bool = True) -> pa.Schema:
        """The Arrow schema, contract columns in contract order."""
        return pa.schema(
            [c.field for c in cls.columns() if c.required or include_optional],
            metadata={b"contract": CONTRACT_VERSION.encode(), b"dataset": cls.name.encode()},
        )

    @classmethod
    def empty(cls) -> pa.Table:
        return cls.schema().empty_table()

    @classmethod
    def from_pylist(cls, rows: list[dict[str, Any]]) -> pa.Table:
        """A table in the contract schema from dicts; absent optional keys become null."""
        return pa.Table.from_pylist(rows, schema=cls.schema())


class Orders(Dataset):
    """The matching engine's order journal: one row per engine event on an order."""

    name = "orders"
    event_time = Col(TIMESTAMP, doc="when the engine applied the event [60]")
    gateway_time = Col(
        TIMESTAMP,
        required=False,
        nullable=True,
        doc="when the gateway received the instruction; null for FILL and EXPIRE",
    )
    seq = Col(INT, doc="engine sequence number, unique and increasing per (symbol, day)")
    symbol = Col(STRING, doc="instrument [55]")
    order_id = Col(STRING, doc="venue order id, unique within symbol [37]")
    account_id = Col(STRING, doc="owning account [1]")
    event_type = Col(STRING, doc="engine event [150]", allowed=EventType)
    side = Col(STRING, doc="[54]", allowed=Side)
    order_type = Col(STRING, doc="[40]", allowed=OrderType)
    time_in_force = Col(STRING, doc="[59/18]", allowed=TimeInForce)
    price = Col(
        FLOAT,
        nullable=True,
        doc="limit price after the event; null for MARKET [44]",
        sign=POSITIVE,
    )
    quantity = Col(FLOAT, doc="total quantity in force after the event [38]", sign=POSITIVE)
    leaves_quantity = Col(FLOAT, doc="quantity still open after the event [151]", sign=NON_NEGATIVE)
    fill_price = Col(FLOAT, nullable=True, doc="execution price, FILL only [31]", sign=POSITIVE)
    fill_quantity = Col(
        FLOAT, nullable=True, doc="executed quantity, FILL only [32]", sign=POSITIVE
    )
    trade_id = Col(STRING, nullable=True, doc="trade of this fill, FILL only [880]")
    liquidity = Col(STRING, nullable=True, doc="MAKER or TAKER, FILL only [851]", allowed=Liquidity)
    origin = Col(
        STRING,
        required=False,
        nullable=True,
        doc="CLIENT (default), LIQUIDATION or SYSTEM",
        allowed=Origin,
    )


class Trades(Dataset):
    """One row per match."""

    name = "trades"
    event_time = Col(TIMESTAMP, doc="execution time")
    symbol = Col(STRING)
    trade_id = Col(STRING, doc="unique within symbol and day")
    price = Col(FLOAT, sign=POSITIVE)
    quantity = Col(FLOAT, sign=POSITIVE)
    aggressor_side = Col(STRING, doc="side of the taker order", allowed=Side)
    buy_order_id = Col(STRING)
    sell_order_id = Col(STRING)
    buy_account_id = Col(STRING)
    sell_account_id = Col(STRING)
    buy_fee = Col(FLOAT, required=False, nullable=True, doc="quote currency; negative is a rebate")
    sell_fee = Col(FLOAT, required=False, nullable=True, doc="quote currency; negative is a rebate")


class Accounts(Dataset):
    """Reference snapshot of trading accounts valid for the day."""

    name = "accounts"
    account_id = Col(STRING)
    entity_id = Col(STRING, doc="legal entity / beneficial owner")
    role = Col(STRING, allowed=Role)
    display_name = Col(STRING, required=False, nullable=True)


class Instruments(Dataset):
    """Reference snapshot of instruments valid for the day."""

    name = "instruments"
    symbol = Col(STRING)
    base_asset = Col(STRING)
    quote_asset = Col(STRING)
    tick_size = Col(FLOAT, doc="every price is a multiple of it", sign=POSITIVE)
    lot_size = Col(FLOAT, doc="every quantity is a multiple of it", sign=POSITIVE)
    mm_max_spread_bps = Col(
        FLOAT, required=False, nullable=True, doc="widest compliant quote", sign=POSITIVE
    )
    mm_min_quote_quantity = Col(
        FLOAT, required=False, nullable=True, doc="least size each side", sign=NON_NEGATIVE
    )
    mm_min_uptime = Col(
        FLOAT, required=False, nullable=True, doc="least fraction of the day", sign=NON_NEGATIVE
    )


class ReferencePrices(Dataset):
    """Optional external index prices."""

    name = "reference_prices"
    optional_dataset = True
    event_time = Col(TIMESTAMP)
    symbol = Col(STRING)
    price = Col(FLOAT, doc="external reference (index) price", sign=POSITIVE)


class Labels(Dataset):
    """Ground truth of simulated and evaluation data: one row per injected conduct."""

    name = "labels"
    optional_dataset = True
    label_id = Col(STRING)
    typology = Col(STRING, allowed=Typology)
    symbol = Col(STRING)
    account_id = Col(STRING)
    window_start = Col(TIMESTAMP)
    window_end = Col(TIMESTAMP)
    order_ids = Col(STRING_LIST)
    trade_ids = Col(STRING_LIST)
    intensity = Col(
        FLOAT, required=False, nullable=True, doc="extension: the injector's intensity, 0-1"
    )
    description = Col(STRING, required=False, nullable=True, doc="extension: what was injected")


class Alerts(Dataset):
    """The alerts export: what detectors emit and the case store keeps."""

    name = "alerts"
    alert_id = Col(STRING, doc="stable: same input and configuration, same id")
    family = Col(STRING, allowed=Family)
    typology = Col(STRING, allowed=Typology)
    detector = Col(STRING, doc="rule:<name> or anomaly:<model>")
    symbol = Col(STRING)
    account_id = Col(STRING, nullable=True, doc="null if only the entity is known")
    entity_id = Col(STRING)
    window_start = Col(TIMESTAMP)
    window_end = Col(TIMESTAMP)
    score = Col(FLOAT, doc="0-100")
    severity = Col(STRING, allowed=Severity)
    order_ids = Col(STRING_LIST)
    trade_ids = Col(STRING_LIST)
    explanation = Col(STRING, doc="plain-language reason an analyst can read")
    detector_version = Col(STRING, required=False, nullable=True, doc="extension")
    params_hash = Col(STRING, required=False, nullable=True, doc="extension: hash of parameters")
    features = Col(
        STRING,
        required=False,
        nullable=True,
        doc="extension: JSON object of triggering feature values and their baselines",
    )
    date = Col(STRING, required=False, nullable=True, doc="extension: trading day YYYY-MM-DD")


#: The datasets a venue lands, in the order ingest reads them.
LANDING_DATASETS: tuple[type[Dataset], ...] = (
    Accounts,
    Instruments,
    Orders,
    Trades,
    ReferencePrices,
)

_ALL_DATASETS: tuple[type[Dataset], ...] = (*LANDING_DATASETS, Labels, Alerts)
DATASETS_BY_NAME: dict[str, type[Dataset]] = {d.name: d for d in _ALL_DATASETS}
