"""Turning logits into probabilities that mean what they say.

Two calibrations of the kind Guo et al. (2017) compare: a single temperature
(``softmax(z / T)``), and vector scaling (``softmax(z * scale + bias)``, one scale
and one bias per class). Both are fitted by minimising the negative log-likelihood
of held-out logits; which one ships is decided by a nested check over the
cross-validation folds (fit on the other folds, measure on this one), never on
the data it is measured on.

A checkpoint stores the chosen one as ``calibration`` (``{"kind", "scale", "bias"}``)
and, for readers that know only temperatures, ``temperature``.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike

from mri.arrays import Array

KINDS = ("temperature", "vector")
# {"kind", "scale": [per class], "bias": [per class]}
Calibration = dict[str, Any]


def fit_temperature(logits: ArrayLike, labels: ArrayLike) -> float:
    """The temperature minimising the NLL of ``softmax(logits / T)`` (log-T grid, then refine)."""
    z = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if len(y) == 0:
        return 1.0

    def nll(t: float) -> float:
        return float(F.cross_entropy(z / t, y))

    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 200))
    best = min(grid, key=nll)
    fine = np.exp(np.linspace(np.log(best) - 0.05, np.log(best) + 0.05, 101))
    return float(min(fine, key=nll))


def fit(kind: str, logits: ArrayLike, labels: ArrayLike) -> Calibration:
    """``{"kind", "scale", "bias"}`` fitted on ``logits`` (N, C) and ``labels`` (N,)."""
    classes = np.asarray(logits).shape[1]
    t = fit_temperature(logits, labels)
    if kind == "temperature":
        return {"kind": kind, "scale": [1.0 / t] * classes, "bias": [0.0] * classes}
    if kind != "vector":
        raise ValueError(f"unknown calibration {kind!r}")
    z = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    # Started from the temperature; a small penalty keeps a class with few examples
    # (Moderate Impairment) from getting an extreme bias.
    scale = torch.full((classes,), 1.0 / t, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([scale, bias], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(z * scale + bias, y) + 1e-3 * (bias ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return {"kind": kind, "scale": scale.detach().tolist(), "bias": bias.detach().tolist()}


def apply(calibration: Mapping[str, Any], logits: ArrayLike) -> Array:
    """Calibrated probabilities (numpy, float64) of ``logits`` (N, C)."""
    z: Array = np.asarray(logits, dtype=np.float64) * np.asarray(calibration["scale"]) + np.asarray(calibration["bias"])
    z -= z.max(1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(1, keepdims=True))


def calibrated_logits(logits: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The logits (torch, (N, C)) whose softmax the app reports."""
    return logits * scale + bias


def softmax(logits: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Calibrated probabilities (torch) of ``logits`` (N, C): what the app reports."""
    return torch.softmax(calibrated_logits(logits, scale, bias), dim=-1)


def from_checkpoint(checkpoint: Mapping[str, Any]) -> Calibration:
    """The checkpoint's calibration; a checkpoint that has only a temperature gets that."""
    if checkpoint.get("calibration"):
        return dict(checkpoint["calibration"])
    classes = len(checkpoint["classes"])
    t = float(checkpoint.get("temperature", 1.0))
    return {"kind": "temperature", "scale": [1.0 / t] * classes, "bias": [0.0] * classes}


def cross_fitted(kind: str, logits: ArrayLike, labels: ArrayLike, folds: ArrayLike) -> Array:
    """Each fold's probabilities calibrated by a fit on the other folds: what calibration does on new people."""
    z, y, fold = np.asarray(logits), np.asarray(labels), np.asarray(folds)
    probs = np.zeros(z.shape, dtype=np.float64)
    for k in np.unique(fold):
        rest = fold != k
        probs[~rest] = apply(fit(kind, z[rest], y[rest]), z[~rest])
    return probs
