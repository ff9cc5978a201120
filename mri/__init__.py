"""Machine learning for AlzAware: plain Python that knows nothing of requests or the ORM."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import overload

import numpy as np
from numpy.typing import ArrayLike

from mri.arrays import Array

# The checkpoint a fresh clone serves, and where training writes the next one.
SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "models" / "alzaware-resnet50.pt"

CLASSES = (
    "No Impairment",
    "Very Mild Impairment",
    "Mild Impairment",
    "Moderate Impairment",
)


def percentages(probabilities: Mapping[str, float]) -> dict[str, str]:
    """``{class name: 0..1}`` -> ``{class name: "12.34%"}`` in output order, as the API and ``analyze`` give it."""
    return {name: f"{float(probabilities.get(name, 0.0)) * 100:.2f}%" for name in CLASSES}


@overload
def any_impairment(probabilities: dict[str, float]) -> float: ...


@overload
def any_impairment(probabilities: ArrayLike) -> Array: ...


def any_impairment(probabilities: dict[str, float] | ArrayLike) -> float | Array:
    """The probability of any grade above No Impairment: of one result (``{class name: 0..1}`` -> a float), or
    of each row of an (N, C) array of probabilities in ``CLASSES``' order (-> an (N,) array)."""
    if isinstance(probabilities, dict):
        return min(max(1.0 - float(probabilities.get(CLASSES[0], 0.0)), 0.0), 1.0)
    return np.clip(1.0 - np.asarray(probabilities, dtype=np.float64)[..., 0], 0.0, 1.0)


class Graded:
    """The grade read off ``self.probabilities`` (an array in the order of ``self.classes``): one definition
    for a slice's analysis and for an upload's result."""

    classes: Sequence[str]
    probabilities: Array

    @property
    def predicted_index(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def prediction(self) -> str:
        return self.classes[self.predicted_index]

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.predicted_index])

    def class_probabilities(self) -> dict[str, float]:
        return {name: float(p) for name, p in zip(self.classes, self.probabilities)}
