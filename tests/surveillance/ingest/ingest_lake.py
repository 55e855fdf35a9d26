"""Reading back what ingest wrote: curated partitions and quarantined rows (test helpers)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from surveillance import storage
from surveillance.storage import Lake


def curated(lake: Lake, dataset: str, day: dt.date) -> pd.DataFrame:
    """Every curated partition of ``dataset`` for ``day`` as one frame (empty if none)."""
    uri = lake.curated(dataset, day)
    if not storage.exists(uri):
        return pd.DataFrame()
    return storage.read_table(uri).to_pandas()


def quarantined(lake: Lake, dataset: str, day: dt.date) -> pd.DataFrame:
    """The day's quarantined rows of ``dataset`` (empty if none)."""
    uri = storage.dataset_partition(lake.quarantine(day), dataset)
    if not storage.exists(uri):
        return pd.DataFrame()
    return storage.read_table(uri).to_pandas()


def reasons_of(frame: pd.DataFrame) -> set[str]:
    """Every reason code carried by quarantined rows."""
    return {r for reasons in frame["_reasons"] for r in reasons}
