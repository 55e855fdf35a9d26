"""Nightly scoring: the registered models on one (day, symbol), as explained alerts.

``mmsurv detect`` calls :data:`SCORERS` (registered in
``surveillance.detect.ANOMALY_SCORERS``) once per symbol. Each scorer loads the
newest registered version of its model (refusing one that does not fit the code),
scores the affiliated market maker's bucket vectors, and raises at most one alert
per (model, entity, symbol, day): when the day's *tail* (its few most unusual
buckets) or *drift* (the sustained shift of one feature over the day) is beyond the
threshold calibrated on the training window (:mod:`models.anomaly.calibration`).

**Explanation.** The features that drove the score are those with the largest
robust z-scores (in their suspicious direction for the peer model) over the day's
most unusual buckets (a tail alert), or with the largest day-level drift (a drift
alert); the alert quotes each one's value, its baseline (the AMM's median at that
time of day, its median over the training window, or the peers' median) and its z.

**Typology.** Each behaviour feature points to a typology or only to a family
(:data:`features.behaviour.FEATURES`). The alert takes the typology of the top
feature when it has one; otherwise the typology two of the top features share;
otherwise it is *family-only*: the contract requires a typology code, so the alert
carries the family's representative code (:data:`FAMILY_CODE`), says "family only"
in its explanation and ``"typology_basis": "family_only"`` in its features.
"""

from __future__ import annotations

import logging
import weakref
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from features.behaviour import FEATURE_BY_NAME, FEATURE_NAMES, bucket_vectors
from features.data import NS, SymbolDay, from_ns
from models.anomaly.calibration import DayVerdict, judge
from models.anomaly.config import AnomalyConfig
from models.anomaly.registry import TrainedModel, latest_version, load
from models.anomaly.vectors import (
    MODEL_HELP,
    effective_z,
    feature_list,
    model_input,
    signed_z,
)
from models.rules.base import alert_id, features_json, score_from_excess, severity_of
from surveillance.config import Config, params_hash
from surveillance.contract import Alerts, Family, Typology
from surveillance.settings import Settings
from surveillance.storage import write_partition

log = logging.getLogger(__name__)

#: The code a family-only alert carries (the contract requires a typology code).
FAMILY_CODE: dict[str, str] = {
    Family.FRONT_RUNNING.value: Typology.FR_FLOW_ANTICIPATION.value,
    Family.PREFERENTIAL_TREATMENT.value: Typology.PT_SEQUENCING_ADVANTAGE.value,
    Family.SPREAD_MANIPULATION.value: Typology.SM_SPREAD_WIDENING.value,
    Family.MARKET_INTEGRITY.value: Typology.MI_OBLIGATION_BREACH.value,
}
#: Most order and trade ids cited as evidence by one anomaly alert.
MAX_EVIDENCE_IDS = 200

_cache_models: dict[tuple[str, str, int], tuple[TrainedModel, dict[str, Any]]] = {}
_cache_vectors: list[tuple[weakref.ref[SymbolDay], int, pd.DataFrame]] = []


def _vectors(settings: Settings, data: SymbolDay, bucket_s: int) -> pd.DataFrame:
    """The day's bucket vectors, computed once per loaded day for every model."""
    for ref, b, frame in _cache_vectors:
        if ref() is data and b == bucket_s:
            return frame
    frame = bucket_vectors(data, bucket_s)
    _cache_vectors[:] = [(weakref.ref(data), bucket_s, frame)]
    if len(frame):
        write_partition(
            pa.Table.from_pandas(frame, preserve_index=False),
            settings.lake.features("behaviour", data.day, data.symbol),
        )
    return frame


def registered(settings: Settings, name: str) -> tuple[TrainedModel, dict[str, Any]] | None:
    """The newest registered, compatible version of ``name`` (cached), or None."""
    lake = settings.lake
    version = latest_version(lake, name)
    if version is None:
        return None
    key = (lake.root, name, version)
    if key not in _cache_models:
        loaded = load(lake, name, feature_list(name))
        if loaded is None:
            return None
        _cache_models[key] = loaded
    return _cache_models[key]


def unavailable(name: str) -> Callable[[Settings, Config], str | None]:
    """Why ``name`` cannot score today (disabled, or no model registered), or None."""

    def check(settings: Settings, cfg: Config) -> str | None:
        if not cfg.section("anomaly", AnomalyConfig).enabled:
            return "disabled by [anomaly] enabled = false"
        if name not in cfg.section("anomaly", AnomalyConfig).models:
            return "not in [anomaly] models"
        if latest_version(settings.lake, name) is None:
            return (
                f"no model registered under {settings.lake.models()}; "
                f"train one with `mmsurv models train --from D1 --to D2`"
            )
        return None

    return check


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in Alerts.names()})


def choose_typology(top: list[str]) -> tuple[str, str, str]:
    """(family, typology code, basis) for an alert whose strongest features are ``top``."""
    first = FEATURE_BY_NAME[top[0]]
    if first.typology is not None:
        return Typology(first.typology).family.value, first.typology, "feature"
    shared = Counter(FEATURE_BY_NAME[n].typology for n in top if FEATURE_BY_NAME[n].typology)
    if shared:
        code, count = shared.most_common(1)[0]
        if count >= 2 and code is not None:
            return Typology(code).family.value, code, "features"
    return first.family, FAMILY_CODE[first.family], "family_only"


def _suspicious_way(feature: str, cal: Any, verdict: DayVerdict) -> bool:
    """Whether ``feature``'s strongest drift statistic points its suspicious way."""
    j = FEATURE_NAMES.index(feature)
    direction = FEATURE_BY_NAME[feature].direction
    pairs = zip(cal.columns, verdict.u[1:], strict=True)
    mine = [(float(u), int(sign)) for (k, sign), u in pairs if k == j]
    if not mine or direction == 0:
        return True
    return max(mine)[1] == direction


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    return f"{x:.3g}"


def score_model(name: str, settings: Settings, cfg: Config, data: SymbolDay) -> pd.DataFrame:
    """Alerts of anomaly model ``name`` on one (day, symbol), in the contract's columns.

    Raises
    ------
    ModelMismatchError
        If the registered model does not fit this code (retrain it).
    """
    acfg = cfg.section("anomaly", AnomalyConfig)
    if not acfg.enabled or name not in acfg.models:
        return _empty()
    loaded = registered(settings, name)
    if loaded is None:
        return _empty()
    model, card = loaded
    est = model.estimators.get(data.symbol)
    if est is None:
        log.warning(
            "anomaly model %s v%s has no estimator for %s", name, card["version"], data.symbol
        )
        return _empty()
    buckets = _vectors(settings, data, model.bucket_s)
    inp = model_input(name, buckets, model.period_hours)
    if len(inp.X) == 0:
        return _empty()
    decisions = est.decision_function(inp.X)
    z, centre = effective_z(name, est, inp.X)
    zs = signed_z(name, est, inp.X)
    cal = model.calibrations[data.symbol]
    rows = []
    for entity in sorted(inp.keys["entity_id"].unique()):
        m = (inp.keys["entity_id"] == entity).to_numpy()
        verdict = judge(cal, decisions[m], zs[m], model.tail_buckets)
        if verdict.alert:
            rows.append(
                _alert(
                    name,
                    model,
                    card,
                    data,
                    entity,
                    inp,
                    m,
                    decisions[m],
                    z[m],
                    centre[m],
                    verdict,
                    acfg,
                )
            )
    if not rows:
        return _empty()
    return pd.DataFrame(rows, columns=Alerts.names())


def _alert(
    name: str,
    model: TrainedModel,
    card: dict[str, Any],
    data: SymbolDay,
    entity: str,
    inp: Any,
    mask: np.ndarray,
    decisions: np.ndarray,
    z: np.ndarray,
    centre: np.ndarray,
    verdict: DayVerdict,
    acfg: AnomalyConfig,
) -> dict[str, Any]:
    keys = inp.keys[mask].reset_index(drop=True)
    values_all = inp.values[mask]
    feature_names = list(FEATURE_NAMES)
    k = min(model.tail_buckets, len(decisions))
    cal = model.calibrations[data.symbol]
    if verdict.reason == "tail":
        chosen = np.argsort(decisions, kind="stable")[:k]
        strength = np.abs(z[chosen]).mean(axis=0)
        rows_for_values = chosen
    else:
        strength = verdict.drift_z
        rows_for_values = np.arange(len(decisions))
    order = np.argsort(-strength, kind="stable")[: acfg.top_features]
    if verdict.reason != "tail":
        # Evidence of a drift: the buckets where its strongest feature deviated most.
        chosen = np.argsort(-np.abs(z[:, order[0]]), kind="stable")[:k]
    top = [feature_names[j] for j in order]
    # A drift against a feature's suspicious direction (cancelling less than usual)
    # is unusual behaviour but evidence of nothing in particular: it gives no typology.
    pointing = [n for n in top if verdict.reason == "tail" or _suspicious_way(n, cal, verdict)]
    if pointing:
        family, typology, basis = choose_typology(pointing)
    else:
        family = FEATURE_BY_NAME[top[0]].family
        typology, basis = FAMILY_CODE[family], "family_only"
    bucket_ns = model.bucket_s * NS
    starts = np.sort(keys["bucket_start"].to_numpy()[chosen])
    if verdict.reason == "tail":
        w0, w1 = int(starts[0]), int(starts[-1]) + bucket_ns
    else:
        w0 = int(keys["bucket_start"].min())
        w1 = int(keys["bucket_start"].max()) + bucket_ns
    accounts = [a for a in data.amm_accounts if data.entity_of.get(a, a) == entity] or list(
        data.amm_accounts
    )
    ev = data.events
    tv = data.trade_view
    ev_t, tv_t = ev["t"].to_numpy(), tv["t"].to_numpy()
    in_b = np.zeros(len(ev), dtype=bool)
    tr_b = np.zeros(len(tv), dtype=bool)
    for s0 in starts:
        in_b |= (ev_t >= s0) & (ev_t < s0 + bucket_ns)
        tr_b |= (tv_t >= s0) & (tv_t < s0 + bucket_ns)
    mine = ev[in_b & ev["account_id"].isin(accounts).to_numpy()]
    busiest = mine["account_id"].value_counts()
    account = str(busiest.index[0]) if len(busiest) else (accounts[0] if accounts else None)
    order_ids = sorted(set(mine["order_id"].astype(str)))[:MAX_EVIDENCE_IDS]
    ours = (tv["buy_account"].isin(accounts) | tv["sell_account"].isin(accounts)).to_numpy()
    trade_ids = sorted(set(tv[tr_b & ours]["trade_id"].astype(str)))[:MAX_EVIDENCE_IDS]
    details = []
    for j in order:
        fname = feature_names[j]
        vals = values_all[rows_for_values, j]
        value = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
        entry: dict[str, Any] = {
            "feature": fname,
            "value": value,
            "z": float(strength[j]),
            "description": FEATURE_BY_NAME[fname].description,
        }
        if name == "peer":
            peers = inp.peers[mask][rows_for_values, j]
            peer = float(np.nanmean(peers)) if np.isfinite(peers).any() else float("nan")
            entry["peers_median"] = peer
            entry["baseline"] = peer
        else:
            entry["baseline"] = float(np.nanmean(centre[rows_for_values, j]))
        details.append(entry)
    against = {
        "baseline": "its own median at the same time of day",
        "peer": "the median external market maker in the same buckets",
        "iforest": "its own median over the training window",
    }[name]
    quoted = "; ".join(
        f"{d['feature']} {_fmt(d['value'])} against {_fmt(d['baseline'])} (z {d['z']:.1f})"
        for d in details
    )
    typology_text = (
        f"points to {typology}"
        if basis != "family_only"
        else f"belongs to family {family} only (no typology fits; coded {typology})"
    )
    if verdict.reason == "tail":
        what = (
            f"its {k} most unusual {model.bucket_s // 60}-minute buckets score "
            f"{verdict.tail:.3f} against a threshold of {cal.tail_threshold:.3f}"
        )
    else:
        what = (
            f"over the whole day one feature drifted {verdict.drift:.1f} day-to-day standard "
            f"deviations from its usual level (threshold {cal.drift_threshold:.1f})"
        )
    explanation = (
        f"Anomaly model {name} ({MODEL_HELP[name]}): {entity}'s behaviour in {data.symbol} on "
        f"{data.day.isoformat()} was unusual: {what}, calibrated to "
        f"{acfg.target_false_alert_rate:.0%} false alerts on clean days. Strongest features, "
        f"against {against}: {quoted}. The pattern {typology_text}."
    )
    version = int(card["version"])
    detector = f"anomaly:{name}"
    detector_version = f"{name}-v{version:04d}"
    phash = params_hash(
        {"detector": detector, "version": version, "fingerprint": card.get("data_fingerprint")}
    )
    score = float(score_from_excess(verdict.excess))
    feats = {
        "model": name,
        "model_version": version,
        "statistic": verdict.reason,
        "tail": verdict.tail,
        "tail_threshold": cal.tail_threshold,
        "drift": verdict.drift,
        "drift_threshold": cal.drift_threshold,
        "score_excess": verdict.excess,
        "typology_basis": basis,
        "buckets": [from_ns(int(b)).isoformat() for b in starts],
        "top_features": details,
    }
    return {
        Alerts.alert_id: alert_id(
            detector, detector_version, phash, data.symbol, account, w0, w1, order_ids, trade_ids
        ),
        Alerts.family: family,
        Alerts.typology: typology,
        Alerts.detector: detector,
        Alerts.symbol: data.symbol,
        Alerts.account_id: account,
        Alerts.entity_id: entity,
        Alerts.window_start: from_ns(w0),
        Alerts.window_end: from_ns(w1),
        Alerts.score: score,
        Alerts.severity: severity_of(score),
        Alerts.order_ids: order_ids,
        Alerts.trade_ids: trade_ids,
        Alerts.explanation: explanation,
        Alerts.detector_version: detector_version,
        Alerts.params_hash: phash,
        Alerts.features: features_json(feats),
        Alerts.date: data.day.isoformat(),
    }


def _scorer(name: str) -> Callable[[Settings, Config, SymbolDay], pd.DataFrame]:
    def scorer(settings: Settings, cfg: Config, data: SymbolDay) -> pd.DataFrame:
        return score_model(name, settings, cfg, data)

    scorer.__name__ = f"score_{name}"
    scorer.__doc__ = f"Alerts of the registered anomaly model {name!r} on one (day, symbol)."
    return scorer


score_baseline = _scorer("baseline")
score_peer = _scorer("peer")
score_iforest = _scorer("iforest")
