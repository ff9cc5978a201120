"""Is this input like the slices the model was trained on?

The model's pooled ``layer4`` features (the 2048 numbers its last layer reads)
of the training slices form a cloud; a brain MRI slice like those lands inside
it, a photograph, a CT or an upside-down scan outside. Each feature vector is
first scaled to unit length: its direction says what the network sees, its
length mostly how bright and contrasted the picture is (which the app's own
preprocessing already evens out). The cloud is then modelled as probabilistic
PCA: its ``k`` main directions with their own variances, plus one shared
variance for everything else, and the distance is the Mahalanobis distance
under that model. 2048 dimensions from a few thousand slices make a full
covariance singular; measured on the training data, the main directions with a
residual term also told rotated, inverted and cropped slices from real ones
far better (95% against 41% refused on the corpus, partly trained model) than
a shrinkage covariance of the raw features.

Two thresholds, read off the distances of held-out validation slices:

* above ``refuse_above``: refused as "not a brain MRI slice". At least 99% of
  validation slices pass it, at least 99% of the same slices as another
  scanner might give them (blurred, re-contrasted, noisier, tilted a little:
  ``ood_fitting.acquisition_variant``) and, where given, 99% of real brains
  from other pipelines (``tests/fixtures/real_variety.py``), so a real slice from
  elsewhere is analysed and marked rather than turned away: refusing a real
  brain is a worse error than analysing an unusual one;
* between ``unsure_above`` and ``refuse_above``: analysed, but the result is
  marked "outside what the model was trained on" (the farthest 1.5% of
  validation slices and beyond).

Stored in the checkpoint under ``ood`` as plain tensors and numbers, so it
loads with ``torch.load(weights_only=True)`` like the rest.
"""

import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from numpy.typing import ArrayLike

from mri.arrays import Array

if TYPE_CHECKING:
    from mri.inference.engine import Engine

IN, UNSURE, OUT = "in", "unsure", "out"
FORMAT = "ppca-unit-features/1"
COMPONENTS = 512
# The share of validation slices that must pass (analysed, marked or not), and
# the share analysed without a mark.
PASS_RATE = 0.99
# Measured cross-fitted by person on the final model's 31 never-trained-on people (training.ood_marks), 0.975
# marked 3.8% of their ordinary slices (95% interval 1.0-7.4%: over the 5% allowed); 0.985 is the loosest whose
# interval stays under 5% (2.1%, 0.4-4.4%).
CLEAN_RATE = 0.985
VARIANT_PASS_RATE = 0.99
# Of real brains from other pipelines (tests/fixtures/real_variety.py): the bench is one template under many
# changes, so 99% of it still refused a quarter of one kind at 1 mm (other contrasts; 98.7% of the 1 mm
# bench analysed); with 99.5% of both resolutions, 99.4% of the 1 mm bench is, and that kind 89%.
REAL_PASS_RATE = 0.995

# What the API and ``manage.py analyze`` say of a result the detector is unsure about.
OUTSIDE_TRAINING = ("This scan lies outside what the model was trained on, so this result is even less "
                    "reliable than usual.")


def transform(features: ArrayLike) -> Array:
    """Unit-length feature vectors (see the module docstring)."""
    x = np.clip(np.atleast_2d(np.asarray(features, dtype=np.float64)), 0, None)
    return np.asarray(x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12))


@dataclass
class OodDetector:
    mean: Array  # (D,)
    components: Array  # (k, D) orthonormal main directions
    variances: Array  # (k,) variance along each
    residual_variance: float  # per dimension, off the main directions
    unsure_above: float
    refuse_above: float
    info: dict[str, Any] = field(default_factory=dict)

    def distances(self, features: ArrayLike) -> Array:
        z = transform(features) - self.mean
        projected = z @ self.components.T
        residual = z - projected @ self.components
        squared = (projected ** 2 / self.variances).sum(axis=1) + (residual ** 2).sum(axis=1) / self.residual_variance
        return np.asarray(np.sqrt(squared))

    def verdict(self, distance: float) -> str:
        if distance > self.refuse_above:
            return OUT
        if distance > self.unsure_above:
            return UNSURE
        return IN

    def verdicts(self, features: ArrayLike) -> list[str]:
        return [self.verdict(d) for d in self.distances(features)]

    def to_checkpoint(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "mean": torch.from_numpy(self.mean.astype(np.float32)),
            # float16 makes it a 2 MB addition; distances move by well under 0.1%.
            "components": torch.from_numpy(self.components.astype(np.float16)),
            "variances": torch.from_numpy(self.variances.astype(np.float32)),
            "residual_variance": float(self.residual_variance),
            "unsure_above": float(self.unsure_above),
            "refuse_above": float(self.refuse_above),
            "info": dict(self.info),
        }

    @classmethod
    def from_checkpoint(cls, stored: Mapping[str, Any] | None) -> "OodDetector | None":
        if not stored or stored.get("format") != FORMAT:
            return None
        return cls(
            mean=stored["mean"].float().numpy().astype(np.float64),
            components=stored["components"].float().numpy().astype(np.float64),
            variances=stored["variances"].float().numpy().astype(np.float64),
            residual_variance=float(stored["residual_variance"]),
            unsure_above=float(stored["unsure_above"]),
            refuse_above=float(stored["refuse_above"]),
            info=dict(stored.get("info") or {}),
        )


def fit(train_features: ArrayLike, validation_features: ArrayLike, variant_features: Array | None = None,
        pass_rate: float = PASS_RATE, clean_rate: float = CLEAN_RATE, variant_pass_rate: float = VARIANT_PASS_RATE,
        components: int = COMPONENTS, real_features: Array | None = None,
        real_pass_rate: float = REAL_PASS_RATE) -> OodDetector:
    """Fit on training slices' features, set both thresholds from the validation slices' (their variants' and
    other real brains' too)."""
    x = transform(train_features)
    n, dims = x.shape
    k = max(1, min(components, n // 2, dims - 1))
    mean = x.mean(axis=0)
    _, singular, directions = np.linalg.svd(x - mean, full_matrices=False)
    variances = singular ** 2 / max(n - 1, 1)
    # Whatever the main directions leave, spread over the remaining dimensions.
    residual = float(variances[k:].sum()) / (dims - k)
    detector = OodDetector(mean=mean, components=directions[:k], variances=np.maximum(variances[:k], residual),
                           residual_variance=max(residual, 1e-12), unsure_above=np.inf, refuse_above=np.inf)
    # Rounded the way the checkpoint stores it, so the thresholds match what the app computes.
    rounded = OodDetector.from_checkpoint(detector.to_checkpoint())
    assert rounded is not None  # its own format always reads back
    detector = rounded
    validation = detector.distances(validation_features)
    train = detector.distances(train_features)
    # "higher": a real validation distance, so at least ``pass_rate`` of them pass even when there are few.
    detector.refuse_above = float(np.quantile(validation, pass_rate, method="higher"))
    detector.unsure_above = float(np.quantile(validation, clean_rate, method="higher"))
    variants = real = None
    if variant_features is not None and len(variant_features):
        variants = detector.distances(variant_features)
        detector.refuse_above = max(detector.refuse_above,
                                    float(np.quantile(variants, variant_pass_rate, method="higher")))
    if real_features is not None and len(real_features):
        real = detector.distances(real_features)
        detector.refuse_above = max(detector.refuse_above, float(np.quantile(real, real_pass_rate, method="higher")))
    detector.info = {
        "components": int(k),
        "training_slices": int(n),
        "validation_slices": int(len(validation)),
        "pass_rate_target": float(pass_rate),
        "validation_pass_rate": float(np.mean(validation <= detector.refuse_above)),
        "validation_clean_rate": float(np.mean(validation <= detector.unsure_above)),
        "training_median_distance": float(np.median(train)),
        "validation_median_distance": float(np.median(validation)),
    }
    if variants is not None:
        detector.info.update({
            "validation_variants": int(len(variants)),
            "validation_variant_pass_rate": float(np.mean(variants <= detector.refuse_above)),
        })
    if real is not None:
        detector.info.update({"real_variety_slices": int(len(real)),
                              "real_variety_pass_rate": float(np.mean(real <= detector.refuse_above)),
                              "real_variety_clean_rate": float(np.mean(real <= detector.unsure_above))})
    return detector


_detectors: "weakref.WeakKeyDictionary[Engine, OodDetector | None]" = weakref.WeakKeyDictionary()


def detector_for(engine: "Engine") -> OodDetector | None:
    """The checkpoint's detector for a loaded engine (None if it has none), built once."""
    try:
        return _detectors[engine]
    except KeyError:
        detector = OodDetector.from_checkpoint(engine.checkpoint.get("ood"))
        _detectors[engine] = detector
        return detector


def combine(verdicts: Iterable[str]) -> str:
    """An upload's verdict from its slices': refused only when no slice is usable; marked unless all are clean.

    A volume's band may reach slices the model never saw the like of (its
    training slices come from the middle of the brain); those are left out of
    its result rather than refusing a real brain volume, and the result says so.
    """
    listed = list(verdicts)
    if not listed:
        return IN
    if all(v == OUT for v in listed):
        return OUT
    return IN if all(v == IN for v in listed) else UNSURE
