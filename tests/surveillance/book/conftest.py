"""Fixtures of the book tests: the reference book and the journal builder are importable."""

from __future__ import annotations

import sys
from pathlib import Path

# The plain reference book and the journal builder live beside the tests (they are test
# code, not part of the package); pytest's importlib mode needs their folder on the path.
_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


import datetime as dt  # noqa: E402

import pytest  # noqa: E402
from booked import BookedDay  # noqa: E402

BOOK_DAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="session")
def booked_day(tmp_path_factory: pytest.TempPathFactory) -> BookedDay:
    """A small simulated day with misconduct, its engine truth, ingested, book built.

    Two symbols, about 12,000 journal rows. Read-only: tests that modify data must
    copy it first.
    """
    from surveillance.book import build_book
    from surveillance.ingest import ingest_day
    from surveillance.settings import resolve
    from surveillance.simulate import simulate_day

    root = tmp_path_factory.mktemp("book-day")
    truth = root / "truth"
    simulate_day(root / "landing", BOOK_DAY, symbols=2, events=12_000, seed=5, engine_truth=truth)
    settings = resolve(str(root / "landing"), str(root / "lake"), f"sqlite:///{root}/db", None)
    ingest_day(settings, BOOK_DAY)
    return BookedDay(settings, BOOK_DAY, truth, build_book(settings, BOOK_DAY))
