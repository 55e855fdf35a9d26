"""The model registry: every trained anomaly model, versioned, with its model card.

Layout, below the lake's registry root ``lake.models()`` (outside the package)::

    anomaly/<model>/v0001/model.joblib   the fitted estimators and thresholds
    anomaly/<model>/v0001/card.json      the model card

Versions only grow: training never overwrites a model, so an alert's
``detector_version`` (``<model>-v0001``) always names the artifact that scored it.
Artifacts are written with ``joblib`` as scikit-learn recommends; like any pickle
they must only be loaded from a registry the operator controls (the lake).

Scoring refuses a model whose feature list differs from the code's, or that was
trained with another major version of scikit-learn or NumPy, with
:class:`ModelMismatchError` naming the model, what differs and the fix (retrain).
"""

from __future__ import annotations

import io
import json
import platform
import posixpath
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn

from models.anomaly.calibration import CALIBRATION_FORMAT, DayCalibration
from surveillance import __version__
from surveillance.errors import SurveillanceError
from surveillance.storage import Lake, exists, filesystem, join, read_bytes, write_bytes

MODEL_FILE = "model.joblib"
CARD_FILE = "card.json"

#: Libraries whose major version must match between training and scoring.
CHECKED_LIBRARIES = ("scikit-learn", "numpy")


class ModelMismatchError(SurveillanceError):
    """A registered model cannot score with this code: retrain it."""

    reason = "model_mismatch"


@dataclass
class TrainedModel:
    """What one registry version holds: per symbol, a fitted estimator and its calibration.

    ``calibrations[symbol]`` holds the day thresholds
    (:class:`models.anomaly.calibration.DayCalibration`).
    """

    name: str
    feature_list: list[str]
    bucket_s: int
    period_hours: int
    tail_buckets: int
    estimators: dict[str, Any] = field(default_factory=dict)
    calibrations: dict[str, DayCalibration] = field(default_factory=dict)


def library_versions() -> dict[str, str]:
    """The versions recorded in a model card and compared when scoring."""
    return {
        "python": platform.python_version(),
        "mm-surveillance": __version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "joblib": joblib.__version__,
    }


def _root(lake: Lake) -> str:
    return join(lake.models(), "anomaly")


def version_dir(lake: Lake, name: str, version: int) -> str:
    """Folder of one model version."""
    return join(_root(lake), name, f"v{version:04d}")


def versions(lake: Lake, name: str) -> list[int]:
    """The registered versions of ``name``, ascending."""
    fs, path = filesystem(join(_root(lake), name))
    if not fs.isdir(path):
        return []
    out = []
    for p in fs.ls(path, detail=False):
        base = posixpath.basename(str(p).rstrip("/"))
        if base.startswith("v") and base[1:].isdigit():
            out.append(int(base[1:]))
    return sorted(out)


def model_names(lake: Lake) -> list[str]:
    """Models with at least one registered version."""
    fs, path = filesystem(_root(lake))
    if not fs.isdir(path):
        return []
    names = [posixpath.basename(str(p).rstrip("/")) for p in fs.ls(path, detail=False)]
    return sorted(n for n in names if versions(lake, n))


def save(lake: Lake, model: TrainedModel, card: dict[str, Any]) -> dict[str, Any]:
    """Register ``model`` as the next version of its name; returns the completed card.

    The artifact is written before the card, so a version with a card is complete.
    """
    version = (versions(lake, model.name) or [0])[-1] + 1
    folder = version_dir(lake, model.name, version)
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    write_bytes(buffer.getvalue(), join(folder, MODEL_FILE))
    full = {**card, "model": model.name, "version": version, "uri": folder}
    write_bytes(
        (json.dumps(full, indent=2, sort_keys=True, default=str) + "\n").encode(),
        join(folder, CARD_FILE),
    )
    return full


def read_card(lake: Lake, name: str, version: int) -> dict[str, Any]:
    card: dict[str, Any] = json.loads(read_bytes(join(version_dir(lake, name, version), CARD_FILE)))
    return card


def cards(lake: Lake) -> list[dict[str, Any]]:
    """Every registered model card, by model then version."""
    out = []
    for name in model_names(lake):
        for v in versions(lake, name):
            if exists(join(version_dir(lake, name, v), CARD_FILE)):
                out.append(read_card(lake, name, v))
    return out


def latest_version(lake: Lake, name: str) -> int | None:
    """The newest complete version of ``name`` (one with a card), or None."""
    for v in reversed(versions(lake, name)):
        if exists(join(version_dir(lake, name, v), CARD_FILE)):
            return v
    return None


def check_compatible(card: dict[str, Any], expected_features: list[str]) -> None:
    """Refuse a model trained on other features or other major library versions.

    Raises
    ------
    ModelMismatchError
        Naming the model version, what differs, and the fix.
    """
    where = f"anomaly model {card.get('model')} v{card.get('version')} ({card.get('uri')})"
    trained = list(card.get("feature_list", []))
    if trained != expected_features:
        missing = [f for f in expected_features if f not in trained]
        extra = [f for f in trained if f not in expected_features]
        raise ModelMismatchError(
            f"{where}: feature list does not match this code's "
            f"(missing {missing or 'none'}, unknown {extra or 'none'}, or another order); "
            f"retrain with `mmsurv models train --from D1 --to D2`"
        )
    if card.get("calibration_format") != CALIBRATION_FORMAT:
        raise ModelMismatchError(
            f"{where}: its day calibration has format {card.get('calibration_format', 1)}, "
            f"this code reads format {CALIBRATION_FORMAT}; retrain with "
            f"`mmsurv models train --from D1 --to D2`"
        )
    now = library_versions()
    for lib in CHECKED_LIBRARIES:
        was = str(card.get("library_versions", {}).get(lib, "?"))
        if was.split(".")[0] != now[lib].split(".")[0]:
            raise ModelMismatchError(
                f"{where}: trained with {lib} {was}, this installation has {now[lib]} "
                f"(major versions must match); retrain with `mmsurv models train --from D1 --to D2`"
            )


def load(lake: Lake, name: str, expected_features: list[str]) -> tuple[TrainedModel, dict] | None:
    """The newest registered version of ``name``, checked; None if none is registered.

    Raises
    ------
    ModelMismatchError
        If the newest version does not fit this code (see :func:`check_compatible`).
    """
    version = latest_version(lake, name)
    if version is None:
        return None
    card = read_card(lake, name, version)
    check_compatible(card, expected_features)
    model = joblib.load(io.BytesIO(read_bytes(join(version_dir(lake, name, version), MODEL_FILE))))
    if not isinstance(model, TrainedModel):
        raise ModelMismatchError(
            f"anomaly model {name} v{version}: {MODEL_FILE} holds {type(model).__name__}, "
            f"not a TrainedModel; retrain with `mmsurv models train --from D1 --to D2`"
        )
    return model, card
