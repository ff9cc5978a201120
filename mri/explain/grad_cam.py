"""Grad-CAM (Selvaraju et al., 2017) in closed form.

The gradient of class ``c``'s logit with respect to ``A`` is ``W[c, k] / (h * w)`` at every position, so
Grad-CAM's channel weights (the spatial mean of that gradient) are ``W[c] / (h * w)`` exactly, and the map of
class ``c`` is ``ReLU(sum_k W[c, k] A_k) / (h * w)``. Checked against pytorch-grad-cam and captum in
tests.core.test_gradcam.
"""

import torch

from mri.explain.method import ExplanationMethod, register


@register
class GradCAM(ExplanationMethod):
    name = "grad-cam"

    def cam_weights(self, activation: torch.Tensor, fc: torch.nn.Linear) -> torch.Tensor:
        h, w = activation.shape[-2:]
        return fc.weight / (h * w)
