"""Is this input like the slices the model was trained on?

The model's pooled ``layer4`` features (the 2048 numbers its last layer reads)
of the training slices form a cloud; a brain MRI slice like those lands inside
it, a photograph, a CT or an upside-down scan far outside. The distance is the
Mahalanobis distance to the training cloud, with a Ledoit-Wolf shrinkage
covariance: 2048 dimensions from a few thousand slices would give a singular
covariance, and shrinkage keeps every direction's variance honest.

Two thresholds, both read off the distances of held-out validation slices so
that at least 99% of real slices pass:

* above ``refuse_above``: refused as "not a brain MRI slice";
* between ``unsure_above`` and ``refuse_above``: analysed, but the result is
  marked "outside what the model was trained on".

Stored in the checkpoint under ``ood`` as plain tensors and numbers, so it
loads with ``torch.load(weights_only=True)`` like the rest.
"""

import weakref
from dataclasses import dataclass, field

import numpy as np
import torch

IN, UNSURE, OUT = "in", "unsure", "out"
FORMAT = "mahalanobis-ledoit-wolf/1"
# The share of validation slices that must pass (analysed, marked or not), and
# the share analysed without a mark.
PASS_RATE = 0.995
CLEAN_RATE = 0.98


def transform(features):
    """Square roots tame the long right tail of the ReLU'd, averaged activations."""
    return np.sqrt(np.clip(np.asarray(features, dtype=np.float64), 0, None))


@dataclass
class OodDetector:
    mean: np.ndarray  # (K,)
    whitening: np.ndarray  # (K, K): ||(x - mean) @ whitening|| is the Mahalanobis distance
    unsure_above: float
    refuse_above: float
    info: dict = field(default_factory=dict)

    def distances(self, features):
        x = transform(np.atleast_2d(features)) - self.mean
        return np.linalg.norm(x @ self.whitening, axis=1)

    def verdict(self, distance):
        if distance > self.refuse_above:
            return OUT
        if distance > self.unsure_above:
            return UNSURE
        return IN

    def verdicts(self, features):
        return [self.verdict(d) for d in self.distances(features)]

    def to_checkpoint(self):
        return {
            "format": FORMAT,
            "mean": torch.from_numpy(self.mean.astype(np.float32)),
            # float16 halves the file; distances move by well under 0.1%.
            "whitening": torch.from_numpy(self.whitening.astype(np.float16)),
            "unsure_above": float(self.unsure_above),
            "refuse_above": float(self.refuse_above),
            "info": dict(self.info),
        }

    @classmethod
    def from_checkpoint(cls, stored):
        if not stored or stored.get("format") != FORMAT:
            return None
        return cls(
            mean=stored["mean"].float().numpy().astype(np.float64),
            whitening=stored["whitening"].float().numpy(),
            unsure_above=float(stored["unsure_above"]),
            refuse_above=float(stored["refuse_above"]),
            info=dict(stored.get("info") or {}),
        )


def fit(train_features, validation_features, pass_rate=PASS_RATE, clean_rate=CLEAN_RATE):
    """Fit on training slices' features, set both thresholds from the validation slices'."""
    from sklearn.covariance import LedoitWolf

    x = transform(train_features)
    estimate = LedoitWolf().fit(x)
    eigenvalues, eigenvectors = np.linalg.eigh(estimate.covariance_)
    eigenvalues = np.clip(eigenvalues, eigenvalues.max() * 1e-9, None)
    whitening = (eigenvectors / np.sqrt(eigenvalues)).astype(np.float32)
    detector = OodDetector(mean=estimate.location_, whitening=whitening, unsure_above=np.inf, refuse_above=np.inf)
    # Rounded the way the checkpoint stores it, so the thresholds match what the app computes.
    detector = OodDetector.from_checkpoint(detector.to_checkpoint())
    validation = detector.distances(validation_features)
    train = detector.distances(train_features)
    # "higher": a real validation distance, so at least ``pass_rate`` of them pass even when there are few.
    detector.refuse_above = float(np.quantile(validation, pass_rate, method="higher"))
    detector.unsure_above = float(np.quantile(validation, clean_rate, method="higher"))
    detector.info = {
        "shrinkage": float(estimate.shrinkage_),
        "training_slices": int(len(x)),
        "validation_slices": int(len(validation)),
        "pass_rate_target": float(pass_rate),
        "validation_pass_rate": float(np.mean(validation <= detector.refuse_above)),
        "validation_clean_rate": float(np.mean(validation <= detector.unsure_above)),
        "training_median_distance": float(np.median(train)),
        "validation_median_distance": float(np.median(validation)),
    }
    return detector


_detectors = weakref.WeakKeyDictionary()


def detector_for(analyzer):
    """The checkpoint's detector for a loaded analyzer (None if it has none), built once."""
    try:
        return _detectors[analyzer]
    except KeyError:
        detector = OodDetector.from_checkpoint(analyzer.checkpoint.get("ood"))
        _detectors[analyzer] = detector
        return detector


def combine(verdicts):
    """A volume's verdict from its slices': refused if most slices are, marked if any is doubtful."""
    verdicts = list(verdicts)
    if not verdicts:
        return IN
    if sum(v == OUT for v in verdicts) * 2 > len(verdicts):
        return OUT
    return IN if all(v == IN for v in verdicts) else UNSURE
