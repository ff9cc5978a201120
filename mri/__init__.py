"""Machine learning for AlzAware: plain Python that knows nothing of requests or the ORM."""

from pathlib import Path

import numpy as np

# The checkpoint a fresh clone serves, and where training writes the next one.
SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "models" / "alzaware-resnet50.pt"

CLASSES = (
    "No Impairment",
    "Very Mild Impairment",
    "Mild Impairment",
    "Moderate Impairment",
)


def percentages(probabilities):
    """``{class name: 0..1}`` -> ``{class name: "12.34%"}`` in output order, as the API and ``analyze`` give it."""
    return {name: f"{float(probabilities.get(name, 0.0)) * 100:.2f}%" for name in CLASSES}


def any_impairment(probabilities):
    """``{class name: 0..1}`` -> the probability of any grade above No Impairment."""
    return min(max(1.0 - float(probabilities.get(CLASSES[0], 0.0)), 0.0), 1.0)


class Graded:
    """The grade read off ``self.probabilities`` (an array in the order of ``self.classes``): one definition
    for a slice's analysis and for an upload's result."""

    @property
    def predicted_index(self):
        return int(np.argmax(self.probabilities))

    @property
    def prediction(self):
        return self.classes[self.predicted_index]

    @property
    def confidence(self):
        return float(self.probabilities[self.predicted_index])

    def class_probabilities(self):
        return {name: float(p) for name, p in zip(self.classes, self.probabilities)}
