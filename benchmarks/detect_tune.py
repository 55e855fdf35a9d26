"""Tune rule detectors quickly: prepared days are cached, only chosen detectors run.

A developer's loop, not part of ``make bench``. Each simulated day is simulated, ingested
and its book rebuilt once, into ``--cache``; later runs only load the symbol-days and run
the chosen detectors with the packaged defaults plus any ``--set`` overrides, then score
them with the contract's matching rule, per day and pooled::

    python -m benchmarks.detect_tune --only spoofing,spread_widening \\
        --days 1,7,8@0.3,9c --set spoofing.min_depth_ratio=1.2

A day is ``SEED`` (full intensity), ``SEED@INTENSITY`` or ``SEEDc`` (clean). Seeds from 21
up are held out for the reported evaluation (``benchmarks/detect_quality.py``) and refused
here, so that nobody tunes on them by accident.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DAY = dt.date(2026, 3, 2)
EVENTS = 100_000
FIRST_HELD_OUT_SEED = 21


@dataclass(frozen=True)
class DaySpec:
    """One simulated day: seed, whether it is clean, and the injectors' intensity."""

    seed: int
    clean: bool = False
    intensity: float = 1.0

    @classmethod
    def parse(cls, text: str) -> DaySpec:
        if text.endswith("c"):
            spec = cls(int(text[:-1]), clean=True)
        elif "@" in text:
            seed, intensity = text.split("@")
            spec = cls(int(seed), intensity=float(intensity))
        else:
            spec = cls(int(text))
        return spec

    @property
    def key(self) -> str:
        return f"seed{self.seed}-" + ("clean" if self.clean else f"i{self.intensity:g}")


def prepare(cache: Path, spec: DaySpec, events: int) -> Path:
    """The day's folder under ``cache`` (landing + lake with book), built if missing."""
    from surveillance.book import build_book
    from surveillance.ingest import ingest_day
    from surveillance.settings import resolve
    from surveillance.simulate import simulate_day

    root = cache / f"{spec.key}-e{events}"
    if root.exists():
        return root
    # Built aside and renamed into place, so concurrent runs never see half a day.
    building = Path(tempfile.mkdtemp(prefix=f"building-{root.name}-", dir=cache))
    settings = resolve(landing=str(building / "landing"), lake=str(building / "lake"))
    simulate_day(
        building / "landing",
        DAY,
        symbols=2,
        events=events,
        seed=spec.seed,
        clean=spec.clean,
        intensity=spec.intensity,
    )
    ingest_day(settings, DAY)
    build_book(settings, DAY)
    try:
        building.rename(root)
    except OSError:  # another run finished the same day first
        shutil.rmtree(building, ignore_errors=True)
    return root


def rules_config(only: list[str], overrides: list[str]) -> Any:
    """Packaged defaults with only ``only`` enabled and ``section.key=value`` overrides."""
    from models.rules.config import RulesConfig
    from models.rules.registry import RULES

    raw: dict[str, dict[str, Any]] = {name: {"enabled": name in only} for name in RULES}
    for item in overrides:
        dotted, _, value = item.partition("=")
        name, _, key = dotted.partition(".")
        raw.setdefault(name, {})[key] = json.loads(value)
    return RulesConfig.model_validate(raw)


def run_day(root: Path, only: list[str], rules: Any) -> tuple[Any, Any, float]:
    """Alerts of the chosen detectors on one prepared day, and the labels."""
    import pandas as pd

    from features.data import load_symbol_day
    from surveillance.contract import Alerts, Orders
    from surveillance.detect import run_rules
    from surveillance.evaluate import read_labels
    from surveillance.settings import resolve

    settings = resolve(landing=str(root / "landing"), lake=str(root / "lake"))
    frames = []
    started = time.perf_counter()
    for symbol in settings.lake.curated_symbols(Orders.name, DAY):
        data = load_symbol_day(settings.lake, DAY, symbol)
        alerts, _ = run_rules(data, rules)
        frames.append(alerts)
    seconds = time.perf_counter() - started
    alerts = pd.concat(frames, ignore_index=True) if frames else Alerts.empty().to_pandas()
    labels, symbols, days = read_labels(settings.landing_uri)
    return alerts, (labels, symbols, days), seconds


def main(argv: list[str] | None = None) -> None:

    from models.rules.registry import RULES
    from surveillance.contract import Labels
    from surveillance.evaluate import evaluate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="/tmp/detect-tune-cache", type=Path)
    parser.add_argument("--days", default="1,7,8@0.3,9c", help="e.g. 1,2,7,8@0.3,9c")
    parser.add_argument("--only", required=True, help="detector names, comma separated")
    parser.add_argument("--set", action="append", default=[], help="name.key=JSON value")
    parser.add_argument("--events", type=int, default=EVENTS)
    parser.add_argument("--show", action="store_true", help="print missed labels and alerts")
    args = parser.parse_args(argv)

    only = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in only if n not in RULES]
    if unknown:
        parser.error(f"unknown detector {unknown[0]!r}; registered: {', '.join(RULES)}")
    specs = [DaySpec.parse(t) for t in args.days.split(",")]
    held_out = [s.seed for s in specs if s.seed >= FIRST_HELD_OUT_SEED]
    if held_out:
        parser.error(f"seed {held_out[0]} is held out for the reported evaluation")
    typologies = {RULES[n].typology.value for n in only}
    rules = rules_config(only, args.set)
    args.cache.mkdir(parents=True, exist_ok=True)

    prepared: list[tuple[Any, Any, dict[dt.date, int]]] = []
    for spec in specs:
        root = prepare(args.cache, spec, args.events)
        alerts, (labels, symbols, days), seconds = run_day(root, only, rules)
        labels = labels[labels[Labels.typology].isin(typologies)]
        ev = evaluate(labels, alerts, symbols_by_day=symbols or None, days=days or None)
        print(f"-- {spec.key}: {len(alerts)} alerts in {seconds:.1f} s")
        _print_rows(ev, typologies)
        if spec.clean:
            print(f"   clean day: {len(alerts)} alerts over {sum(symbols.values())} symbols")
        if args.show:
            _show(labels, alerts)
        prepared.append((alerts, labels, symbols))
    pooled = pool_days(prepared)
    print("-- pooled")
    _print_rows(pooled, typologies)
    print(f"   load: {pooled.summary()}")


def _print_rows(evaluation: Any, typologies: set[str]) -> None:
    """The evaluation's rows of the chosen typologies, one line each."""
    for row in evaluation.table():
        if row["typology"] in typologies:
            print(
                f"   {row['typology']!s:<24} labels {row['labels']!s:>3} "
                f"found {row['detected']!s:>3} alerts {row['alerts']!s:>3} "
                f"prec {row['precision']!s:>5} recall {row['recall']!s:>5}"
            )


def pool_days(days: list[tuple[Any, Any, dict[dt.date, int]]]) -> Any:
    """One evaluation over several (alerts, labels, symbols per day) of the same date.

    Each day is moved to its own date first, so that pooled matching never pairs an
    alert of one day with a label of another and clean days stay apart.
    """
    import pandas as pd

    from surveillance.evaluate import evaluate

    labels: list[Any] = []
    alerts: list[Any] = []
    symbols_by_day: dict[dt.date, int] = {}
    for offset, (day_alerts, day_labels, symbols) in enumerate(days):
        shift = pd.Timedelta(days=offset)
        labels.append(_shifted(day_labels, shift))
        alerts.append(_shifted(day_alerts, shift))
        for day, count in symbols.items():
            symbols_by_day[day + dt.timedelta(days=offset)] = count
    return evaluate(
        pd.concat(labels, ignore_index=True),
        pd.concat(alerts, ignore_index=True),
        symbols_by_day=symbols_by_day,
        days=sorted(symbols_by_day),
    )


def _shifted(frame: Any, shift: Any) -> Any:
    out = frame.copy()
    for column in ("window_start", "window_end"):
        if column in out.columns:
            out[column] = out[column] + shift
    if "date" in out.columns:  # alerts carry their day; it decides which days are clean
        out["date"] = [_moved_day(d, shift) for d in out["date"]]
    return out


def _show(labels: Any, alerts: Any) -> None:
    cols = [c for c in ("symbol", "account_id", "typology", "window_start", "window_end")]
    print("   labels:")
    print(labels[[c for c in cols if c in labels.columns]].to_string(max_rows=60))
    print("   alerts:")
    shown = [c for c in (*cols, "score") if c in alerts.columns]
    print(alerts[shown].to_string(max_rows=60))


def _moved_day(day: object, shift: object) -> object:
    """An alert's ``date`` (YYYY-MM-DD or null) moved by ``shift``."""
    if day is None or day != day:  # null or NaN
        return day
    return (dt.date.fromisoformat(str(day)) + shift).isoformat()  # type: ignore[operator]


if __name__ == "__main__":
    main()
