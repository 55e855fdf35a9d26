"""The simulated venue's reference data: instruments, accounts and entities.

Instruments carry realistic tick and lot sizes (so prices and quantities span one
to five decimals) and the market-making obligations the affiliated market maker
must meet. Accounts belong to entities; the operator's group entity holds two
``AFFILIATED_MM`` accounts and one ``HOUSE`` account, so self-trade prevention
(per entity) stops them trading with each other unless an injector bypasses it.
"""

from __future__ import annotations

from dataclasses import dataclass

from surveillance.errors import InputError


@dataclass(frozen=True)
class InstrumentSpec:
    """One listed instrument and the parameters its market is simulated with."""

    symbol: str
    base: str
    quote: str
    tick_size: float
    lot_size: float
    price: float  # opening price
    daily_vol: float  # daily log-return volatility in a normal regime
    weight: float  # share of the day's messages
    mm_max_spread_bps: float
    mm_min_quote_notional: float  # obligation's least size, in quote currency
    mm_min_uptime: float

    @property
    def price_decimals(self) -> int:
        return _decimals(self.tick_size)

    @property
    def qty_decimals(self) -> int:
        return _decimals(self.lot_size)

    @property
    def min_quote_lots(self) -> int:
        """The obligation's least quote size, in whole lots."""
        return max(1, round(self.mm_min_quote_notional / self.price / self.lot_size))

    @property
    def mm_min_quote_quantity(self) -> float:
        return round(self.min_quote_lots * self.lot_size, self.qty_decimals)


def _decimals(step: float) -> int:
    text = f"{step:.12f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


#: The instruments a simulated day lists, most traded first; ``--symbols N`` takes N.
INSTRUMENTS: tuple[InstrumentSpec, ...] = (
    InstrumentSpec(
        "BTC-USD", "BTC", "USD", 0.1, 0.0001, 68_000.0, 0.030, 0.34, 10.0, 5_000.0, 0.95
    ),
    InstrumentSpec("ETH-USD", "ETH", "USD", 0.01, 0.001, 3_500.0, 0.038, 0.22, 12.0, 4_000.0, 0.95),
    InstrumentSpec("SOL-USD", "SOL", "USD", 0.001, 0.01, 150.0, 0.055, 0.14, 20.0, 2_500.0, 0.92),
    InstrumentSpec("XRP-USD", "XRP", "USD", 0.0001, 1.0, 0.6, 0.050, 0.10, 25.0, 2_000.0, 0.92),
    InstrumentSpec(
        "DOGE-USD", "DOGE", "USD", 0.00001, 10.0, 0.15, 0.065, 0.07, 30.0, 1_500.0, 0.90
    ),
    InstrumentSpec("ADA-USD", "ADA", "USD", 0.0001, 1.0, 0.45, 0.055, 0.05, 30.0, 1_500.0, 0.90),
    InstrumentSpec("LINK-USD", "LINK", "USD", 0.001, 0.01, 14.0, 0.055, 0.04, 30.0, 1_500.0, 0.90),
    InstrumentSpec("AVAX-USD", "AVAX", "USD", 0.001, 0.01, 28.0, 0.060, 0.04, 30.0, 1_500.0, 0.90),
)


def instruments(n: int) -> list[InstrumentSpec]:
    """The first ``n`` instruments.

    Raises
    ------
    InputError
        If ``n`` is not between 1 and the number of instruments the simulator lists.
    """
    if not 1 <= n <= len(INSTRUMENTS):
        raise InputError(
            f"--symbols {n}: the simulator lists 1 to {len(INSTRUMENTS)} instruments "
            f"({', '.join(i.symbol for i in INSTRUMENTS)}); pass a number in that range"
        )
    return list(INSTRUMENTS[:n])


# Account population sizes.
N_RETAIL = 400
N_INSTITUTIONAL = 12
N_MOMENTUM = 24
N_EXTERNAL_MM = 3
GROUP_ENTITY = "ENT-GROUP"


@dataclass(frozen=True)
class Account:
    account_id: str
    entity_id: str
    role: str
    display_name: str
    kind: str  # amm, house, xmm, retail, inst, momentum


@dataclass
class Population:
    """Every account of the venue, with index lists by kind for the agents."""

    accounts: list[Account]

    def __post_init__(self) -> None:
        self.index = {a.account_id: i for i, a in enumerate(self.accounts)}
        entities = sorted({a.entity_id for a in self.accounts})
        entity_index = {e: i for i, e in enumerate(entities)}
        self.entity_of = [entity_index[a.entity_id] for a in self.accounts]
        self.by_kind: dict[str, list[int]] = {}
        for i, a in enumerate(self.accounts):
            self.by_kind.setdefault(a.kind, []).append(i)
        self.role_of = [a.role for a in self.accounts]

    @property
    def amm(self) -> list[int]:
        return self.by_kind["amm"]

    @property
    def house(self) -> int:
        return self.by_kind["house"][0]


def population() -> Population:
    """The fixed account population (the same for every seed, so days can be compared)."""
    accts = [
        Account("AMM-1", GROUP_ENTITY, "AFFILIATED_MM", "Group market making desk 1", "amm"),
        Account("AMM-2", GROUP_ENTITY, "AFFILIATED_MM", "Group market making desk 2", "amm"),
        Account("HOUSE-1", GROUP_ENTITY, "HOUSE", "Group treasury", "house"),
    ]
    for k in range(1, N_EXTERNAL_MM + 1):
        accts.append(Account(f"XMM-{k}", f"ENT-XMM-{k}", "EXTERNAL_MM", f"External MM {k}", "xmm"))
    for k in range(1, N_INSTITUTIONAL + 1):
        accts.append(Account(f"INST-{k:03d}", f"ENT-INST-{k:03d}", "CLIENT", "", "inst"))
    for k in range(1, N_MOMENTUM + 1):
        accts.append(Account(f"MOM-{k:03d}", f"ENT-MOM-{k:03d}", "CLIENT", "", "momentum"))
    for k in range(1, N_RETAIL + 1):
        accts.append(Account(f"CLI-{k:04d}", f"ENT-CLI-{k:04d}", "CLIENT", "", "retail"))
    return Population(accts)
