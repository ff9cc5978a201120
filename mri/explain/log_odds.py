"""Grad-CAM of what the app reports: a class's calibrated log-odds, drawn on the 9 x 9 shift-and-average grid.

Grad-CAM may explain any score of the network (pytorch-grad-cam's ``targets``); plain Grad-CAM takes the
class's raw logit. The app reports the calibrated probability ``p = softmax(logits * scale + bias)``, and the
deletion test (:mod:`.faithfulness`) asks how far ``p_c`` falls when the map's hottest region is blurred. The
log-odds ``log(p_c / (1 - p_c)) = z_c - logsumexp_{j != c} z_j`` of that probability (``z`` the calibrated
logits) has, with respect to the pooled features, the gradient ``s_c W_c - sum_{j != c} q_j s_j W_j``, with ``q``
the softmax of the other classes' calibrated logits: the class's calibrated weights against the other classes',
each as much as it is probable. Taken this way it stays exact when ``p_c`` rounds to 1 (a sure prediction),
where ``1 - p_c`` would vanish. Its gradient at ``layer4`` is that divided by ``h * w`` at every position, so, as
for Grad-CAM, the map is closed form, with weights per image.

Why: the raw logit's map of Very Mild Impairment points at evidence that raises the other grades more (they
share most of it), so blurring its hottest region raised that grade's probability on most slices, and the
deletion test put 0-11% of them above a random region; with this target, 65-67% (MODEL_CARD.md, "The heatmap").
Each input moved by :mod:`.shift_and_stitch` gets the map of its own probabilities.
"""

import torch

from mri.explain.method import register
from mri.explain.shift_and_stitch import ShiftAndAverage


def softmax_of_the_others(logits: torch.Tensor) -> torch.Tensor:
    """``(B, C)`` logits -> ``(B, C, C)``: row ``c`` is the softmax of the other classes' logits (0 at ``c``)."""
    # A float identity compared, not a bool one: ONNX Runtime has no boolean EyeLike.
    itself = torch.eye(logits.shape[1])[None] > 0
    return torch.softmax(logits[:, None, :].masked_fill(itself, float("-inf")), dim=-1)


@register
class LogOddsShiftAndAverage(ShiftAndAverage):
    name = "log-odds-shift-and-average"

    def cam_weights(self, activation: torch.Tensor, fc: torch.nn.Linear) -> torch.Tensor:
        q = softmax_of_the_others(self.calibrated_logits(activation, fc))  # (B, C, C)
        weights = self.scale_and_bias(fc)[0][:, None] * fc.weight  # (C, K): the calibrated logits' weights
        h, w = activation.shape[-2:]
        return (weights[None] - q @ weights) / (h * w)
