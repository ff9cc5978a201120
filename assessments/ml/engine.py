"""Prediction and Grad-CAM for every class in one forward pass.

For torchvision's ResNet50 the head after ``layer4`` is a global average pool
and one linear layer, so the gradient of class ``c``'s logit with respect to the
``layer4`` activation ``A`` (K x H x W) is ``W[c, k] / (H * W)`` at every
position. Grad-CAM's channel weights (the spatial mean of that gradient) are
therefore ``W[c] / (H * W)`` exactly, and the map of class ``c`` is
``ReLU(sum_k W[c, k] A_k) / (H * W)``. No backward pass, no hooks and no state
on the shared model: each call works only on its own tensors, so any number of
threads can share one :class:`Engine`.
"""

import threading
from dataclasses import dataclass, field

import numpy as np
import torch

from . import Graded, calibration
from .checkpoint import expected_sha256, load_checkpoint
from .preprocess import Geometry, preprocess


@dataclass
class Analysis(Graded):
    """What one image gives: calibrated probabilities and raw Grad-CAM maps of all classes."""

    classes: tuple
    probabilities: np.ndarray  # (C,), with the checkpoint's calibration
    maps: np.ndarray  # (C, h, w) Grad-CAM over the layer4 grid, un-normalised
    features: np.ndarray = field(repr=False, default=None)  # (2048,) pooled layer4
    geometry: Geometry | None = None
    image_shape: tuple = ()
    tensor: torch.Tensor | None = field(repr=False, default=None)  # (3,S,S) the network's input


class Engine:
    """A loaded checkpoint, ready to analyse slices from any thread."""

    def __init__(self, model, checkpoint):
        # channels_last: oneDNN's convolutions run about 15% faster on this layout on the CPU (measured
        # with bench_explain's input); the weights are converted once, in place, here.
        self.model = model.to(memory_format=torch.channels_last)
        self.checkpoint = checkpoint
        self.classes = tuple(checkpoint["classes"])
        self.input_size = int(checkpoint["input_size"])
        self.spec = dict(checkpoint.get("preprocessing") or {})
        self.mean = checkpoint.get("mean", (0, 0, 0))
        self.std = checkpoint.get("std", (1, 1, 1))
        self.calibration = calibration.from_checkpoint(checkpoint)
        self.temperature = float(checkpoint.get("temperature", 1.0))
        self._scale = torch.tensor(self.calibration["scale"], dtype=torch.float32)
        self._bias = torch.tensor(self.calibration["bias"], dtype=torch.float32)
        self.metadata = dict(checkpoint.get("metadata") or {})
        self.fc_weight = model.fc.weight.detach()
        self.fc_bias = model.fc.bias.detach()
        self.sha256 = ""

    @property
    def trained(self):
        return bool(self.metadata.get("trained", False))

    def layer4(self, batch):
        m = self.model
        x = m.maxpool(m.relu(m.bn1(m.conv1(batch))))
        return m.layer4(m.layer3(m.layer2(m.layer1(x))))

    def run(self, batch):
        """``batch`` (B,3,S,S) -> logits (B,C), Grad-CAM maps (B,C,h,w), pooled features (B,K)."""
        with torch.inference_mode():
            activation = self.layer4(batch.contiguous(memory_format=torch.channels_last))
            features = activation.mean(dim=(2, 3))
            logits = features @ self.fc_weight.T + self.fc_bias
            h, w = activation.shape[-2:]
            maps = torch.relu(torch.einsum("ck,bkhw->bchw", self.fc_weight, activation)) / (h * w)
        return logits, maps, features

    def calibrated(self, logits):
        return torch.softmax(logits * self._scale + self._bias, dim=-1)

    def probabilities(self, batch):
        """Calibrated probabilities only, for perturbed inputs (no maps needed)."""
        with torch.inference_mode():
            return self.calibrated(self.model(batch.contiguous(memory_format=torch.channels_last)))

    def faithfulness(self, analysis, **options):
        """The deletion-test score of ``analysis``'s predicted-class map (see :mod:`.faithfulness`)."""
        from .faithfulness import faithfulness

        index = analysis.predicted_index
        return faithfulness(self.probabilities, analysis.tensor, analysis.maps[index], index,
                            analysis.probabilities[index], **options)

    def prepare(self, gray):
        return preprocess(gray, self.input_size, self.spec, self.mean, self.std)

    def analyze_many(self, grays):
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
            )
            for i in range(len(grays))
        ]

    def analyze(self, gray):
        return self.analyze_many([gray])[0]


_loaded = {}
_loading = threading.Lock()


def get_engine(path):
    """The process-wide :class:`Engine` for ``path``, loaded (and hash-checked) once."""
    key = str(path)
    engine = _loaded.get(key)
    if engine is None:
        with _loading:
            engine = _loaded.get(key)
            if engine is None:
                engine = Engine(*load_checkpoint(path))
                engine.sha256 = expected_sha256(path)
                _loaded[key] = engine
    return engine
