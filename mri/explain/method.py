"""What an explanation method is: pytorch-grad-cam's ``BaseCAM`` shape, in closed form for our network.

The network ends in a global average pool and one linear layer (``fc``) over ``layer4``'s activation ``A``
(K channels of h x w), so a class activation map needs no backward pass: each method turns ``fc``'s weights
(and, if it likes, the activation) into channel weights (:meth:`ExplanationMethod.cam_weights`), and the map
is their weighted sum of the activation (:meth:`ExplanationMethod.cam_image`, ReLU'd). A method runs inside
every engine's forward pass (``mri.inference.engines.ClosedForm``), so it must be plain tensor code that
tracing and ONNX export can follow.

A new method is one file: a subclass that overrides ``cam_weights`` (or ``cam_image``), registered with
:func:`register`. Grad-CAM's is :mod:`.grad_cam`.
"""

from collections.abc import Callable
from typing import ClassVar, TypeVar

import torch
import torch.nn.functional as F


class ExplanationMethod:
    name: ClassVar[str] = ""

    def cam_weights(self, activation: torch.Tensor, fc_weight: torch.Tensor) -> torch.Tensor:
        """``activation`` (B, K, h, w) and ``fc_weight`` (C, K) -> channel weights, (C, K) or per image (B, C, K)."""
        raise NotImplementedError

    def cam_image(self, activation: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """The maps (B, C, h, w): the weighted sum of the activation's channels for each class, ReLU'd."""
        if weights.dim() == 2:
            # One set of weights for the whole batch: a 1x1 convolution, which every engine runs fast.
            return torch.relu(F.conv2d(activation, weights[:, :, None, None]))
        return torch.relu(torch.einsum("bck,bkhw->bchw", weights, activation))

    def __call__(self, activation: torch.Tensor, fc_weight: torch.Tensor) -> torch.Tensor:
        return self.cam_image(activation, self.cam_weights(activation, fc_weight))

    def maps(self, layer4: Callable[[torch.Tensor], torch.Tensor], batch: torch.Tensor, activation: torch.Tensor,
             fc_weight: torch.Tensor) -> torch.Tensor:
        """The maps the engine returns for ``batch``, whose ``layer4`` activation is ``activation``: this method
        on it. A method that needs more of the network (other inputs through ``layer4``) overrides this."""
        return self(activation, fc_weight)


METHODS: dict[str, type[ExplanationMethod]] = {}
# Shift-and-average: a 9 x 9 map at the served 80 px, finer and more faithful than the 3 x 3 Grad-CAM on the
# confirmation slices (MODEL_CARD.md, "The heatmap"; models/alzaware-resnet50/heatmap_methods.json).
DEFAULT = "shift-and-average"
Method = TypeVar("Method", bound=ExplanationMethod)


def register(method_class: type[Method]) -> type[Method]:
    """Make ``method_class`` (an :class:`ExplanationMethod` subclass) choosable by its ``name``; returns it, so it
    can decorate the class."""
    METHODS[method_class.name] = method_class
    return method_class


def unregister(name: str) -> None:
    METHODS.pop(name, None)


def method_for(name: str | None = None) -> ExplanationMethod:
    """A fresh instance of the method ``name`` (:data:`DEFAULT` unless told otherwise)."""
    name = name or DEFAULT
    if name not in METHODS:
        raise ValueError(f"unknown explanation method {name!r}; one of: {', '.join(METHODS)}")
    return METHODS[name]()
