"""The reading of a scan: every slice analysed in one batch, the "is this like what the model was trained on?"
check, and the upload's result.

A single image is a volume of one slice, so both take the same path. A volume's
result is the mean of its slices' calibrated probabilities, leaving out slices
the out-of-distribution detector refuses (and then marking the result); the
slice shown for it (with its overlay) is the one that agrees with that result
most closely.
"""

from dataclasses import dataclass, field

import numpy as np

from mri import Graded
from mri.inference import ood
from mri.io import errors, log_refusal

from .interpretation import interpret


@dataclass
class Reading(Graded):
    analyses: list
    grays: list
    positions: list
    verdicts: list  # per slice: ood.IN / UNSURE / OUT (left out of the result), or None without a detector
    distances: list
    status: str  # the upload's verdict ("in" or "unsure"), "" without a detector
    probabilities: np.ndarray  # the upload's result: the mean over its usable slices
    representative: int
    left_out: list = field(default_factory=list)  # a volume's band slices the checks refused (scans.LeftOut)
    interpretation: object = None  # .interpretation.Interpretation: measures, any-impairment, headline

    @property
    def analysis(self):
        return self.analyses[self.representative]

    @property
    def gray(self):
        return self.grays[self.representative]

    @property
    def distance(self):
        if not self.distances:
            return None
        return float(self.distances[self.representative])

    @property
    def classes(self):
        return self.analysis.classes

    def slices(self):
        """``(position, analysis, gray, verdict, distance)`` of every analysed slice, in band order."""
        distances = self.distances or [None] * len(self.analyses)
        return zip(self.positions, self.analyses, self.grays, self.verdicts, distances)


def analyse_slices(engine, scan):
    """Analyse every slice of ``scan``; raise ScanRejected("not_brain") when the model does not know it."""
    grays = list(scan.slices)
    analyses = engine.analyse_many(grays)
    detector = ood.detector_for(engine)
    if detector is None:
        verdicts, distances, status = [None] * len(grays), [], ""
    else:
        distances = [float(d) for d in detector.distances(np.stack([a.features for a in analyses]))]
        verdicts = [detector.verdict(d) for d in distances]
        status = ood.combine(verdicts)
        if status == ood.OUT:
            refused = errors.not_brain().because("ood_distance", min(distances), detector.refuse_above)
            log_refusal(refused)
            raise refused
    usable = [i for i, v in enumerate(verdicts) if v != ood.OUT]
    probabilities = np.mean([analyses[i].probabilities for i in usable], axis=0)
    reading = Reading(
        analyses=analyses, grays=grays, positions=list(scan.positions) or [0] * len(grays),
        verdicts=verdicts, distances=distances, status=status, probabilities=probabilities,
        representative=most_representative(analyses, probabilities, usable), left_out=list(scan.left_out),
    )
    # Measured on the slices the result counts, as the result itself is.
    reading.interpretation = interpret(engine.checkpoint, reading.class_probabilities(),
                                       [grays[i] for i in usable], [reading.positions[i] for i in usable])
    return reading


def most_representative(analyses, probabilities, usable):
    """The usable slice that predicts the volume's class with probabilities closest to the volume's."""
    predicted = int(np.argmax(probabilities))
    candidates = [i for i in usable if analyses[i].predicted_index == predicted] or usable
    return min(candidates, key=lambda i: float(np.abs(analyses[i].probabilities - probabilities).sum()))
