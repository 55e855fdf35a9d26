"""Where things live, and the one reader and writer of Parquet partitions.

Two roots: the venue's *landing* root, laid out as the contract says, and the
pipeline's *lake*, which holds everything the pipeline derives (curated data,
quarantine, data-quality reports, book states, features, alerts, models,
reports). Both may be a local folder or any URI fsspec opens (``memory://``,
``s3://``...). This module is the only place that knows either layout: stages ask
it for a partition's URI and never build paths themselves.

Partitions are replaced atomically: a writer fills a hidden staging folder beside
the target and swaps it in only once everything is written, so a failure part-way
leaves the previous partition intact and readers never see half a day.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import posixpath
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from surveillance.errors import ContractError

PART_FILE = "part-0.parquet"
#: Writer settings fixed so that the same table always gives the same bytes.
_PARQUET_OPTIONS = {"compression": "zstd", "write_statistics": True, "store_schema": True}


def normalise_uri(uri: str | Path) -> str:
    """A root URI with local paths made absolute and no trailing slash."""
    text = str(uri)
    if "://" not in text:
        text = str(Path(text).expanduser().resolve())
    return text.rstrip("/") or "/"


def join(uri: str, *parts: str) -> str:
    """``uri`` with ``parts`` appended as path segments (protocol preserved)."""
    return posixpath.join(uri, *parts)


def filesystem(uri: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem for ``uri`` and the path within it."""
    fs, path = fsspec.core.url_to_fs(uri)
    return fs, path


def is_local(uri: str) -> bool:
    return isinstance(filesystem(uri)[0], LocalFileSystem)


def _day(day: dt.date) -> str:
    return f"date={day.isoformat()}"


def _symbol(symbol: str) -> str:
    return f"symbol={symbol}"


def symbol_partition(base: str, symbol: str) -> str:
    """``symbol``'s partition folder below a day folder, or below its staging copy.

    A writer that stages a whole day with :func:`replace_partition` lays the
    per-symbol folders out inside the staging folder with this, so the swapped-in
    day has the layout :meth:`Lake.curated` names.
    """
    return join(base, _symbol(symbol))


def dataset_partition(base: str, dataset: str) -> str:
    """``dataset``'s sub-folder below a folder that holds several datasets (quarantine)."""
    return join(base, f"dataset={dataset}")


class Landing:
    """The venue's landing root, laid out as ``venue-export-v1.md`` says."""

    def __init__(self, root: str | Path) -> None:
        self.root = normalise_uri(root)

    def __repr__(self) -> str:
        return f"Landing({self.root!r})"

    def day_dir(self, dataset: str, day: dt.date) -> str:
        return join(self.root, dataset, _day(day))

    def marker(self, day: dt.date) -> str:
        """The empty ``_SUCCESS`` file that says the venue finished exporting ``day``."""
        return join(self.root, "_SUCCESS", _day(day))

    def is_ready(self, day: dt.date) -> bool:
        fs, path = filesystem(self.marker(day))
        return bool(fs.exists(path)) and not fs.isdir(path)

    def mark_ready(self, day: dt.date) -> None:
        fs, path = filesystem(self.marker(day))
        fs.makedirs(posixpath.dirname(path), exist_ok=True)
        with fs.open(path, "wb"):
            pass

    def files(self, dataset: str, day: dt.date) -> list[str]:
        """The dataset's Parquet files for ``day``, sorted by name; [] if none."""
        fs, path = filesystem(self.day_dir(dataset, day))
        if not fs.isdir(path):
            return []
        found = [p for p in fs.ls(path, detail=False) if str(p).endswith(".parquet")]
        protocol = self.root.split("://", 1)[0] + "://" if "://" in self.root else ""
        return sorted(_with_protocol(protocol, str(p)) for p in found)

    def days(self, dataset: str) -> list[dt.date]:
        """Every day the landing holds a partition of ``dataset`` for."""
        return _partition_days(join(self.root, dataset))


class Lake:
    """The pipeline's own storage: every derived dataset, report and model."""

    def __init__(self, root: str | Path) -> None:
        self.root = normalise_uri(root)

    def __repr__(self) -> str:
        return f"Lake({self.root!r})"

    # Curated contract data, partitioned by day and symbol.
    def curated(self, dataset: str, day: dt.date, symbol: str | None = None) -> str:
        base = join(self.root, "curated", dataset, _day(day))
        return join(base, _symbol(symbol)) if symbol else base

    def curated_symbols(self, dataset: str, day: dt.date) -> list[str]:
        """Symbols with a curated partition of ``dataset`` on ``day``, sorted."""
        fs, path = filesystem(self.curated(dataset, day))
        if not fs.isdir(path):
            return []
        names = [posixpath.basename(str(p).rstrip("/")) for p in fs.ls(path, detail=False)]
        return sorted(n.split("=", 1)[1] for n in names if n.startswith("symbol="))

    def quarantine(self, day: dt.date) -> str:
        return join(self.root, "quarantine", _day(day))

    def quality_report(self, day: dt.date) -> str:
        """Folder of the day's data-quality report: GX results, HTML summary, lineage."""
        return join(self.root, "reports", "quality", _day(day))

    def book(self, kind: str, day: dt.date, symbol: str | None = None) -> str:
        """Book outputs: ``kind`` is e.g. ``top``, ``queue`` or ``findings``."""
        base = join(self.root, "book", kind, _day(day))
        return join(base, _symbol(symbol)) if symbol else base

    def features(self, name: str, day: dt.date, symbol: str | None = None) -> str:
        base = join(self.root, "features", name, _day(day))
        return join(base, _symbol(symbol)) if symbol else base

    def alerts(self, day: dt.date) -> str:
        return join(self.root, "alerts", _day(day))

    def models(self) -> str:
        """The model registry: trained artifacts live here, outside the package."""
        return join(self.root, "models")

    def report(self, kind: str, day: dt.date) -> str:
        return join(self.root, "reports", kind, _day(day))

    def days(self, *parts: str) -> list[dt.date]:
        """Every day partition found under ``lake/<parts...>``."""
        return _partition_days(join(self.root, *parts))


def _with_protocol(protocol: str, path: str) -> str:
    return path if not protocol or path.startswith(protocol) else protocol + path


def _partition_days(uri: str) -> list[dt.date]:
    fs, path = filesystem(uri)
    if not fs.isdir(path):
        return []
    days = []
    for p in fs.ls(path, detail=False):
        name = posixpath.basename(str(p).rstrip("/"))
        if name.startswith("date="):
            with contextlib.suppress(ValueError):
                days.append(dt.date.fromisoformat(name[5:]))
    return sorted(days)


def exists(uri: str) -> bool:
    fs, path = filesystem(uri)
    return bool(fs.exists(path))


def write_table(table: pa.Table, uri: str, *, options: Mapping[str, Any] | None = None) -> str:
    """Write one Parquet file (creating parent folders); deterministic bytes.

    ``options`` are ``pyarrow.parquet.write_table`` settings over the defaults (such
    as which columns are dictionary-encoded); fixed settings keep the bytes fixed.
    """
    fs, path = filesystem(uri)
    fs.makedirs(posixpath.dirname(path), exist_ok=True)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **{**_PARQUET_OPTIONS, **(options or {})})
    with fs.open(path, "wb") as handle:
        handle.write(buffer.getvalue())
    return uri


def table_to_parquet_bytes(table: pa.Table) -> bytes:
    """The Parquet bytes :func:`write_table` would write (for files that go elsewhere)."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **_PARQUET_OPTIONS)
    return buffer.getvalue()


@contextlib.contextmanager
def table_writer(
    uri: str, schema: pa.Schema, *, options: Mapping[str, Any] | None = None
) -> Iterator[pq.ParquetWriter]:
    """Write one Parquet file in pieces: ``writer.write_table(t)`` per piece, same options.

    For outputs too large to hold as one table (a ten-million-event day): each
    piece becomes a row group. The bytes depend only on the pieces, so the file
    is as reproducible as one written by :func:`write_table`. ``options`` as for
    :func:`write_table`.
    """
    fs, path = filesystem(uri)
    fs.makedirs(posixpath.dirname(path), exist_ok=True)
    settings = {**_PARQUET_OPTIONS, **(options or {})}
    with fs.open(path, "wb") as handle, pq.ParquetWriter(handle, schema, **settings) as w:
        yield w


def write_bytes(data: bytes, uri: str) -> str:
    fs, path = filesystem(uri)
    fs.makedirs(posixpath.dirname(path), exist_ok=True)
    with fs.open(path, "wb") as handle:
        handle.write(data)
    return uri


def read_bytes(uri: str) -> bytes:
    fs, path = filesystem(uri)
    with fs.open(path, "rb") as handle:
        data: bytes = handle.read()
    return data


def read_table(
    uri: str,
    columns: Sequence[str] | None = None,
    *,
    dictionary: Sequence[str] | None = None,
) -> pa.Table:
    """Read one Parquet file, or every Parquet file below a partition folder.

    ``dictionary`` names string columns to read dictionary-encoded straight from the
    Parquet pages: for low-cardinality columns (symbols, enums) this skips building
    millions of strings, less than half the decoding time and memory. Names the file
    lacks, or that are not strings in it, are ignored.

    Raises
    ------
    ContractError
        If a file cannot be read as Parquet (truncated, not Parquet at all); the
        message names the file.
    FileNotFoundError
        If nothing exists at ``uri``.
    """
    fs, path = filesystem(uri)
    if not fs.exists(path):
        raise FileNotFoundError(uri)
    if fs.isdir(path):
        files = sorted(
            p
            for p in fs.find(path)
            if str(p).endswith(".parquet") and not _hidden(str(p)[len(path) :])
        )
        tables = [_read_file(fs, p, uri, columns, dictionary) for p in files]
        if not tables:
            raise FileNotFoundError(f"{uri}: no Parquet files")
        return pa.concat_tables(tables, promote_options="default")
    return _read_file(fs, path, uri, columns, dictionary)


def iter_batches(
    uri: str,
    columns: Sequence[str] | None = None,
    *,
    batch_rows: int = 262_144,
    dictionary: Sequence[str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream a Parquet file, or every Parquet file below a partition folder, in batches.

    Files are read in name order and each file batch by batch, so memory holds one
    batch, not the partition: for stages that replay a day in order. ``dictionary``
    names string columns to read dictionary-encoded, as for :func:`read_table`.

    Raises
    ------
    ContractError
        If a file cannot be read as Parquet or lacks one of ``columns``; the message
        names the file.
    FileNotFoundError
        If nothing exists at ``uri``.
    """
    fs, path = filesystem(uri)
    if not fs.exists(path):
        raise FileNotFoundError(uri)
    if fs.isdir(path):
        files = sorted(
            p
            for p in fs.find(path)
            if str(p).endswith(".parquet") and not _hidden(str(p)[len(path) :])
        )
        if not files:
            raise FileNotFoundError(f"{uri}: no Parquet files")
    else:
        files = [path]
    for file in files:
        try:
            with fs.open(file, "rb") as handle:
                reader = pq.ParquetFile(
                    handle, read_dictionary=list(dictionary) if dictionary else None
                )
                if columns:
                    missing = [c for c in columns if c not in reader.schema_arrow.names]
                    if missing:
                        raise ContractError(
                            str(file),
                            f"file {file}: column {missing[0]!r} is missing; expected the "
                            f"columns {', '.join(columns)}; re-run the stage that writes it",
                            column=missing[0],
                            reason="missing_column",
                        )
                yield from reader.iter_batches(
                    batch_size=batch_rows, columns=list(columns) if columns else None
                )
        except (pa.ArrowInvalid, OSError) as exc:
            raise ContractError(
                str(file),
                f"file {file}: cannot be read as Parquet ({exc}); "
                "re-export it (it may be truncated or not Parquet)",
                reason="unreadable_file",
            ) from exc


def _hidden(relative: str) -> bool:
    return any(part.startswith((".", "_")) for part in relative.strip("/").split("/")[:-1])


def _read_file(
    fs: fsspec.AbstractFileSystem,
    path: str,
    uri: str,
    columns: Sequence[str] | None,
    dictionary: Sequence[str] | None = None,
) -> pa.Table:
    try:
        with fs.open(path, "rb") as handle:
            return pq.read_table(
                handle,
                columns=list(columns) if columns else None,
                read_dictionary=list(dictionary) if dictionary else None,
            )
    except (pa.ArrowInvalid, OSError) as exc:
        raise ContractError(
            path if path.startswith(uri) else uri,
            f"file {path}: cannot be read as Parquet ({exc}); "
            "re-export it (it may be truncated or not Parquet)",
            reason="unreadable_file",
        ) from exc


@contextlib.contextmanager
def replace_partition(uri: str) -> Iterator[str]:
    """Stage a partition folder and swap it in whole when the block succeeds.

    Yields the URI of a hidden staging folder beside ``uri``; write everything the
    partition should hold below it. On success the previous content of ``uri`` is
    replaced by the staging folder; on an exception the staging folder is removed
    and ``uri`` is untouched.
    """
    fs, path = filesystem(uri)
    parent, name = posixpath.split(path.rstrip("/"))
    token = uuid.uuid4().hex[:12]
    staging_path = posixpath.join(parent, f"_staging-{name}-{token}")
    retired_path = posixpath.join(parent, f"_retired-{name}-{token}")
    fs.makedirs(staging_path, exist_ok=True)
    staging_uri = _with_protocol(_protocol_of(uri), staging_path)
    try:
        yield staging_uri
    except BaseException:
        if fs.exists(staging_path):
            fs.rm(staging_path, recursive=True)
        raise
    had_previous = fs.exists(path)
    if had_previous:
        fs.mv(path, retired_path, recursive=True)
    try:
        fs.mv(staging_path, path, recursive=True)
    except BaseException:
        if had_previous:
            fs.mv(retired_path, path, recursive=True)
        raise
    if had_previous:
        fs.rm(retired_path, recursive=True)


def _protocol_of(uri: str) -> str:
    return uri.split("://", 1)[0] + "://" if "://" in uri else ""


def write_partition(table: pa.Table, uri: str) -> str:
    """Replace the partition folder ``uri`` with one Parquet file holding ``table``."""
    with replace_partition(uri) as staging:
        write_table(table, join(staging, PART_FILE))
    return uri


def remove(uri: str) -> None:
    """Delete a file or folder if it exists."""
    fs, path = filesystem(uri)
    if fs.exists(path):
        fs.rm(path, recursive=True)
