"""Ingest: a landing day through the data-quality gate into the curated lake.

``ingest_day(settings, day)`` is the stage function the CLI (``mmsurv ingest``), the
demo and the nightly DAG call. The gate is Great Expectations, which takes seconds
to import, so this package loads it only when ``ingest_day`` is first used: reading
the configuration (``surveillance.ingest.config``) or listing CLI commands stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from surveillance.ingest.pipeline import IngestResult, ingest_day

__all__ = ["IngestResult", "ingest_day"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from surveillance.ingest import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'surveillance.ingest' has no attribute {name!r}")
