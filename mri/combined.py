"""The any-impairment estimate the app shows: the network's alone, or stacked with the atrophy measures.

When the checkpoint holds ``any_impairment_model`` (a small logistic model fitted on out-of-fold data by
``training``, shipped only because it beat the network's own estimate in cross-validation over people), the
estimate is::

    P = sigmoid(intercept + sum_i coef_i * (x_i - mean_i) / scale_i)

over ``x = [logit(1 - P(No Impairment)), measure_1, ...]``; a measure undefined on the scan (NaN) counts as
its training mean. Without the model it is the network's ``1 - P(No Impairment)``.
"""

import math
from collections.abc import Mapping
from typing import Any

NETWORK_LOGIT = "network_any_impairment_logit"
NO_IMPAIRMENT = "No Impairment"
EDGE = 1e-6


def network_any_impairment(class_probabilities: Mapping[str, float]) -> float:
    return min(max(1.0 - float(class_probabilities.get(NO_IMPAIRMENT, 0.0)), 0.0), 1.0)


def logit(p: float) -> float:
    p = min(max(float(p), EDGE), 1 - EDGE)
    return math.log(p / (1 - p))


def model_from_checkpoint(checkpoint: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The checkpoint's ``any_impairment_model``, or None."""
    stored = (checkpoint or {}).get("any_impairment_model")
    return dict(stored) if stored else None


def combined_any_impairment(class_probabilities: Mapping[str, float], measures: Mapping[str, float] | None,
                            model: Mapping[str, Any] | None) -> float:
    """P(any impairment) of a reading: ``model`` over the network's logit and ``measures`` ({key: value}),
    or the network's own ``1 - P(No Impairment)`` when ``model`` is None."""
    network = network_any_impairment(class_probabilities)
    if not model:
        return network
    z = float(model["intercept"])
    for name, coef, mean, scale in zip(model["features"], model["coef"], model["mean"], model["scale"]):
        x = logit(network) if name == NETWORK_LOGIT else float((measures or {}).get(name, math.nan))
        if not math.isfinite(x):
            x = float(mean)
        z += float(coef) * (x - float(mean)) / float(scale)
    return 1.0 / (1.0 + math.exp(-z))
