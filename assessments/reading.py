"""From a read scan to the result that is stored: every slice analysed in one batch, the
"is this like what the model was trained on?" check, and a volume's result.

A single image is a volume of one slice, so both take the same path. A volume's
result is the mean of its slices' calibrated probabilities, leaving out slices
the out-of-distribution detector refuses (and then marking the result); the
slice shown for it (with its overlay) is the one that agrees with that result
most closely.
"""

import logging
from dataclasses import dataclass, field

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from .ml import ood
from .ml.overlay import png_bytes
from .models import AssessmentSlice, LeftOut, random_name
from .scans import errors, log_refusal

logger = logging.getLogger(__name__)


@dataclass
class Reading:
    analyses: list
    grays: list
    positions: list
    verdicts: list  # per slice: ood.IN / UNSURE / OUT (left out of the result), or None without a detector
    distances: list
    status: str  # the upload's verdict ("in" or "unsure"), "" without a detector
    probabilities: np.ndarray  # the upload's result: the mean over its usable slices
    representative: int
    left_out: list = field(default_factory=list)  # a volume's band slices the checks refused (scans.LeftOut)

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

    @property
    def prediction(self):
        return self.classes[int(np.argmax(self.probabilities))]

    @property
    def confidence(self):
        return float(np.max(self.probabilities))

    def class_probabilities(self):
        return {name: float(p) for name, p in zip(self.classes, self.probabilities)}


def read_slices(engine, scan):
    """Analyse every slice of ``scan``; raise ScanRejected("not_brain") when the model does not know it."""
    grays = list(scan.slices)
    analyses = engine.analyze_many(grays)
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
    return Reading(
        analyses=analyses, grays=grays, positions=list(scan.positions) or [0] * len(grays),
        verdicts=verdicts, distances=distances, status=status, probabilities=probabilities,
        representative=most_representative(analyses, probabilities, usable), left_out=list(scan.left_out),
    )


def most_representative(analyses, probabilities, usable):
    """The usable slice that predicts the volume's class with probabilities closest to the volume's."""
    predicted = int(np.argmax(probabilities))
    candidates = [i for i in usable if analyses[i].predicted_index == predicted] or usable
    return min(candidates, key=lambda i: float(np.abs(analyses[i].probabilities - probabilities).sum()))


def save_slices(assessment, reading, render_overlay, saved):
    """Per-slice rows of a volume (nothing for a single image): every slice of its band, analysed or left out
    with the reason. Stored names go into ``saved`` for cleanup."""
    if not assessment.is_volume:
        return []
    rows = []
    for i, (analysis, gray) in enumerate(zip(reading.analyses, reading.grays)):
        if i == reading.representative:
            scan_name, overlay_name = assessment.scan.name, assessment.overlay.name if assessment.overlay else ""
        else:
            scan_name = default_storage.save(random_name("scans", ".png"), ContentFile(png_bytes(gray)))
            saved.append(scan_name)
            try:
                overlay_png = render_overlay(gray, analysis)
            except Exception:
                logger.exception("Heatmap failed for slice %s of assessment %s", reading.positions[i], assessment.pk)
                overlay_name = ""
            else:
                overlay_name = default_storage.save(random_name("heatmaps", ".png"), ContentFile(overlay_png))
                saved.append(overlay_name)
        rows.append(AssessmentSlice(
            assessment=assessment,
            position=reading.positions[i],
            scan=scan_name,
            overlay=overlay_name,
            prediction=analysis.prediction,
            confidence=analysis.confidence,
            probabilities=analysis.class_probabilities(),
            ood_status=reading.verdicts[i] or "",
            ood_distance=reading.distances[i] if reading.distances else None,
            representative=i == reading.representative,
            left_out=LeftOut.OUTSIDE_TRAINING if reading.verdicts[i] == ood.OUT else "",
        ))
    for one in reading.left_out:
        # Not analysed: only the slice itself, so that the page can show what was left out.
        scan_name = default_storage.save(random_name("scans", ".png"), ContentFile(png_bytes(one.gray)))
        saved.append(scan_name)
        rows.append(AssessmentSlice(assessment=assessment, position=one.position, scan=scan_name,
                                    left_out=one.check))
    return AssessmentSlice.objects.bulk_create(sorted(rows, key=lambda row: row.position))
