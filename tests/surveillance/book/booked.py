"""The booked day the book tests share, as a type the tests can import by a name of its own
(``conftest`` is a name every test folder has)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class BookedDay:
    """A simulated day, ingested into a lake, with its book built."""

    settings: Any
    day: dt.date
    truth: Path
    result: Any
