"""Fixtures of the book tests: the reference book and the journal builder are importable."""

from __future__ import annotations

import sys
from pathlib import Path

# The plain reference book and the journal builder live beside the tests (they are test
# code, not part of the package); pytest's importlib mode needs their folder on the path.
_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
