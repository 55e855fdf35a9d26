"""Fixtures of the web app's tests: a real case store, a small lake, signed-in clients.

The case store is a real SQLite file (and PostgreSQL for the tests marked
``postgres``): a template database with users and cases is built once per session
(Argon2 hashing is slow on purpose) and copied for each test, so every test starts
from the same state and may change it freely.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from surveillance.book.engine import ReplayParams, replay_table
from surveillance.book.schema import DEFAULT_DEPTH_BPS
from surveillance.cases import CaseStore
from surveillance.contract import Accounts, Alerts, Instruments, Orders, Trades
from surveillance.settings import Settings
from surveillance.storage import Lake, write_partition

DAY = dt.date(2026, 3, 2)
SYMBOL = "BTC-USDT"
OTHER_SYMBOL = "ETH-USDT"
PASSWORD = "correct horse battery"
#: user name -> role; ``sue`` and ``sam`` are two supervisors (four eyes).
USERS = {
    "root": "admin",
    "ana": "analyst",
    "bob": "analyst",
    "sue": "supervisor",
    "sam": "supervisor",
    "rev": "reviewer",
}
AMM = "AMM-1"
CLIENTS = ("C-1", "C-2")


def _ts(day: dt.date, seconds: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class MarketFacts:
    """What the fixture lake holds, for assertions."""

    amm_order_ids: tuple[str, ...]
    client_order_ids: tuple[str, ...]
    trade_ids: tuple[str, ...]
    book_rows: int


def write_market(lake: Lake, day: dt.date = DAY, symbol: str = SYMBOL) -> MarketFacts:
    """A ten-minute market from 10:00 UTC: AMM quotes, client orders, fills, the book."""
    rng = np.random.default_rng(7)
    write_partition(
        Accounts.from_pylist(
            [
                {"account_id": AMM, "entity_id": "AMM-GROUP", "role": "AFFILIATED_MM"},
                {"account_id": "C-1", "entity_id": "E-C1", "role": "CLIENT"},
                {"account_id": "C-2", "entity_id": "E-C2", "role": "CLIENT"},
                {"account_id": "X-1", "entity_id": "E-X1", "role": "EXTERNAL_MM"},
            ]
        ),
        lake.curated("accounts", day),
    )
    write_partition(
        Instruments.from_pylist(
            [
                {
                    "symbol": s,
                    "base_asset": s.split("-")[0],
                    "quote_asset": "USDT",
                    "tick_size": 0.5,
                    "lot_size": 0.001,
                    "mm_max_spread_bps": 20.0,
                    "mm_min_quote_quantity": 0.1,
                    "mm_min_uptime": 0.9,
                }
                for s in (SYMBOL, OTHER_SYMBOL)
            ]
        ),
        lake.curated("instruments", day),
    )
    orders: list[dict[str, object]] = []
    trades: list[dict[str, object]] = []
    seq = 0
    mid = 60_000.0
    amm_ids, client_ids, trade_ids = [], [], []

    def order(
        t: dt.datetime, oid: str, account: str, event: str, side: str, **extra: object
    ) -> None:
        nonlocal seq
        seq += 1
        row: dict[str, object] = {
            "event_time": t,
            "gateway_time": t if event in ("NEW", "REPLACE", "CANCEL") else None,
            "seq": seq,
            "symbol": symbol,
            "order_id": oid,
            "account_id": account,
            "event_type": event,
            "side": side,
            "order_type": "LIMIT",
            "time_in_force": "GTC",
            "price": extra.get("price"),
            "quantity": extra.get("quantity", 0.5),
            "leaves_quantity": extra.get("leaves", 0.5),
            "fill_price": extra.get("fill_price"),
            "fill_quantity": extra.get("fill_quantity"),
            "trade_id": extra.get("trade_id"),
            "liquidity": extra.get("liquidity"),
            "origin": "CLIENT",
        }
        orders.append(row)

    # Every 5 s the AMM cancels its previous quote's orders and requotes: a bid 2 below
    # the mid, an ask 2 above it (``A{i}``, which it fades or a client takes) and a
    # deeper ask 4 above it, so it holds a compliant two-sided quote from 10:00 on.
    stale: list[tuple[str, str, float]] = []
    for i in range(120):
        t = _ts(day, 10 * 3600 + i * 5)
        for old, side, price in stale:
            order(t, old, AMM, "CANCEL", side, price=price, leaves=0.0)
        mid += float(rng.normal(0, 3)) // 0.5 * 0.5
        oid = f"A{i}"
        amm_ids.append(oid)
        order(t, f"B{i}", AMM, "NEW", "BUY", price=mid - 2.0)
        order(t, oid, AMM, "NEW", "SELL", price=mid + 2.0)
        order(t, f"D{i}", AMM, "NEW", "SELL", price=mid + 4.0)
        stale = [(f"B{i}", "BUY", mid - 2.0), (f"D{i}", "SELL", mid + 4.0)]
        if i % 3 == 2:
            stale.append((oid, "SELL", mid + 2.0))
        if i % 3 == 0:
            order(
                t + dt.timedelta(seconds=1), oid, AMM, "CANCEL", "SELL", price=mid + 2.0, leaves=0.0
            )
        elif i % 3 == 1:
            cid = f"C{i}"
            client_ids.append(cid)
            tid = f"T{i}"
            trade_ids.append(tid)
            client = CLIENTS[i % 2]
            t2 = t + dt.timedelta(seconds=2)
            order(t2, cid, client, "NEW", "BUY", price=mid + 2.0, quantity=0.5, leaves=0.5)
            order(
                t2,
                oid,
                AMM,
                "FILL",
                "SELL",
                price=mid + 2.0,
                leaves=0.0,
                fill_price=mid + 2.0,
                fill_quantity=0.5,
                trade_id=tid,
                liquidity="MAKER",
            )
            order(
                t2,
                cid,
                client,
                "FILL",
                "BUY",
                price=mid + 2.0,
                leaves=0.0,
                fill_price=mid + 2.0,
                fill_quantity=0.5,
                trade_id=tid,
                liquidity="TAKER",
            )
            trades.append(
                {
                    "event_time": t2,
                    "symbol": symbol,
                    "trade_id": tid,
                    "price": mid + 2.0,
                    "quantity": 0.5,
                    "aggressor_side": "BUY",
                    "buy_order_id": cid,
                    "sell_order_id": oid,
                    "buy_account_id": client,
                    "sell_account_id": AMM,
                }
            )
    journal = Orders.from_pylist(orders)
    write_partition(journal, lake.curated("orders", day, symbol))
    write_partition(Trades.from_pylist(trades), lake.curated("trades", day, symbol))
    # The book states are the book engine's replay of that journal, as the book stage
    # writes them, so the AMM's quotes in ``top`` are those its orders make.
    params = ReplayParams(symbol, 0.5, 0.001, frozenset({AMM}), DEFAULT_DEPTH_BPS)
    top = replay_table(journal, params).top
    write_partition(top, lake.book("top", day, symbol))
    return MarketFacts(tuple(amm_ids), tuple(client_ids), tuple(trade_ids), top.num_rows)


def alerts_table(facts: MarketFacts) -> pa.Table:
    """Four alerts, each becoming its own case: HIGH and MEDIUM on BTC, LOW on ETH."""
    base = {
        "detector": "rule:test",
        "entity_id": "AMM-GROUP",
        "account_id": AMM,
        "detector_version": "1",
        "params_hash": "abc123",
        "date": DAY.isoformat(),
    }
    rows = [
        {
            **base,
            "alert_id": "al-high",
            "family": "FRONT_RUNNING",
            "typology": "FR_TRADING_AHEAD",
            "symbol": SYMBOL,
            "window_start": _ts(DAY, 10 * 3600 + 120),
            "window_end": _ts(DAY, 10 * 3600 + 180),
            "score": 91.0,
            "severity": "HIGH",
            "order_ids": list(facts.amm_order_ids[24:36]),
            "trade_ids": list(facts.trade_ids[8:12]),
            "explanation": "The AMM sold ahead of a large client buy and bought back after it.",
            "features": '{"amm_volume_ahead":12.5,"baseline_amm_volume_ahead":2.5,"markout_bps":8.1}',
        },
        {
            **base,
            "alert_id": "al-medium",
            "family": "SPREAD_MANIPULATION",
            "typology": "SM_QUOTE_FADE",
            "symbol": SYMBOL,
            "window_start": _ts(DAY, 10 * 3600 + 400),
            "window_end": _ts(DAY, 10 * 3600 + 430),
            "score": 55.0,
            "severity": "MEDIUM",
            "order_ids": list(facts.amm_order_ids[80:84]),
            "trade_ids": [],
            "explanation": "The AMM cancelled its best ask just before a client's buy arrived.",
            "features": '{"fade_count":{"value":4,"baseline":1}}',
        },
        {
            **base,
            "alert_id": "al-low",
            "family": "MARKET_INTEGRITY",
            "typology": "MI_OBLIGATION_BREACH",
            "symbol": OTHER_SYMBOL,
            "window_start": _ts(DAY, 11 * 3600),
            "window_end": _ts(DAY, 12 * 3600),
            "score": 20.0,
            "severity": "LOW",
            "order_ids": [],
            "trade_ids": [],
            "explanation": "The AMM quoted wider than its obligation for an hour.",
            "features": None,
        },
        {
            **base,
            "alert_id": "al-low-2",
            "family": "PREFERENTIAL_TREATMENT",
            "typology": "PT_PRIORITY_BREACH",
            "symbol": OTHER_SYMBOL,
            "window_start": _ts(DAY, 13 * 3600),
            "window_end": _ts(DAY, 13 * 3600 + 5),
            "score": 35.0,
            "severity": "LOW",
            "order_ids": [],
            "trade_ids": [],
            "explanation": "An AMM order was filled ahead of an earlier client order at its price.",
            "features": None,
        },
    ]
    return Alerts.from_pylist(rows)


def populate(store: CaseStore, facts: MarketFacts) -> None:
    """Users of every role and the cases of :func:`alerts_table`."""
    store.add_user(None, "root", "admin", PASSWORD, display_name="Root Admin")
    for name, role in USERS.items():
        if name != "root":
            store.add_user("root", name, role, PASSWORD, display_name=name.title())
    store.ingest_alerts(alerts_table(facts))


@pytest.fixture(scope="session", autouse=True)
def _cheap_argon2() -> Iterator[None]:
    """Argon2id at minimal cost in these tests (as the case store's tests do): the
    production parameters take most of a second per hash on a busy machine. Hashes
    carry their parameters, so sign-in verifies exactly as in production."""
    from argon2 import PasswordHasher

    from surveillance.cases import auth

    saved = auth._HASHER
    auth._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    auth._HASHER = saved


@dataclass
class WebEnv:
    """One test's lake, case store and settings."""

    root: Path
    settings: Settings
    facts: MarketFacts

    @property
    def store(self) -> CaseStore:
        return CaseStore(self.settings.db_url)


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, MarketFacts]:
    """A lake and a populated SQLite case store, built once for the session."""
    root = tmp_path_factory.mktemp("web-template")
    facts = write_market(Lake(root / "lake"))
    store = CaseStore(f"sqlite:///{root / 'mmsurv.db'}")
    try:
        populate(store, facts)
    finally:
        store.dispose()
    _SESSIONS.update(_sign_in_everyone(root))
    return root, facts


#: user name -> a signed session cookie valid for every copy of the template.
_SESSIONS: dict[str, str] = {}


def _sign_in_everyone(root: Path) -> dict[str, str]:
    """Sign each user in once through the real form; keep their session cookies.

    Copies of the template share its session key file, so these cookies are valid
    in every test, which then skips the deliberately slow password hashing.
    """
    from surveillance.web import create_app
    from surveillance.web.app import SESSION_COOKIE

    settings = Settings(
        str(root / "landing"), str(root / "lake"), f"sqlite:///{root / 'mmsurv.db'}", None
    )
    app = create_app(settings, https_only=False)
    cookies = {}
    try:
        for username in USERS:
            with TestClient(app, follow_redirects=False) as client:
                token = csrf_of(client.get("/login").text)
                response = client.post(
                    "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
                )
                assert response.status_code == 303, response.text
                cookies[username] = str(client.cookies.get(SESSION_COOKIE))
    finally:
        app.state.cases.dispose()
    return cookies


@pytest.fixture
def web_env(
    _template: tuple[Path, MarketFacts], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> WebEnv:
    """A private copy of the template lake and case store for one test."""
    source, facts = _template
    for name in (
        "MMSURV_LANDING",
        "MMSURV_LAKE",
        "MMSURV_DB_URL",
        "MMSURV_CONFIG",
        "MMSURV_WEB_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "env"
    shutil.copytree(source, root)
    settings = Settings(
        landing_uri=str(root / "landing"),
        lake_uri=str(root / "lake"),
        db_url=f"sqlite:///{root / 'mmsurv.db'}",
        config_path=None,
    )
    return WebEnv(root, settings, facts)


@pytest.fixture
def app(web_env: WebEnv) -> Iterator[object]:
    """The web app over the test's lake and case store (cookies allowed over http)."""
    from surveillance.web import create_app

    application = create_app(web_env.settings, https_only=False)
    yield application
    application.state.cases.dispose()


def csrf_of(html: str) -> str:
    """The CSRF token embedded in a page's forms."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def version_of(html: str) -> int:
    match = re.search(r'name="version" value="(\d+)"', html)
    assert match, "page has no case form"
    return int(match.group(1))


@pytest.fixture
def client_for(app: object) -> Iterator[Callable[[str | None], TestClient]]:
    """A factory of test clients, each signed in as the named user (None: anonymous).

    Clients reuse the session each user got by signing in through the form once per
    test session (sign-in itself is tested in ``test_routes.py``).
    """
    clients: list[TestClient] = []

    def make(username: str | None) -> TestClient:
        client = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
        client.__enter__()
        clients.append(client)
        if username is not None:
            from surveillance.web.app import SESSION_COOKIE

            client.cookies.set(SESSION_COOKIE, _SESSIONS[username], domain="testserver.local")
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


class Helpers:
    """Small readers of pages and of the case store, for assertions."""

    def __init__(self, env: WebEnv) -> None:
        self.env = env

    csrf = staticmethod(csrf_of)
    version = staticmethod(version_of)

    def case_id(self, typology: str) -> int:
        """The id of the fixture case of ``typology`` (ids depend on ingestion order)."""
        from surveillance.cases.views import CaseFilter

        store = self.env.store
        try:
            page = store.list_cases(CaseFilter(typology=(typology,)))
        finally:
            store.dispose()
        assert page.total == 1, f"expected one {typology} case, found {page.total}"
        return page.items[0].id

    def case(self, case_id: int) -> Any:
        """The case as the store now holds it."""
        store = self.env.store
        try:
            return store.case_summary(case_id)
        finally:
            store.dispose()


@pytest.fixture
def h(web_env: WebEnv) -> Helpers:
    """Page and case-store readers bound to the test's environment."""
    return Helpers(web_env)


# ----------------------------------------------------------------------------- PostgreSQL

PG_URL = os.environ.get("MMSURV_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_admin() -> Any:
    """An autocommit connection to the test server (CREATE and DROP DATABASE)."""
    import psycopg
    from sqlalchemy import make_url

    url = make_url(PG_URL).set(drivername="postgresql")
    return psycopg.connect(
        url.render_as_string(hide_password=False), autocommit=True, connect_timeout=5
    )


def _pg_url(database: str) -> str:
    from sqlalchemy import make_url

    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _pg_template(_template: tuple[Path, MarketFacts]) -> Iterator[str]:
    """A populated PostgreSQL case store, built once, that each test database copies.

    Skipped when the server is unreachable, except in CI, where that fails.
    """
    import psycopg

    try:
        admin = _pg_admin()
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {PG_URL} is unreachable ({exc})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must run the PostgreSQL tests", pytrace=False)
        pytest.skip(message)
    name = f"mmsurv_web_tpl_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    store = CaseStore(_pg_url(name))
    try:
        populate(store, _template[1])
    finally:
        store.dispose()
    yield name
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_env(web_env: WebEnv, _pg_template: str) -> Iterator[WebEnv]:
    """The test's lake with a private PostgreSQL copy of the populated case store."""
    name = f"mmsurv_web_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_pg_template}"')
    settings = Settings(
        landing_uri=web_env.settings.landing_uri,
        lake_uri=web_env.settings.lake_uri,
        db_url=_pg_url(name),
        config_path=None,
    )
    yield WebEnv(web_env.root, settings, web_env.facts)
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
