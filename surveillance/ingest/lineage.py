"""The lineage manifest: exactly which bytes a curated day was made from, and by what.

For every landing file of the day: its dataset, URI, size, row count (from the
Parquet footer) and SHA-256, so an auditor can prove that an alert traces back to
the venue's export unchanged; and the versions of the software, the contract and
Great Expectations that judged it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import great_expectations as gx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import surveillance
from surveillance import storage
from surveillance.contract import CONTRACT_VERSION, LANDING_DATASETS
from surveillance.storage import Landing

_CHUNK = 8 << 20


@dataclass(frozen=True)
class SourceFile:
    """One landing file as ingest found it."""

    dataset: str
    uri: str
    size: int
    sha256: str
    rows: int | None
    #: Why the footer could not be read (truncated, not Parquet); None when readable.
    error: str | None
    #: The file's Arrow schema, kept in memory for the schema suite (not serialised).
    schema: pa.Schema | None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("schema")
        return data


def source_files(landing: Landing, day: dt.date) -> list[SourceFile]:
    """Every landing file of ``day``, dataset by dataset in contract order."""
    found = []
    for dataset in LANDING_DATASETS:
        for uri in landing.files(dataset.name, day):
            found.append(_describe(dataset.name, uri))
    return found


def _describe(dataset: str, uri: str) -> SourceFile:
    fs, path = storage.filesystem(uri)
    digest = hashlib.sha256()
    size = 0
    with fs.open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    rows: int | None = None
    schema: pa.Schema | None = None
    error: str | None = None
    try:
        with fs.open(path, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            rows = parquet.metadata.num_rows
            schema = parquet.schema_arrow
    except (pa.ArrowInvalid, OSError) as exc:
        error = f"cannot be read as Parquet: {exc}"
    return SourceFile(dataset, uri, size, digest.hexdigest(), rows, error, schema)


def versions() -> dict[str, str]:
    """The versions that decide how a day is judged and written."""
    return {
        "mm_surveillance": surveillance.__version__,
        "contract": CONTRACT_VERSION,
        "great_expectations": gx.__version__,
        "pandas": pd.__version__,
        "pyarrow": pa.__version__,
    }


def manifest(
    day: dt.date,
    files: list[SourceFile],
    *,
    ingested_at: dt.datetime,
    config: dict[str, Any],
    config_hash: str,
) -> dict[str, Any]:
    """The lineage manifest of one ingest of ``day`` as a JSON-able dict."""
    return {
        "day": day.isoformat(),
        "ingested_at": ingested_at.isoformat(),
        "versions": versions(),
        "config": {"ingest": config, "hash": config_hash},
        "files": [f.as_dict() for f in files],
    }
