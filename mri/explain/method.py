"""What an explanation method is: pytorch-grad-cam's ``BaseCAM`` shape, in closed form for our network.

The network ends in a global average pool and one linear layer (``fc``) over ``layer4``'s activation ``A``
(K channels of h x w), so a class activation map needs no backward pass: each method turns ``fc`` (and, if it
likes, the activation and the checkpoint's calibration) into channel weights
(:meth:`ExplanationMethod.cam_weights`), and the map is their weighted sum of the activation
(:meth:`ExplanationMethod.cam_image`, ReLU'd). A method runs inside every engine's forward pass
(``mri.inference.engines.ClosedForm``), so it must be plain tensor code that tracing and ONNX export can follow.
An instance knows the calibration of the checkpoint it explains (identity when none is given), because the app
reports calibrated probabilities and a method may explain those rather than the raw logits.

A new method is one file: a subclass that overrides ``cam_weights`` (or ``cam_image``), registered with
:func:`register`. Grad-CAM's is :mod:`.grad_cam`.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import torch
import torch.nn.functional as F

from mri.inference import calibration


class ExplanationMethod:
    name: ClassVar[str] = ""

    def __init__(self, calibration: Mapping[str, Sequence[float]] | None = None) -> None:
        """``calibration``: the checkpoint's ``{"scale", "bias"}`` (``mri.inference.calibration``); None for the
        raw softmax."""
        # Made once here, not in every forward pass.
        self.calibration = None if calibration is None else (
            torch.tensor(calibration["scale"], dtype=torch.float32), torch.tensor(calibration["bias"], dtype=torch.float32))

    def scale_and_bias(self, fc: torch.nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
        """The calibration's per-class scale and bias (1 and 0 without one)."""
        if self.calibration is None:
            return torch.ones(fc.out_features), torch.zeros(fc.out_features)
        return self.calibration

    def calibrated_logits(self, activation: torch.Tensor, fc: torch.nn.Linear) -> torch.Tensor:
        """The logits whose softmax the app reports, for the inputs whose ``layer4`` activation this is, (B, C)."""
        logits = F.linear(activation.mean(dim=(2, 3)), fc.weight, fc.bias)
        return calibration.calibrated_logits(logits, *self.scale_and_bias(fc))

    def probabilities(self, activation: torch.Tensor, fc: torch.nn.Linear) -> torch.Tensor:
        """The probabilities the app reports for those inputs, (B, C)."""
        return torch.softmax(self.calibrated_logits(activation, fc), dim=-1)

    def cam_weights(self, activation: torch.Tensor, fc: torch.nn.Linear) -> torch.Tensor:
        """``activation`` (B, K, h, w) and the network's last layer ``fc`` (C outputs) -> channel weights,
        (C, K) or per image (B, C, K)."""
        raise NotImplementedError

    def cam_image(self, activation: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """The maps (B, C, h, w): the weighted sum of the activation's channels for each class, ReLU'd."""
        if weights.dim() == 2:
            # One set of weights for the whole batch: a 1x1 convolution, which every engine runs fast.
            return torch.relu(F.conv2d(activation, weights[:, :, None, None]))
        return torch.relu(torch.einsum("bck,bkhw->bchw", weights, activation))

    def __call__(self, activation: torch.Tensor, fc: torch.nn.Linear) -> torch.Tensor:
        return self.cam_image(activation, self.cam_weights(activation, fc))

    def maps(self, layer4: Callable[[torch.Tensor], torch.Tensor], batch: torch.Tensor, activation: torch.Tensor,
             fc: torch.nn.Linear) -> torch.Tensor:
        """The maps the engine returns for ``batch``, whose ``layer4`` activation is ``activation``: this method
        on it. A method that needs more of the network (other inputs through ``layer4``) overrides this."""
        return self(activation, fc)


# A method by name (the default when None), or an instance already made for a checkpoint (method_for passes it on).
Explanation = str | ExplanationMethod | None
METHODS: dict[str, type[ExplanationMethod]] = {}
# The calibrated log-odds' Grad-CAM on the 9 x 9 shift-and-average grid: more faithful by the deletion test than the
# raw logit's on the same grid, on the slices it was chosen on and on the confirmation slices (MODEL_CARD.md,
# "The heatmap"; models/alzaware-resnet50/heatmap_methods.json).
DEFAULT = "log-odds-shift-and-average"
Method = TypeVar("Method", bound=ExplanationMethod)


def register(method_class: type[Method]) -> type[Method]:
    """Make ``method_class`` (an :class:`ExplanationMethod` subclass) choosable by its ``name``; returns it, so it
    can decorate the class."""
    METHODS[method_class.name] = method_class
    return method_class


def unregister(name: str) -> None:
    METHODS.pop(name, None)


def method_for(name: Explanation = None, calibration: Mapping[str, Any] | None = None
               ) -> ExplanationMethod:
    """A fresh instance of the method ``name`` (:data:`DEFAULT` unless told otherwise) explaining the
    probabilities ``calibration`` gives; an instance is returned as it is."""
    if isinstance(name, ExplanationMethod):
        return name
    name = name or DEFAULT
    if name not in METHODS:
        raise ValueError(f"unknown explanation method {name!r}; one of: {', '.join(METHODS)}")
    return METHODS[name](calibration)
