"""Anomaly models: the AMM's behaviour against its own history, its peers and client flow.

Public API (imported from the submodules, so that loading the ``[anomaly]``
configuration section does not import scikit-learn):

- ``models.anomaly.train.train_models(settings, first, last, *, config=None) -> TrainResult``
  (``TrainResult.summary()`` is JSON-able): the stage the weekly retraining calls;
- ``models.anomaly.score.score_baseline / score_peer / score_iforest``: the scorers
  registered in ``surveillance.detect.ANOMALY_SCORERS``;
- ``models.anomaly.registry``: the model registry under ``lake.models()`` and its cards;
- ``models.anomaly.estimators``: the scikit-learn estimators.

See ``docs/anomaly.md``.
"""
