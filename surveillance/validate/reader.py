"""The one reader of a landing day: every file type-checked against the contract.

A landing day is read dataset by dataset. Each file is checked on its own against the
contract's Arrow schema *before* the files are concatenated, so a bad file is named
exactly, and the day fails as a whole (a :class:`ContractError`) rather than yielding
half a dataset. Row-level problems (a negative price, a duplicate seq...) are not the
reader's business: they are violations found by :mod:`surveillance.validate.rules`.

Representation variants
-----------------------
Parquet writers differ in how they encode one logical type, and the contract fixes the
logical type, not the writer. The reader therefore accepts, and normalises to the
contract's type:

* strings as ``string``, ``large_string``, ``string_view`` or ``dictionary<*, string>``;
* timestamps of any unit (``s``, ``ms``, ``us``, ``ns``) whose time zone is UTC
  (``UTC``, ``Etc/UTC``, ``+00:00``, ``Z``). Many writers (Spark, older Parquet format
  versions) can only store microseconds; a microsecond instant is exactly representable
  in nanoseconds, so it is cast, never rounded. A timestamp without a time zone is
  refused: the contract's times are UTC instants and a naive wall-clock time is
  ambiguous;
* a column of Arrow type ``null`` (every value null, as pandas writes an all-``None``
  column) where the contract allows nulls.

Anything else (a float64 column stored as string, an int64 stored as int32 or double...)
is refused with ``reason="wrong_type"``. Extra columns are kept as they are (the
contract says they are preserved and ignored); optional columns that are absent are
added as nulls (``origin`` null means CLIENT: ingest fills it, the reader does not).

In-memory layout
----------------
Each dataset becomes one DataFrame holding the contract columns in contract order,
then the extra columns, then two bookkeeping columns: ``_file`` (the source URI,
categorical) and ``_row`` (int64 row number within that file). Low-cardinality string
columns (symbols, accounts, enumerations) are ``category``; high-cardinality ids
(``order_id``, ``trade_id``, ``buy_order_id``, ``sell_order_id``) are pandas ``str``
(Arrow-backed, zero copy). Use :func:`to_contract_table` to turn a frame (or a subset
of its rows) back into an Arrow table in the contract's exact types before writing it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from surveillance import storage
from surveillance.contract import (
    CONTRACT_VERSION,
    DATASETS_BY_NAME,
    LANDING_DATASETS,
    ColumnSpec,
    Dataset,
    Orders,
    Trades,
)
from surveillance.errors import ContractError, NotReadyError
from surveillance.storage import Landing

#: Bookkeeping column: the URI of the file a row came from (categorical).
FILE_COLUMN = "_file"
#: Bookkeeping column: the row's position (0-based) within its file.
ROW_COLUMN = "_row"
BOOKKEEPING_COLUMNS = (FILE_COLUMN, ROW_COLUMN)

#: String columns with many distinct values: kept as Arrow-backed ``str``, because a
#: pandas categorical with millions of categories costs seconds to build.
HIGH_CARDINALITY: frozenset[tuple[str, str]] = frozenset(
    {
        (Orders.name, Orders.order_id),
        (Orders.name, Orders.trade_id),
        (Trades.name, Trades.trade_id),
        (Trades.name, Trades.buy_order_id),
        (Trades.name, Trades.sell_order_id),
    }
)

_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "+00:00", "Z", "utc", "Etc/UCT", "UCT", "GMT"})
_FIX = f"re-export with the {CONTRACT_VERSION} contract"


@dataclass
class LandingDay:
    """One trading day of a landing root, read and type-checked.

    ``tables`` holds every landing dataset of the contract (orders, trades, accounts,
    instruments, reference_prices); a dataset the venue did not send (only
    reference_prices may be absent) is an empty frame with the contract's columns, and
    its ``files`` entry is an empty list. Treat the frames as read-only: rules cache
    derived arrays (sort orders, codes) on the object.
    """

    day: dt.date
    tables: dict[str, pd.DataFrame]
    files: dict[str, list[str]]
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def rows(self, dataset: str) -> int:
        """Number of rows of ``dataset`` read for the day."""
        return len(self.tables[dataset])

    def release_derived(self) -> None:
        """Drop the arrays the rules derived and cached on the day (codes, sort orders).

        They make a second rule or a second :func:`find_violations` call cheap; a
        caller done validating frees them (about a gigabyte on a ten-million-event
        day). They are derived again if a rule runs later.
        """
        self._memo.clear()


def read_landing_day(landing: Landing, day: dt.date, *, require_marker: bool = True) -> LandingDay:
    """Read every dataset of ``day`` from ``landing``, checking each file's schema.

    Parameters
    ----------
    landing
        The venue's landing root.
    day
        The trading day (a UTC calendar day).
    require_marker
        Refuse a day without its ``_SUCCESS`` marker (the venue may still be writing it).

    Returns
    -------
    LandingDay
        One frame per landing dataset, with ``_file`` and ``_row`` bookkeeping columns.

    Raises
    ------
    NotReadyError
        If ``require_marker`` and the day's ``_SUCCESS`` marker is missing.
    ContractError
        If a required dataset has no file for the day (``missing_dataset``), or a file
        cannot be read (``unreadable_file``), lacks a required column
        (``missing_column``) or holds a column of the wrong type (``wrong_type``).
    """
    if require_marker and not landing.is_ready(day):
        raise NotReadyError(
            f"landing {landing.root}: day {day.isoformat()} is not ready, marker "
            f"{landing.marker(day)} is missing; wait for the venue to finish the export "
            "or pass require_marker=False to read it anyway"
        )
    # List every dataset before reading any: a missing one fails the day at once.
    files = {dataset.name: landing.files(dataset.name, day) for dataset in LANDING_DATASETS}
    for dataset in LANDING_DATASETS:
        if not files[dataset.name] and not dataset.optional_dataset:
            raise _missing_dataset(landing, dataset, day)
    tables = {
        dataset.name: _read_dataset(dataset, files[dataset.name]) for dataset in LANDING_DATASETS
    }
    return LandingDay(day=day, tables=tables, files=files)


def read_dataset_files(dataset: str | type[Dataset], uris: Sequence[str]) -> pd.DataFrame:
    """Read and type-check ``uris`` as files of one dataset, concatenated in order.

    The building block of :func:`read_landing_day`, for callers that already know the
    files (tests, tools that validate a single export).

    Raises
    ------
    ContractError
        As :func:`read_landing_day` for file-level failures.
    """
    klass = DATASETS_BY_NAME[dataset] if isinstance(dataset, str) else dataset
    return _read_dataset(klass, list(uris))


def landing_day_from_tables(
    day: dt.date, tables: Mapping[str, pa.Table], *, root: str = "memory://landing"
) -> LandingDay:
    """A :class:`LandingDay` from in-memory tables, checked exactly as files would be.

    Each table stands for one file named as it would be in a landing root at ``root``
    (``<root>/<dataset>/date=<day>/part-0.parquet``), which is what ``_file`` and the
    violations then name. For tests and tools that hold a venue's tables already.

    Raises
    ------
    ContractError
        As :func:`read_landing_day`: a required dataset absent from ``tables``, a
        missing required column or a wrong type.
    """
    landing = Landing(root)
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, list[str]] = {}
    for dataset in LANDING_DATASETS:
        uri = storage.join(landing.day_dir(dataset.name, day), "part-0.parquet")
        if dataset.name not in tables:
            if not dataset.optional_dataset:
                raise _missing_dataset(landing, dataset, day)
            files[dataset.name] = []
            frames[dataset.name] = _assemble(dataset, [], [])
            continue
        files[dataset.name] = [uri]
        frames[dataset.name] = _assemble(
            dataset, [conform_table(tables[dataset.name], dataset, uri)], [uri]
        )
    return LandingDay(day=day, tables=frames, files=files)


def _missing_dataset(landing: Landing, dataset: type[Dataset], day: dt.date) -> ContractError:
    folder = landing.day_dir(dataset.name, day)
    return ContractError(
        folder,
        f"{dataset.name} for {day.isoformat()}: no Parquet file in {folder}; the "
        f"contract requires the {dataset.name} dataset every day, {_FIX}",
        column=None,
        expected=f"at least one {dataset.name} file",
        found="none",
        reason="missing_dataset",
    )


def _read_dataset(dataset: type[Dataset], uris: list[str]) -> pd.DataFrame:
    dictionary = [c.name for c in dataset.columns() if _categorical(dataset, c)]
    parts = [
        conform_table(storage.read_table(uri, dictionary=dictionary), dataset, uri) for uri in uris
    ]
    return _assemble(dataset, parts, uris)


def _assemble(dataset: type[Dataset], parts: list[pa.Table], uris: list[str]) -> pd.DataFrame:
    """Conformed per-file tables concatenated into one frame with ``_file`` and ``_row``."""
    lengths = np.array([p.num_rows for p in parts], dtype=np.int64)
    if parts:
        try:
            table = pa.concat_tables(parts, promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            # Contract columns are already normalised, so only extra columns can clash.
            raise ContractError(
                uris[0],
                f"{dataset.name} files {', '.join(uris)}: an extra column has different "
                f"types in different files ({exc}); export extra columns with one type",
                reason="wrong_type",
            ) from exc
    else:
        table = _empty(dataset)
    # Drop the per-file tables and convert with self_destruct, so each column's Arrow
    # buffers are freed as soon as pandas holds it: the day is never in memory twice.
    parts.clear()
    # A null in an int64 column makes pandas fall back to float64; keep the integers
    # exact (seq values above 2**53 exist) with the nullable Int64 dtype instead.
    nullable_ints = {
        spec.name: table.column(spec.name).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
        for spec in dataset.columns()
        if spec.type == pa.int64() and table.column(spec.name).null_count
    }
    table = table.replace_schema_metadata(None)
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    # Hand the freed Arrow buffers back to the system now, not at the allocator's
    # leisure: pandas holds the day from here on, and the rules need the room.
    pa.default_memory_pool().release_unused()
    for name, values in nullable_ints.items():
        frame[name] = values.array
    total = int(lengths.sum())
    file_codes = np.repeat(np.arange(len(uris), dtype=np.int32), lengths)
    frame[FILE_COLUMN] = pd.Categorical.from_codes(
        file_codes, dtype=pd.CategoricalDtype(pd.Index(uris, dtype="str"))
    )
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    frame[ROW_COLUMN] = np.arange(total, dtype=np.int64) - starts
    return frame


def _empty(dataset: type[Dataset]) -> pa.Table:
    return conform_table(dataset.schema().empty_table(), dataset, "(no file)")


#: How low-cardinality string columns are held: dictionary-encoded, as pandas categorical.
_DICTIONARY = pa.dictionary(pa.int32(), pa.string())


def _categorical(dataset: type[Dataset], spec: ColumnSpec) -> bool:
    return pa.types.is_string(spec.type) and (dataset.name, spec.name) not in HIGH_CARDINALITY


def conform_table(table: pa.Table, dataset: type[Dataset], uri: str) -> pa.Table:
    """One file's table checked against the contract and normalised to its types.

    Returns the contract columns in contract order (absent optional ones added as
    nulls), followed by the file's extra columns unchanged.

    Raises
    ------
    ContractError
        ``missing_column`` or ``wrong_type``, naming the file, the column, the expected
        and the found Arrow type, and the fix.
    """
    present = set(table.column_names)
    columns: list[pa.ChunkedArray] = []
    fields: list[pa.Field] = []
    for spec in dataset.columns():
        if spec.name not in present:
            if spec.required:
                raise ContractError(
                    uri,
                    f"{dataset.name} file {uri}: required column {spec.name!r} "
                    f"({type_name(spec.type)}) is missing; {_FIX}",
                    column=spec.name,
                    expected=type_name(spec.type),
                    found="absent",
                    reason="missing_column",
                )
            column = pa.chunked_array([pa.nulls(table.num_rows, spec.type)])
        else:
            column = _normalise(table.column(spec.name), spec, dataset, uri)
        if _categorical(dataset, spec):
            column = (
                column.cast(_DICTIONARY)
                if pa.types.is_dictionary(column.type)
                else column.dictionary_encode()
            )
        elif pa.types.is_dictionary(column.type):
            column = column.cast(spec.type)
        columns.append(column)
        fields.append(pa.field(spec.name, column.type, nullable=True))
    contract_names = {spec.name for spec in dataset.columns()}
    for name in table.column_names:
        if name in contract_names or _pandas_index(name):
            continue
        columns.append(table.column(name))
        fields.append(table.schema.field(name))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _pandas_index(name: str) -> bool:
    # pandas' ``to_parquet`` stores a non-default index as ``__index_level_N__``: an
    # artefact of the writer, not a venue column.
    return name.startswith("__index_level_") and name.endswith("__")


def _normalise(
    column: pa.ChunkedArray, spec: ColumnSpec, dataset: type[Dataset], uri: str
) -> pa.ChunkedArray:
    found = column.type
    if found == spec.type:
        return column
    if pa.types.is_null(found) and (spec.nullable or not spec.required):
        return pa.chunked_array([pa.nulls(len(column), spec.type)])
    target = spec.type
    accepted = False
    if pa.types.is_string(target):
        if pa.types.is_dictionary(found) and _is_string(found.value_type):
            # Kept encoded: conform_table decodes high-cardinality ids, keeps the rest.
            target = pa.dictionary(found.index_type, pa.string())
            accepted = True
        else:
            accepted = _is_string(found)
    elif pa.types.is_timestamp(target):
        accepted = pa.types.is_timestamp(found) and found.tz in _UTC_NAMES
    if not accepted:
        hint = ""
        if pa.types.is_timestamp(target) and pa.types.is_timestamp(found) and found.tz is None:
            hint = " (a timestamp without time zone is ambiguous: store UTC instants)"
        raise ContractError(
            uri,
            f"{dataset.name} file {uri}: column {spec.name!r} must be {type_name(spec.type)}, "
            f"found {type_name(found)}{hint}; {_FIX}",
            column=spec.name,
            expected=type_name(spec.type),
            found=type_name(found),
            reason="wrong_type",
        )
    try:
        return column.cast(target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ContractError(
            uri,
            f"{dataset.name} file {uri}: column {spec.name!r} of type {type_name(found)} "
            f"cannot be converted to {type_name(target)} ({exc}); {_FIX}",
            column=spec.name,
            expected=type_name(target),
            found=type_name(found),
            reason="wrong_type",
        ) from exc


def type_name(kind: pa.DataType) -> str:
    """An Arrow type as the contract document spells it (``float64``, not ``double``)."""
    if pa.types.is_floating(kind):
        return f"float{kind.bit_width}"
    if pa.types.is_timestamp(kind):
        return f"timestamp[{kind.unit}, {kind.tz}]" if kind.tz else f"timestamp[{kind.unit}]"
    return str(kind)


def _is_string(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)
    )


def to_contract_table(
    frame: pd.DataFrame,
    dataset: str | type[Dataset],
    *,
    nullable: bool = False,
    rows: np.ndarray | None = None,
) -> pa.Table:
    """Rows of a read frame as an Arrow table in the contract's exact schema.

    Contract columns come first, in contract order and types (categoricals decoded to
    ``string``: a partition never carries the whole day's dictionary), then the extra
    columns; the bookkeeping columns ``_file`` and ``_row`` are dropped. The schema is
    ``Dataset.schema()`` itself, required columns marked not-null, except that a
    required column that does hold nulls (rows bound for quarantine) is marked nullable
    rather than made unwritable; ``nullable=True`` marks every column nullable, for a
    schema that does not depend on the rows.

    ``rows`` (positions) selects and orders the rows, as ``frame.iloc[rows]`` would,
    without building that frame: each column is gathered straight into Arrow (category
    codes, numpy values, the Arrow buffers of id columns), which is several times
    cheaper than a pandas gather and conversion and releases the GIL while it works.
    """
    klass = DATASETS_BY_NAME[dataset] if isinstance(dataset, str) else dataset
    names = klass.names()
    extras = [c for c in frame.columns if c not in names and c not in BOOKKEEPING_COLUMNS]
    picked = None if rows is None else pa.array(np.asarray(rows, dtype=np.int64))
    columns = []
    fields = []
    for spec in klass.columns():
        column = _arrow_column(frame[spec.name], picked, spec.type)
        columns.append(column)
        loose = nullable or column.null_count > 0
        fields.append(spec.field.with_nullable(True) if loose else spec.field)
    for name in extras:
        column = _arrow_column(frame[name], picked, None)
        columns.append(column)
        fields.append(pa.field(name, column.type))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields, metadata=klass.schema().metadata))


_NAT = np.iinfo(np.int64).min


def _arrow_column(
    series: pd.Series, rows: pa.Array | None, kind: pa.DataType | None
) -> pa.ChunkedArray:
    """One column (at ``rows``) as Arrow, cast to ``kind`` when given.

    Nulls as pandas has them: NaN in a float column and NaT are null, as
    ``pyarrow.Table.from_pandas`` makes them.
    """
    dtype = series.dtype
    at = None if rows is None else rows.to_numpy()
    array: pa.Array | pa.ChunkedArray
    if isinstance(dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        codes = codes if at is None else codes[at]
        values = pa.array(np.asarray(series.cat.categories, dtype=object), pa.string())
        array = values.take(pa.array(codes, mask=codes < 0))
    elif isinstance(dtype, pd.DatetimeTZDtype):
        stamps = series.array.asi8 if at is None else series.array.asi8[at]
        missing = stamps == _NAT
        array = pa.array(
            stamps, pa.timestamp(dtype.unit, str(dtype.tz)), mask=missing if missing.any() else None
        )
    elif isinstance(dtype, np.dtype) and dtype.kind in "fiub":
        values = series.to_numpy()
        array = pa.array(values if at is None else values[at], from_pandas=True)
    else:
        # Arrow-backed strings (zero copy), nullable integers, anything an extra holds.
        array = pa.array(series, from_pandas=True)
        if rows is not None:
            array = array.take(rows)
    if not isinstance(array, pa.ChunkedArray):
        array = pa.chunked_array([array])
    if kind is not None and array.type != kind:
        array = array.cast(kind)
    return array
