"""Order-book reconstruction: an exact, fast replay of the curated order journal.

``build_book(settings, day, symbols=None) -> BookResult`` is the stage function the
CLI (``mmsurv book``), the demo and the nightly DAG call. The output schemas are in
:mod:`surveillance.book.schema`, the compiled loop in :mod:`surveillance.book.replay`.

The stage's heavy modules (numba) load on first use, so that importing the schemas
or the ``[book]`` configuration section stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from surveillance.book.build import BookResult, SymbolResult, build_book

__all__ = ["BookResult", "SymbolResult", "build_book"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from surveillance.book import build

        return getattr(build, name)
    raise AttributeError(f"module 'surveillance.book' has no attribute {name!r}")
