"""A small curated lake, a key pair and cases for the evidence tests.

The lake is produced by a tiny price-time priority matcher (below) so that orders,
trades and the book they imply are consistent, as the real pipeline's are: the
affiliated market maker (account ``amm-1`` of entity ``GROUP``) quotes around a
drifting mid, two clients rest and take liquidity, and one client trade is the
subject of a case.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import random
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from surveillance import storage
from surveillance.contract import Accounts, Alerts, Instruments, Orders, Trades
from surveillance.evidence.keys import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    KeyPair,
    fingerprint,
    generate_keypair,
    load_private_key,
)
from surveillance.evidence.pack import CaseEvidence, build_pack
from surveillance.settings import Settings, resolve

DAY = dt.date(2026, 3, 2)
SYMBOL = "BTC-USD"
AMM = "amm-1"
START = pd.Timestamp("2026-03-02T10:00:00Z")


@dataclass
class _Resting:
    order_id: str
    account: str
    side: str
    price: float
    quantity: float
    leaves: float
    tif: str


@dataclass
class Matcher:
    """Price-time priority matching that writes the contract's journal and trades."""

    symbol: str
    orders: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    book: dict[str, list[_Resting]] = field(default_factory=lambda: {"BUY": [], "SELL": []})
    seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _row(self, t: pd.Timestamp, gw: pd.Timestamp | None, o: _Resting, event: str, **kw: Any):
        row = {
            Orders.event_time: t,
            Orders.gateway_time: gw,
            Orders.seq: next(self.seq),
            Orders.symbol: self.symbol,
            Orders.order_id: o.order_id,
            Orders.account_id: o.account,
            Orders.event_type: event,
            Orders.side: o.side,
            Orders.order_type: kw.pop("order_type", "LIMIT"),
            Orders.time_in_force: o.tif,
            Orders.price: kw.pop("price", o.price),
            Orders.quantity: o.quantity,
            Orders.leaves_quantity: o.leaves,
            Orders.fill_price: None,
            Orders.fill_quantity: None,
            Orders.trade_id: None,
            Orders.liquidity: None,
            Orders.origin: "CLIENT",
        }
        row.update(kw)
        self.orders.append(row)

    def submit(
        self,
        t: pd.Timestamp,
        account: str,
        side: str,
        quantity: float,
        price: float | None = None,
        tif: str = "GTC",
        latency_ms: float = 2.0,
    ) -> str:
        """A NEW instruction: match against the opposite side, rest the remainder."""
        order_id = f"O{next(self.ids):05d}"
        kind = "MARKET" if price is None else "LIMIT"
        tif = "IOC" if price is None else tif
        order = _Resting(order_id, account, side, price or float("nan"), quantity, quantity, tif)
        gw = t - pd.Timedelta(milliseconds=latency_ms)
        self._row(t, gw, order, "NEW", order_type=kind, price=price)
        opposite = self.book["SELL" if side == "BUY" else "BUY"]
        while order.leaves > 1e-12 and opposite:
            best = opposite[0]
            crosses = price is None or (
                best.price <= price if side == "BUY" else best.price >= price
            )
            if not crosses:
                break
            qty = min(order.leaves, best.leaves)
            trade_id = f"T{len(self.trades) + 1:05d}"
            best.leaves -= qty
            order.leaves -= qty
            buy, sell = (order, best) if side == "BUY" else (best, order)
            self.trades.append(
                {
                    Trades.event_time: t,
                    Trades.symbol: self.symbol,
                    Trades.trade_id: trade_id,
                    Trades.price: best.price,
                    Trades.quantity: qty,
                    Trades.aggressor_side: side,
                    Trades.buy_order_id: buy.order_id,
                    Trades.sell_order_id: sell.order_id,
                    Trades.buy_account_id: buy.account,
                    Trades.sell_account_id: sell.account,
                    Trades.buy_fee: 0.0,
                    Trades.sell_fee: 0.0,
                }
            )
            for who, liquidity in ((best, "MAKER"), (order, "TAKER")):
                self._row(
                    t,
                    None,
                    who,
                    "FILL",
                    order_type="MARKET" if who is order and price is None else "LIMIT",
                    price=None if who is order and price is None else who.price,
                    fill_price=best.price,
                    fill_quantity=qty,
                    trade_id=trade_id,
                    liquidity=liquidity,
                )
            if best.leaves <= 1e-12:
                opposite.pop(0)
        if order.leaves > 1e-12:
            if tif in ("IOC", "FOK") or price is None:
                order.leaves = 0.0
                self._row(t, None, order, "EXPIRE", order_type=kind, price=price)
            else:
                level = self.book[side]
                level.append(order)
                level.sort(key=lambda o: -o.price if side == "BUY" else o.price)  # stable
        return order_id

    def cancel(self, t: pd.Timestamp, order_id: str, latency_ms: float = 2.0) -> None:
        for side in ("BUY", "SELL"):
            for resting in self.book[side]:
                if resting.order_id == order_id:
                    self.book[side].remove(resting)
                    resting.leaves = 0.0
                    gw = t - pd.Timedelta(milliseconds=latency_ms)
                    self._row(t, gw, resting, "CANCEL")
                    return


def simulate_market(seed: int = 7) -> Matcher:
    """Ten minutes of quoting and client flow in one symbol."""
    rng = random.Random(seed)
    m = Matcher(SYMBOL)
    mid = 100.0
    quotes: list[str] = []
    t = START
    for step in range(60):
        t = START + pd.Timedelta(seconds=10 * step)
        for order_id in quotes:
            m.cancel(t, order_id, latency_ms=0.5)
        mid = round(mid + rng.choice((-0.5, 0.0, 0.5)), 1)
        quotes = [
            m.submit(t + pd.Timedelta(milliseconds=1), AMM, "BUY", 2.0, mid - 0.5, latency_ms=0.5),
            m.submit(t + pd.Timedelta(milliseconds=2), AMM, "SELL", 2.0, mid + 0.5, latency_ms=0.5),
        ]
        if step % 3 == 0:
            m.submit(t + pd.Timedelta(seconds=3), "client-2", "BUY", 1.0, mid - 0.5)
        if step % 2 == 0:
            side = rng.choice(("BUY", "SELL"))
            m.submit(t + pd.Timedelta(seconds=5), "client-1", side, 0.5)
    return m


def write_lake(lake_root: Path, matcher: Matcher | None = None) -> tuple[Settings, Matcher]:
    """Write a matcher's day (the simulated one by default) as curated partitions."""
    m = matcher or simulate_market()
    settings = resolve(landing=str(lake_root / "landing"), lake=str(lake_root / "lake"))
    lake = settings.lake
    orders = Orders.from_pylist(m.orders)
    trades = Trades.from_pylist(m.trades)
    storage.write_partition(orders, lake.curated("orders", DAY, SYMBOL))
    storage.write_partition(trades, lake.curated("trades", DAY, SYMBOL))
    storage.write_partition(
        Accounts.from_pylist(
            [
                {"account_id": AMM, "entity_id": "GROUP", "role": "AFFILIATED_MM"},
                {"account_id": "client-1", "entity_id": "C1", "role": "CLIENT"},
                {"account_id": "client-2", "entity_id": "C2", "role": "CLIENT"},
            ]
        ),
        lake.curated("accounts", DAY),
    )
    storage.write_partition(
        Instruments.from_pylist(
            [
                {
                    "symbol": SYMBOL,
                    "base_asset": "BTC",
                    "quote_asset": "USD",
                    "tick_size": 0.1,
                    "lot_size": 0.001,
                    "mm_max_spread_bps": 150.0,
                    "mm_min_quote_quantity": 1.0,
                    "mm_min_uptime": 0.9,
                }
            ]
        ),
        lake.curated("instruments", DAY),
    )
    return settings, m


@pytest.fixture
def market(tmp_path: Path) -> tuple[Settings, Matcher]:
    """Settings pointing at a freshly written small lake, and the matcher that made it."""
    return write_lake(tmp_path)


@pytest.fixture
def keypair(tmp_path: Path) -> KeyPair:
    """A new Ed25519 key pair in ``tmp_path/keys``."""
    return generate_keypair(tmp_path / "keys")


def make_case(m: Matcher, case_id: int = 7, *, status: str = "CLOSED") -> CaseEvidence:
    """A case of one off-market alert on the AMM's trade with client-1 at 10:02:05."""
    trade = next(t for t in m.trades if t[Trades.event_time] >= START + pd.Timedelta(minutes=2))
    t0 = trade[Trades.event_time]
    alert = {
        "alert_id": "A-off-market-1",
        "family": "PREFERENTIAL_TREATMENT",
        "typology": "PT_OFF_MARKET_EXECUTION",
        "detector": "rule:off_market",
        "symbol": SYMBOL,
        "account_id": AMM,
        "entity_id": "GROUP",
        "window_start": t0,
        "window_end": t0 + pd.Timedelta(seconds=1),
        "score": 81.5,
        "severity": "HIGH",
        "order_ids": [trade[Trades.buy_order_id], trade[Trades.sell_order_id]],
        "trade_ids": [trade[Trades.trade_id]],
        "explanation": "The client paid 0.5 above the best offer <b>then</b> resting.",
        "detector_version": "1.0.0",
        "params_hash": "abcdef0123456789",
        "features": '{"price_gap_bps": 48.5, "baseline_price_gap_bps": 2.0, "n_levels": 1}',
        "date": DAY.isoformat(),
    }
    case = {
        "id": case_id,
        "status": status,
        "family": "PREFERENTIAL_TREATMENT",
        "typology": "PT_OFF_MARKET_EXECUTION",
        "typologies": ["PT_OFF_MARKET_EXECUTION"],
        "entity_id": "GROUP",
        "symbol": SYMBOL,
        "account_ids": [AMM],
        "severity": "HIGH",
        "score": 81.5,
        "explanation": "One AMM trade against a client away from the best price.",
        "window_start": t0,
        "window_end": t0 + pd.Timedelta(seconds=1),
        "alert_count": 1,
        "assignee": "ana",
        "disposition": "NO_FURTHER_ACTION" if status == "CLOSED" else None,
        "disposition_rationale": "Venue latency incident, remediated."
        if status == "CLOSED"
        else None,
        "created_at": pd.Timestamp("2026-03-03T08:00:00Z"),
        "closed_at": pd.Timestamp("2026-03-04T09:30:00Z") if status == "CLOSED" else None,
    }
    audit = [
        {
            "seq": 1,
            "at": "2026-03-03T08:00:00Z",
            "actor": "system",
            "action": "case.create",
            "case_id": case_id,
            "before": None,
            "after": '{"status":"NEW"}',
            "details": None,
            "prev_hash": "0" * 64,
            "hash": "a" * 64,
        },
        {
            "seq": 2,
            "at": "2026-03-04T09:30:00Z",
            "actor": "sup",
            "action": "case.close",
            "case_id": case_id,
            "before": '{"status":"NEW"}',
            "after": '{"status":"CLOSED"}',
            "details": None,
            "prev_hash": "a" * 64,
            "hash": "b" * 64,
        },
    ]
    comments = [
        {
            "created_at": "2026-03-03T09:00:00Z",
            "author": "ana",
            "body": "Checked <script>x</script>",
        }
    ]
    return CaseEvidence(case, [alert], comments, audit)


@pytest.fixture
def case_factory() -> Callable[..., CaseEvidence]:
    """Builds a :class:`CaseEvidence` on the simulated market (see :func:`make_case`)."""
    return make_case


def rewrite_member(src: bytes, name: str, data: bytes | None) -> bytes:
    """Zip bytes ``src`` with member ``name`` replaced, added, or removed (``data`` None).

    This is what someone editing a pack with a zip tool produces: every other member is
    copied unchanged.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as old, zipfile.ZipFile(out, "w") as new:
        found = False
        for info in old.infolist():
            if info.filename == name:
                found = True
                if data is not None:
                    new.writestr(info, data)
            else:
                new.writestr(info, old.read(info.filename))
        if not found and data is not None:
            new.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def rewrite() -> Callable[[bytes, str, bytes | None], bytes]:
    """:func:`rewrite_member`, for tests that tamper with packs."""
    return rewrite_member


def build_case_pack(folder: Path) -> tuple[Path, Path]:
    """Write the lake, a key pair and the signed pack of :func:`make_case` under ``folder``."""
    settings, m = write_lake(folder)
    pair = generate_keypair(folder / "keys")
    out = folder / "case-7.zip"
    build_pack(
        settings,
        [make_case(m)],
        out,
        private_key=load_private_key(pair.private_key),
        creator="reviewer",
        scope={"case_id": 7},
    )
    return out, pair.public_key


@pytest.fixture(scope="module")
def signed_pack(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A signed pack of one case and the signer's public key, built once per test module."""
    return build_case_pack(tmp_path_factory.mktemp("pack"))


PASSWORDS = {
    "admin": "admin-password-1",
    "rita": "reviewer-password-1",
    "ana": "analyst-password-1",
}


@dataclass
class StoreWorld:
    """A lake, a case store holding the simulated case, users, and a signing key."""

    settings: Settings
    matcher: Matcher
    case_id: int
    keys: KeyPair
    root: Path

    def cli_options(self) -> list[str]:
        return ["--lake", self.settings.lake_uri, "--db", self.settings.db_url]


def _build_world(root: Path) -> int:
    from surveillance.cases import CaseStore

    settings, m = write_lake(root)
    evidence = make_case(m)
    with CaseStore(settings.db_url) as store:
        store.add_user(None, "admin", "admin", PASSWORDS["admin"])
        store.add_user("admin", "rita", "reviewer", PASSWORDS["rita"])
        store.add_user("admin", "ana", "analyst", PASSWORDS["ana"])
        store.ingest_alerts(Alerts.from_pylist([dict(a) for a in evidence.alerts]))
        case_id = store.list_cases(limit=None).items[0].id
        store.comment("ana", case_id, "Looked at the book: the AMM filled at the touch.")
    generate_keypair(root / "keys")
    return case_id


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The world built once per session (migrations and password hashing are slow)."""
    root = tmp_path_factory.mktemp("world")
    return root, _build_world(root)


@pytest.fixture
def world(
    world_template: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> StoreWorld:
    """A private copy of the small lake plus an SQLite case store with one case.

    Users: ``admin``, the reviewer ``rita`` and the analyst ``ana`` (passwords in
    ``PASSWORDS``); a signing key pair in ``keys/``. No MMSURV_* variable leaks in.
    """
    for name in (
        "MMSURV_LANDING",
        "MMSURV_LAKE",
        "MMSURV_DB_URL",
        "MMSURV_CONFIG",
        "MMSURV_SIGNING_KEY",
        "MMSURV_USER",
        "MMSURV_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    template, case_id = world_template
    root = tmp_path / "world"
    shutil.copytree(template, root)
    settings = resolve(landing=str(root / "landing"), lake=str(root / "lake"))
    keys = KeyPair(
        root / "keys" / PRIVATE_KEY_FILE,
        root / "keys" / PUBLIC_KEY_FILE,
        fingerprint(load_private_key(root / "keys" / PRIVATE_KEY_FILE).public_key()),
    )
    return StoreWorld(settings, simulate_market(), case_id, keys, root)


@pytest.fixture
def new_matcher() -> Callable[[], Matcher]:
    """Makes an empty :class:`Matcher` for ``BTC-USD`` to script a scenario with."""
    return lambda: Matcher(SYMBOL)


@pytest.fixture
def scenario_lake(tmp_path: Path) -> Callable[[Matcher], Settings]:
    """Writes a scripted matcher's day (with the standard accounts) as a lake."""

    def write(matcher: Matcher) -> Settings:
        folder = tmp_path / f"scenario-{len(list(tmp_path.glob('scenario-*')))}"
        return write_lake(folder, matcher)[0]

    return write
