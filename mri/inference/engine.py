"""Prediction and Grad-CAM for every class in one forward pass.

For torchvision's ResNet50 the head after ``layer4`` is a global average pool
and one linear layer, so the gradient of class ``c``'s logit with respect to the
``layer4`` activation ``A`` (K x H x W) is ``W[c, k] / (H * W)`` at every
position. Grad-CAM's channel weights (the spatial mean of that gradient) are
therefore ``W[c] / (H * W)`` exactly, and the map of class ``c`` is
``ReLU(sum_k W[c, k] A_k) / (H * W)``. No backward pass, no hooks and no state
on the shared model: each call works only on its own tensors, so any number of
threads can share one :class:`Engine`.

How the forward pass runs (eager PyTorch, ONNX Runtime, ...) is the engine's
``backend`` (:mod:`.engines`), chosen once at load by :mod:`.engine_choice`;
every backend gives the same three outputs.
"""

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torchvision.models import ResNet

from mri import Graded
from mri.arrays import Array, Gray, Mask
from mri.explain import ExplanationMethod, method_for
from mri.inference import calibration, engine_choice
from mri.inference.checkpoint import Checkpoint, PathLike, expected_sha256, load_checkpoint
from mri.inference.engines import Backend, ClosedForm, Eager, Outputs
from mri.inference.preprocess import Geometry, map_region, preprocess, to_square

if TYPE_CHECKING:
    from mri.explain.faithfulness import Faithfulness


@dataclass
class Analysis(Graded):
    """What one image gives: calibrated probabilities and raw Grad-CAM maps of all classes."""

    classes: tuple[str, ...]
    probabilities: Array  # (C,), with the checkpoint's calibration
    maps: Array  # (C, h, w) Grad-CAM over the layer4 grid, un-normalised
    features: Array | None = field(repr=False, default=None)  # (2048,) pooled layer4
    geometry: Geometry | None = None
    image_shape: tuple[int, ...] = ()
    tensor: torch.Tensor | None = field(repr=False, default=None)  # (3,S,S) the network's input
    # Where a map may lie (the brain and its surface, preprocess.map_region) on the image and on the network's
    # input: the overlay is drawn there and the deletion test takes its hottest region there.
    brain: Mask | None = field(repr=False, default=None)  # (H, W) bool
    input_brain: Mask | None = field(repr=False, default=None)  # (S, S) bool


def _side(geometry: Geometry | None) -> int | None:
    return geometry.side if geometry is not None else None


class Engine:
    """A loaded checkpoint, ready to analyse slices from any thread."""

    def __init__(self, model: ResNet, checkpoint: Checkpoint, backend: Backend | None = None) -> None:
        self.model = model
        self.checkpoint = checkpoint
        self.classes = tuple(checkpoint["classes"])
        self.input_size = int(checkpoint["input_size"])
        self.spec = dict(checkpoint.get("preprocessing") or {})
        self.mean = checkpoint.get("mean", (0, 0, 0))
        self.std = checkpoint.get("std", (1, 1, 1))
        self.calibration = calibration.from_checkpoint(checkpoint)
        # Eager float32 unless told otherwise: the reference every other backend is gated against.
        self.backend: Backend = backend or Eager(model, explanation=method_for(None, self.calibration))
        self.backend_reason = "default"
        self.temperature = float(checkpoint.get("temperature", 1.0))
        self._scale = torch.tensor(self.calibration["scale"], dtype=torch.float32)
        self._bias = torch.tensor(self.calibration["bias"], dtype=torch.float32)
        self.metadata = dict(checkpoint.get("metadata") or {})
        self.fc_weight = model.fc.weight.detach()
        self.fc_bias = model.fc.bias.detach()
        self.sha256 = ""

    @property
    def trained(self) -> bool:
        return bool(self.metadata.get("trained", False))

    def layer4(self, batch: torch.Tensor) -> torch.Tensor:
        """The ``layer4`` activation in eager float32, for checks against the closed form."""
        with torch.inference_mode():
            return ClosedForm(self.model).layer4(batch)

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def run(self, batch: torch.Tensor) -> Outputs:
        """``batch`` (B,3,S,S) -> logits (B,C), Grad-CAM maps (B,C,h,w), pooled features (B,K)."""
        return self.backend.run(batch)

    def calibrated(self, logits: torch.Tensor) -> torch.Tensor:
        return calibration.softmax(logits, self._scale, self._bias)

    def probabilities(self, batch: torch.Tensor) -> torch.Tensor:
        """Calibrated probabilities only, for perturbed inputs: the plain network in float32, without the maps
        that every backend's pass draws (nine runs of ``layer4`` a slice with the shift methods), which the
        faithfulness score never reads."""
        with torch.inference_mode():
            return self.calibrated(self.model(batch))

    def faithfulness(self, analysis: Analysis, **options: Any) -> "Faithfulness | None":
        """The deletion-test score of ``analysis``'s predicted-class map (see :mod:`.faithfulness`)."""
        from mri.explain.faithfulness import faithfulness

        index = analysis.predicted_index
        if analysis.tensor is None:
            raise ValueError("this analysis kept no network input to perturb")
        options.setdefault("inside", analysis.input_brain)
        return faithfulness(self.probabilities, analysis.tensor, analysis.maps[index], index,
                            analysis.probabilities[index], **options)

    def input_brain(self, gray: Gray) -> Mask:
        """Where a map may lie on the network's input square (the same crop and resize as :meth:`prepare`)."""
        return map_region(to_square(gray, self.input_size, self.spec)[0], self.input_size)

    def prepare(self, gray: Gray) -> tuple[torch.Tensor, Geometry | None]:
        return preprocess(gray, self.input_size, self.spec, self.mean, self.std)

    def analyse_many(self, grays: Sequence[Gray]) -> list[Analysis]:
        """Analyse several rendered slices (2-D uint8 arrays) in one batch."""
        prepared = [self.prepare(g) for g in grays]
        batch = torch.stack([tensor for tensor, _ in prepared])
        logits, maps, features = self.run(batch)
        probabilities = self.calibrated(logits)
        return [
            Analysis(
                classes=self.classes,
                probabilities=probabilities[i].numpy().astype(np.float64),
                maps=maps[i].numpy(),
                features=features[i].numpy(),
                geometry=prepared[i][1],
                image_shape=tuple(np.asarray(grays[i]).shape),
                tensor=prepared[i][0],
                brain=map_region(grays[i], _side(prepared[i][1])),
                input_brain=self.input_brain(grays[i]),
            )
            for i in range(len(grays))
        ]

    def analyse(self, gray: Gray) -> Analysis:
        return self.analyse_many([gray])[0]


log = logging.getLogger(__name__)


def explanation_for(checkpoint: Checkpoint, name: str | None = None) -> ExplanationMethod:
    """The explanation method ``name`` (the app's default when None) for ``checkpoint``: it knows the
    checkpoint's calibration, so a method that explains the reported probabilities explains these."""
    return method_for(name, calibration.from_checkpoint(checkpoint))


_loaded: dict[str, Engine] = {}
_loading = threading.Lock()


def served_engine(path: PathLike) -> Engine:
    """The checkpoint at ``path`` with the engine this process should serve it by (logged: operators see which)."""
    model, checkpoint = load_checkpoint(path)
    sha256 = expected_sha256(path)
    backend, reason = engine_choice.choose(model, path, sha256, int(checkpoint["input_size"]),
                                           explanation=explanation_for(checkpoint))
    engine = Engine(model, checkpoint, backend)
    engine.sha256, engine.backend_reason = sha256, reason
    log.info("Model %s (%s) served by the %s engine: %s", Path(path).name, sha256[:12], backend.name, reason)
    return engine


def get_engine(path: PathLike) -> Engine:
    """The process-wide :class:`Engine` for ``path``, loaded (and hash-checked) once."""
    key = str(path)
    engine = _loaded.get(key)
    if engine is None:
        with _loading:
            engine = _loaded.get(key)
            if engine is None:
                engine = served_engine(path)
                _loaded[key] = engine
    return engine
