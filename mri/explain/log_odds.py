"""Grad-CAM of what the app reports: a class's calibrated log-odds, drawn on the 9 x 9 shift-and-average grid.

Grad-CAM may explain any score of the network (pytorch-grad-cam's ``targets``); plain Grad-CAM takes the
class's raw logit. The app reports the calibrated probability ``p = softmax(logits * scale + bias)``, and the
deletion test (:mod:`.faithfulness`) asks how far ``p_c`` falls when the map's hottest region is blurred. The
log-odds ``log(p_c / (1 - p_c))`` of that probability has, with respect to the pooled features, the gradient
``s_c W_c - sum_{j != c} q_j s_j W_j`` with ``q_j = p_j / (1 - p_c)``: the class's calibrated weights against
the other classes', each as much as it is probable. Its gradient at ``layer4`` is that divided by ``h * w`` at
every position, so, as for Grad-CAM, the map is closed form, with weights per image.

Why: the raw logit's map of Very Mild Impairment points at evidence that raises the other grades more (they
share most of it), so blurring its hottest region raised that grade's probability on most slices, and the
deletion test put 0-11% of them above a random region; with this target, 65-67% (MODEL_CARD.md, "The heatmap").
Each input moved by :mod:`.shift_and_stitch` gets the map of its own probabilities.
"""

import torch

from mri.explain.method import register
from mri.explain.shift_and_stitch import ShiftAndAverage

# 1 - p_c is kept above this, so a class the network is all but certain of has finite weights.
SMALLEST_REST = 1e-6


def log_probability_gradient(p: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The gradient of ``log p_c`` for every class, (B, C, K): ``W_c - sum_j p_j W_j``, for probabilities ``p``
    (B, C) of a softmax over ``features @ weights.T`` (weights (C, K))."""
    return weights[None] - (p @ weights)[:, None]


@register
class LogOddsShiftAndAverage(ShiftAndAverage):
    name = "log-odds-shift-and-average"

    def cam_weights(self, activation: torch.Tensor, fc: torch.nn.Linear) -> torch.Tensor:
        p = self.probabilities(activation, fc)  # (B, C)
        weights = self.scale_and_bias(fc)[0][:, None] * fc.weight  # (C, K): the calibrated logits' weights
        # The log-odds' gradient, s_c W_c - sum_{j != c} q_j s_j W_j, is the log-probability's over 1 - p_c.
        h, w = activation.shape[-2:]
        return log_probability_gradient(p, weights) / (1 - p).clamp(min=SMALLEST_REST)[:, :, None] / (h * w)
