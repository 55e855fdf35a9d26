"""The data-quality gate: Great Expectations suites derived from the venue contract.

One suite per landing dataset runs on the whole day, built from
``surveillance.contract`` so that a column added to the contract is checked
without a change here: the contract's columns exist with their types (the reader
has already refused files that break this, so these document the day), required
values are not null, enumerations hold, numbers have the sign the contract gives
them, the day is not empty; and one custom expectation per rule of the contract
validator (``surveillance.validate.RULES``) for what GX cannot express natively:
lifecycle, seq order, trade/fill reconciliation, references, tick and lot
multiples. The custom expectation calls the validator's own rule function, so
each rule's logic lives in one place.

Every outcome, native or custom, is a GX validation result; the quarantine is
derived from those results, never from a second computation.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import great_expectations as gx
import great_expectations.expectations as gxe
import numpy as np
import pandas as pd
import pyarrow as pa
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.execution_engine import PandasExecutionEngine, pandas_execution_engine
from great_expectations.expectations.expectation import BatchExpectation
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.table_metric_provider import TableMetricProvider

from surveillance.contract import LANDING_DATASETS, NON_NEGATIVE, POSITIVE, Dataset
from surveillance.validate import (
    FILE_COLUMN,
    ROW_COLUMN,
    RULES,
    LandingDay,
    Rule,
    prepare_in_background,
    read_dataset_files,
    rule_violations,
)

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
logging.getLogger("great_expectations").setLevel(logging.WARNING)
# GX fingerprints every pandas batch below 1 GB with an MD5 over all its values, each
# time a batch is fetched (twice per validation): a third of the gate's time on a day
# of a million events, and no use here, since the lineage manifest already holds the
# SHA-256 of every source file. A threshold of 0 turns the fingerprint off.
pandas_execution_engine.HASH_THRESHOLD = 0

#: Reason code of a table-level failure (the day, not a row, is wrong).
EMPTY = "empty_dataset"

_VIOLATIONS_METRIC = "mmsurv.contract_rule.violations"
_DAY_TOKEN = "mmsurv_landing_day_token"
#: Landing days under validation, by the token their batch frames carry in ``attrs``.
#: GX hands a metric only its batch; the cross-dataset rules (reconciliation,
#: references) need the whole day, so the batch frame carries a token for it.
_ACTIVE_DAYS: dict[str, LandingDay] = {}


def rule_reason(kind: str, column: str) -> str:
    """Reason code of a native column check: ``null:order_id``, ``enum:side``..."""
    return f"{kind}:{column}"


# --------------------------------------------------------------------------------------
# The custom expectation: one contract-validator rule, reported through GX.


class ContractRuleViolations(TableMetricProvider):
    """Metric: the violations one validator rule finds in the batch's landing day."""

    metric_name = _VIOLATIONS_METRIC
    value_keys = ("rule",)

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(
        cls,
        execution_engine: PandasExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict[str, Any],
        runtime_configuration: dict,
    ) -> pd.DataFrame:
        frame, _, _ = execution_engine.get_compute_domain(
            domain_kwargs=metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE
        )
        token = frame.attrs.get(_DAY_TOKEN)
        if token not in _ACTIVE_DAYS:
            raise RuntimeError(
                "expect_no_contract_rule_violations needs a batch built by "
                "surveillance.ingest.gate.run_gate (its frame names the landing day)"
            )
        return rule_violations(_ACTIVE_DAYS[token], metric_value_kwargs["rule"])


class ExpectNoContractRuleViolations(BatchExpectation):
    """Expect one rule of the venue contract validator to find no violation in the day.

    The rule is named by its code in ``surveillance.validate.RULES``; its check runs
    on the whole landing day (rules may relate datasets, such as trades to fills).
    The result lists every violating row as ``[dataset, file, row]`` under
    ``unexpected_rows`` and the first ones in full under ``partial_unexpected_list``.
    """

    rule: str
    metric_dependencies: ClassVar[tuple[str, ...]] = (_VIOLATIONS_METRIC,)
    success_keys: ClassVar[tuple[str, ...]] = ("rule",)
    args_keys: ClassVar[tuple[str, ...]] = ("rule",)

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict[str, Any]:
        violations: pd.DataFrame = metrics[_VIOLATIONS_METRIC]
        count = len(violations)
        examples = violations.head(20)
        return {
            "success": count == 0,
            "result": {
                "observed_value": count,
                "unexpected_count": count,
                "partial_unexpected_list": _records(examples),
                "unexpected_rows": [
                    [str(d), str(f), json_value(r)]
                    for d, f, r in zip(
                        violations["dataset"], violations["file"], violations["row"], strict=True
                    )
                ],
            },
        }


#: Validator rules whose check the contract-derived native expectations already make
#: (required values, enumerations, signs): they are not run twice. Derived from the
#: contract where the validator's codes are (``<dataset>.null_required``,
#: ``<dataset>.invalid_<column>``); the sign rules are named as the validator names them.
SIGN_RULES: frozenset[str] = frozenset(
    {
        "orders.nonpositive_price",
        "orders.nonpositive_quantity",
        "trades.nonpositive_price",
        "trades.nonpositive_quantity",
        "instruments.nonpositive_increment",
        "reference_prices.nonpositive_price",
    }
)


def native_equivalents() -> frozenset[str]:
    """Codes of the validator rules the native expectations cover."""
    codes = set(SIGN_RULES)
    for dataset in LANDING_DATASETS:
        codes.add(f"{dataset.name}.null_required")
        codes.update(f"{dataset.name}.invalid_{c.name}" for c in dataset.columns() if c.allowed)
    return frozenset(codes)


def custom_rules() -> tuple[Rule, ...]:
    """The validator rules run as custom expectations: everything GX cannot express."""
    covered = native_equivalents()
    return tuple(rule for rule in RULES if rule.code not in covered)


# --------------------------------------------------------------------------------------
# Suites derived from the contract.


@dataclass(frozen=True)
class Planned:
    """One expectation of a suite and the reason code its failing rows carry."""

    expectation: gxe.Expectation
    reason: str
    column: str | None
    description: str
    row_level: bool


def reader_types(dataset: type[Dataset]) -> dict[str, str]:
    """The pandas type each contract column has once the contract reader has read it.

    Derived by letting the reader read zero files of the dataset, so it follows the
    contract and the reader's choices (categoricals for low-cardinality strings,
    Arrow-backed ``str`` for ids) without a hand-kept table.
    """
    frame = read_dataset_files(dataset, [])
    return {spec.name: _type_name(frame[spec.name].dtype) for spec in dataset.columns()}


def _type_name(dtype: Any) -> str:
    # GX compares a pandas column's scalar type (``dtype.type``) by name.
    return str(dtype.type.__name__)


def content_plan(
    dataset: type[Dataset],
    columns: Sequence[str],
    rules: Sequence[Rule],
    *,
    min_rows: int = 0,
) -> list[Planned]:
    """The content suite of ``dataset``, for the columns the day's files hold.

    Optional columns a day lacks are not checked (the contract lets them be absent).
    """
    present = set(columns)
    types = reader_types(dataset)
    plan: list[Planned] = []
    required = [spec.name for spec in dataset.columns() if spec.required]
    plan.append(
        Planned(
            gxe.ExpectTableColumnsToMatchSet(column_set=required, exact_match=False),
            "missing_column",
            None,
            f"the required columns are present: {', '.join(required)}",
            row_level=False,
        )
    )
    for spec in dataset.columns():
        if spec.name in present:
            plan.append(
                Planned(
                    gxe.ExpectColumnValuesToBeOfType(column=spec.name, type_=types[spec.name]),
                    rule_reason("wrong_type", spec.name),
                    spec.name,
                    f"column {spec.name!r} holds {spec.type} (pandas {types[spec.name]})",
                    row_level=False,
                )
            )
    if min_rows > 0:
        plan.append(
            Planned(
                gxe.ExpectTableRowCountToBeBetween(min_value=min_rows),
                EMPTY,
                None,
                f"the day holds at least {min_rows} {dataset.name} row(s)",
                row_level=False,
            )
        )
    for spec in dataset.columns():
        if spec.name not in present:
            continue
        if not spec.nullable:
            plan.append(
                Planned(
                    gxe.ExpectColumnValuesToNotBeNull(column=spec.name),
                    rule_reason("null", spec.name),
                    spec.name,
                    f"{spec.name} is never null",
                    row_level=True,
                )
            )
            if pa.types.is_string(spec.type) and not spec.allowed:
                # An id that is "" identifies nothing: as bad as a null.
                plan.append(
                    Planned(
                        gxe.ExpectColumnValuesToNotBeInSet(column=spec.name, value_set=[""]),
                        rule_reason("empty", spec.name),
                        spec.name,
                        f"{spec.name} is never an empty string",
                        row_level=True,
                    )
                )
        if spec.allowed:
            plan.append(
                Planned(
                    gxe.ExpectColumnValuesToBeInSet(column=spec.name, value_set=list(spec.allowed)),
                    rule_reason("enum", spec.name),
                    spec.name,
                    f"{spec.name} is one of {', '.join(spec.allowed)}",
                    row_level=True,
                )
            )
        if spec.sign in (POSITIVE, NON_NEGATIVE):
            strict = spec.sign == POSITIVE
            plan.append(
                Planned(
                    gxe.ExpectColumnValuesToBeBetween(
                        column=spec.name,
                        min_value=0.0,
                        strict_min=strict,
                        max_value=sys.float_info.max,
                    ),
                    rule_reason("not_positive" if strict else "negative", spec.name),
                    spec.name,
                    f"{spec.name} is {'> 0' if strict else '>= 0'} and finite where set",
                    row_level=True,
                )
            )
    for rule in rules:
        if rule.dataset == dataset.name:
            plan.append(
                Planned(
                    ExpectNoContractRuleViolations(rule=rule.code),
                    rule.code,
                    None,
                    rule.description,
                    row_level=True,
                )
            )
    return plan


# --------------------------------------------------------------------------------------
# Running the suites.


@dataclass(frozen=True)
class Check:
    """One expectation's outcome, flattened for the summary, the HTML and the CLI."""

    suite: str
    dataset: str
    expectation: str
    column: str | None
    reason: str
    description: str
    success: bool
    unexpected_count: int
    observed: Any
    row_level: bool
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class GateOutcome:
    """What the gate found: GX results, flattened checks and the failing rows."""

    #: Suite name -> the GX validation result as a JSON-able dict (complete).
    results: dict[str, dict[str, Any]]
    checks: list[Check]
    #: Row-level failures: ``dataset``, ``position`` (row of the day's table) and ``reason``.
    failures: pd.DataFrame

    @property
    def table_failures(self) -> list[Check]:
        """Failed checks that condemn the day rather than rows (empty dataset, schema)."""
        return [c for c in self.checks if not c.success and not c.row_level]


#: Suites by (name, expectations and reasons), built once per process: GX's suite
#: construction validates every expectation and is slow next to a small day.
_SUITES: dict[tuple[Any, ...], gx.ExpectationSuite] = {}

_OUTCOMES: dict[str, Any] = {"result_format": "BOOLEAN_ONLY"}
#: Expectations validated per GX call. GX keeps every metric of a call (a boolean
#: mask per column check: 10 MB per ten million rows) until the call ends; smaller
#: calls bound the gate's memory at a small cost in time.
_CHUNK = 16
_DETAILS: dict[str, Any] = {
    "result_format": "COMPLETE",
    "partial_unexpected_count": 20,
    "return_unexpected_index_query": False,
    "include_unexpected_rows": False,
}


class _Context:
    """An ephemeral GX context for one day, with one dataframe asset per dataset.

    Made afresh for every day and dropped after it: GX's execution engine keeps the
    batches it validated, which on a large day are gigabytes. Building one costs a
    few tens of milliseconds; the suites, which are costly to build, are shared.
    """

    def __init__(self) -> None:
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        self.source = self.context.data_sources.add_pandas("landing")
        self._definitions: dict[str, Any] = {}

    def definition(self, asset: str) -> Any:
        if asset not in self._definitions:
            data_asset = self.source.add_dataframe_asset(asset)
            self._definitions[asset] = data_asset.add_batch_definition_whole_dataframe("day")
        return self._definitions[asset]

    def validate(
        self, asset: str, suite_name: str, plan: Sequence[Planned], frame: pd.DataFrame
    ) -> dict[str, Any]:
        """Validate ``frame`` against ``plan``: outcomes first, details of the failures.

        Every expectation runs once with ``BOOLEAN_ONLY`` (GX's per-expectation cost is
        mostly building metric graphs; a clean day needs nothing more); the ones that
        failed run again with ``COMPLETE`` results, whose rows feed the quarantine, and
        replace their first outcome in the result.

        Column checks run on a one-column view of the frame: GX drops a column's
        nulls before a check by filtering the whole batch, which on a wide
        ten-million-row frame copies every column for every check. Table checks and
        the contract rules run on the whole frame, :data:`_CHUNK` per GX call.
        """
        groups: list[tuple[pd.DataFrame, list[Planned]]] = []
        whole = [item for item in plan if item.column is None]
        for start in range(0, len(whole), _CHUNK):
            groups.append((frame, whole[start : start + _CHUNK]))
        whole_groups = list(groups)
        columns: dict[str, list[Planned]] = {}
        for item in plan:
            if item.column is not None:
                columns.setdefault(item.column, []).append(item)
        for column, items in columns.items():
            groups.append((frame[[column]], items))

        outcomes: dict[str, dict[str, Any]] = {}
        result: dict[str, Any] = {}
        # Column checks first: the contract rules' shared arrays are meanwhile derived
        # on the other core (validate_day starts that). The result's frame (meta) is
        # the first group's in plan order, whatever ran first.
        first = groups[0][1] if groups else []
        for data, items in [*groups[len(whole_groups) :], *whole_groups]:
            batch = self.definition(asset).get_batch(batch_parameters={"dataframe": data})
            part = dict(
                batch.validate(
                    self.suite(suite_name, items), result_format=_OUTCOMES
                ).to_json_dict()
            )
            outcomes.update((_reason_of(o), o) for o in part["results"])
            if items is first or not result:
                result = part
            failed = [item for item in items if not outcomes[item.reason]["success"]]
            if failed:
                detail = batch.validate(self.suite(suite_name, failed), result_format=_DETAILS)
                outcomes.update((_reason_of(o), o) for o in detail.to_json_dict()["results"])
        ordered = [outcomes[item.reason] for item in plan]
        met = sum(1 for o in ordered if o["success"])
        result["results"] = ordered
        result["success"] = met == len(ordered)
        result["statistics"] = {
            "evaluated_expectations": len(ordered),
            "successful_expectations": met,
            "unsuccessful_expectations": len(ordered) - met,
            "success_percent": 100.0 * met / len(ordered) if ordered else None,
        }
        return result

    def suite(self, name: str, plan: Sequence[Planned]) -> gx.ExpectationSuite:
        """The suite of ``plan``, built once per distinct plan in this process.

        Built through the constructor: ``add_expectation`` compares each new
        expectation with every earlier one, quadratic in the suite's size.
        """
        key = (name, tuple((type(p.expectation).__name__, p.reason) for p in plan))
        if key not in _SUITES:
            reasons = [item.reason for item in plan]
            if len(set(reasons)) != len(reasons):
                raise ValueError(f"suite {name}: reason codes repeat in {reasons}")
            expectations = []
            for item in plan:
                item.expectation.meta = {"reason": item.reason, "description": item.description}
                expectations.append(item.expectation)
            suite = gx.ExpectationSuite(name=name, expectations=expectations)
            if len(suite.expectations) != len(plan):
                raise ValueError(f"suite {name}: GX refused an expectation of {reasons}")
            _SUITES[key] = suite
        return _SUITES[key]


@contextlib.contextmanager
def _preparing(day: LandingDay, rules: Sequence[Rule]) -> Iterator[None]:
    """The contract rules run on the other core while GX checks columns.

    Their custom expectations then report results already computed (or wait for
    them). Joined on the way out, so no work of this day outlives the gate.
    """
    thread = prepare_in_background(day, rules) if rules else None
    try:
        yield
    finally:
        if thread is not None:
            thread.join()


@contextlib.contextmanager
def _registered(day: LandingDay) -> Iterator[str]:
    token = uuid.uuid4().hex
    _ACTIVE_DAYS[token] = day
    try:
        yield token
    finally:
        del _ACTIVE_DAYS[token]


def validate_day(
    day: LandingDay,
    datasets: Sequence[type[Dataset]],
    *,
    min_rows: Mapping[str, int] | None = None,
    rules: Sequence[Rule] | None = None,
) -> GateOutcome:
    """Run every dataset's content suite on the landing day.

    Returns the GX results, one :class:`Check` per expectation, and the row-level
    failures (with the row's position in ``day.tables[dataset]``).
    """
    ctx = _Context()
    results: dict[str, dict[str, Any]] = {}
    checks: list[Check] = []
    failures: list[pd.DataFrame] = []
    run = custom_rules() if rules is None else tuple(rules)
    with _registered(day) as token, _preparing(day, run):
        for dataset in datasets:
            table = day.tables.get(dataset.name)
            if table is None:
                continue
            plan = content_plan(
                dataset,
                list(table.columns),
                run,
                min_rows=(min_rows or {}).get(dataset.name, 0),
            )
            frame = table.copy(deep=False)
            frame.attrs[_DAY_TOKEN] = token
            result = ctx.validate(dataset.name, dataset.name, plan, frame)
            results[dataset.name] = result
            checks.extend(_checks(dataset.name, dataset.name, plan, result))
            failures.extend(_row_failures(dataset.name, plan, result, day))
    frame_failures = pd.concat(failures, ignore_index=True) if failures else _no_failures()
    return GateOutcome(results, checks, frame_failures)


def _no_failures() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dataset": pd.Series([], dtype="str"),
            "position": pd.Series([], dtype="int64"),
            "reason": pd.Series([], dtype="str"),
        }
    )


def _checks(
    suite: str, dataset: str, plan: Sequence[Planned], result: Mapping[str, Any]
) -> list[Check]:
    checks = []
    for item, outcome in _paired(plan, result):
        detail = outcome.get("result") or {}
        examples = detail.get("partial_unexpected_list") or []
        checks.append(
            Check(
                suite=suite,
                dataset=dataset,
                expectation=outcome["expectation_config"]["type"],
                column=item.column,
                reason=item.reason,
                description=item.description,
                success=bool(outcome["success"]),
                unexpected_count=int(detail.get("unexpected_count") or 0),
                observed=detail.get("observed_value"),
                row_level=item.row_level,
                examples=[e if isinstance(e, dict) else {"value": e} for e in examples[:5]],
            )
        )
        if outcome.get("exception_info", {}).get("raised_exception"):
            raise RuntimeError(
                f"data-quality check {item.reason} on {dataset} raised: "
                f"{outcome['exception_info'].get('exception_message')}"
            )
    return checks


def _reason_of(outcome: Mapping[str, Any]) -> str:
    return str(outcome["expectation_config"]["meta"]["reason"])


def _paired(
    plan: Sequence[Planned], result: Mapping[str, Any]
) -> list[tuple[Planned, dict[str, Any]]]:
    """Each planned expectation with its outcome, in plan order.

    GX does not keep the suite's order in its results; each expectation's ``meta``
    carries its reason code, unique within a suite, which pairs them.
    """
    by_reason = {o["expectation_config"]["meta"]["reason"]: o for o in result["results"]}
    return [(item, by_reason[item.reason]) for item in plan]


def _row_failures(
    dataset: str, plan: Sequence[Planned], result: Mapping[str, Any], day: LandingDay
) -> list[pd.DataFrame]:
    found: list[pd.DataFrame] = []
    for item, outcome in _paired(plan, result):
        if outcome["success"] or not item.row_level:
            continue
        detail = outcome.get("result") or {}
        if "unexpected_rows" in detail:
            found.extend(_locate(item.reason, detail["unexpected_rows"], day))
        else:
            positions = np.asarray(detail.get("unexpected_index_list") or [], dtype="int64")
            found.append(_failure_frame(dataset, positions, item.reason))
    return found


def _failure_frame(dataset: str, positions: np.ndarray, reason: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dataset": pd.Series([dataset] * len(positions), dtype="str"),
            "position": positions.astype("int64"),
            "reason": pd.Series([reason] * len(positions), dtype="str"),
        }
    )


def _locate(reason: str, rows: Sequence[Sequence[Any]], day: LandingDay) -> list[pd.DataFrame]:
    """Positions in the day's tables of the ``[dataset, file, row]`` a rule reported."""
    if not rows:
        return []
    wanted = pd.DataFrame(rows, columns=["dataset", "file", "row"])
    found = []
    for (dataset, file), group in wanted.groupby(["dataset", "file"], sort=True):
        table = day.tables[str(dataset)]
        in_file = np.flatnonzero((table[FILE_COLUMN] == file).to_numpy(dtype=bool))
        file_rows = pd.Index(table[ROW_COLUMN].to_numpy()[in_file])
        at = file_rows.get_indexer(group["row"].astype("int64").to_numpy())
        if (at < 0).any():
            missing = group["row"].to_numpy()[at < 0][:3].tolist()
            raise RuntimeError(
                f"validator rule {reason} reported rows {missing} of {file}, "
                f"which the {dataset} table does not hold"
            )
        found.append(_failure_frame(str(dataset), in_file[at], reason))
    return found


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): json_value(v) for k, v in row.items()} for row in frame.to_dict(orient="records")
    ]


def json_value(value: Any) -> Any:
    """A value JSON can hold: numpy scalars unwrapped, NaN/NaT as null, times as ISO text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, int | float | str | bool):
        return value
    return str(value)
