"""An upload becomes a stored assessment: read, analysed, its images drawn and stored, its rows saved.

All or nothing: a refused file stores nothing, and a failure part-way removes
every file the upload had stored (see :class:`UploadFiles`). A failing heatmap is
the one exception: it is logged and the assessment is kept without it, because
the prediction is still worth having. The heatmap's faithfulness score, a volume's
slice images and 3-D heatmap, and the doctors' e-mails are not waited for: they are queued
(:mod:`.tasks`, :mod:`.notifications`) with the rows, so the page shows the grade at once.
"""

import logging

from django.conf import settings
from django.db import transaction

from mri.explain import explanations, regions
from mri.explain.overlay import valid_colour_map
from mri.inference import ood
from mri.io import read_scan

from .models import Assessment, AssessmentSlice, FaithfulnessCheck, LeftOut, ScanSeries
from .notifications import notify_new_result
from .reading import analyse_slices
from .scan_dates import scan_date_of
from .services import current_engine
from .tasks import draw_volume_heatmap, score_faithfulness
from .upload_files import HEATMAPS, PENDING, UploadFiles
from .volumes import band_npz

logger = logging.getLogger(__name__)


def assess_upload(patient, data, entered_date=None):
    """Analyse an uploaded file (bytes, or a list of bytes for several files) and store the assessment; raises
    ScanRejected, storing nothing, for bad input. ``entered_date``: the patient's answer to "when was this scan
    taken?", used when the file does not say (:mod:`.scan_dates`)."""
    scan = read_scan(data, settings.MAX_UPLOAD_BYTES)
    scan_date, scan_date_source = scan_date_of(scan, entered_date)
    engine = current_engine()
    # All slices in one batch; refuses (not_brain) what the model was not trained on.
    reading = analyse_slices(engine, scan)
    colour_map = valid_colour_map(patient.colour_map)
    with UploadFiles() as files, transaction.atomic():
        overlay, maps = store_heatmap(files, reading.gray, reading.analysis, colour_map)
        assessment = Assessment.objects.create(
            patient=patient,
            scan=files.save_scan(reading.gray),
            overlay=overlay,
            maps=maps,
            overlay_colour_map=colour_map,
            faithfulness_check=FaithfulnessCheck.PENDING if overlay else FaithfulnessCheck.NOT_MADE,
            prediction=reading.prediction,
            confidence=reading.confidence,
            probabilities=reading.class_probabilities(),
            model_trained=engine.trained,
            model_sha256=engine.sha256,
            source_format=scan.source_format,
            acquisition=scan.acquisition,
            scan_date=scan_date,
            scan_date_source=scan_date_source,
            ood_status=reading.status,
            ood_distance=reading.distance,
            region_shares=measure_regions(reading.gray, reading.analysis),
            **interpretation_fields(reading.interpretation),
        )
        if assessment.is_volume:
            store_slices(assessment, reading)
        ScanSeries.record(assessment, scan.series)
        if scan.band is not None:
            keep_band(files, assessment, scan.band, reading)
        # Queued with the rows: if they roll back, so do the tasks.
        if overlay:
            score_faithfulness.enqueue(assessment.pk)
        notify_new_result.enqueue(assessment.pk)
    return assessment


def interpretation_fields(interpretation):
    """The reading beside the grade as the assessment stores it (pages read it, never recompute it)."""
    said = interpretation.headline
    return {"measures": interpretation.measures, "any_impairment": interpretation.any_impairment,
            "headline_kind": said.kind, "headline_grade": said.grade or "", "headline_reason": said.reason}


def store_heatmap(files, gray, analysis, colour_map):
    """``(overlay name, maps name)`` of ``analysis``'s predicted class; blank names when drawing fails."""
    try:
        stored = explanations.from_analysis(analysis)
        overlay_png = explanations.overlay_png(gray, stored, colour_map=colour_map)
    except Exception:
        logger.exception("Heatmap failed for a %s slice; keeping the prediction", analysis.prediction)
        return "", ""
    return files.save(HEATMAPS, ".png", overlay_png), files.save(HEATMAPS, ".npz", explanations.to_npz(stored))


def keep_band(files, assessment, band, reading):
    """A volume's band and its analysed slices' maps, kept for the task worker that draws the slices' images and
    the 3-D heatmap (:func:`.tasks.draw_volume_heatmap`)."""
    maps = {position: explanations.from_analysis(analysis) for position, analysis, *_ in reading.slices()}
    assessment.pending_band = files.save(PENDING, ".npz", band_npz(band, maps))
    assessment.save(update_fields=["pending_band"])
    draw_volume_heatmap.enqueue(assessment.pk)


def measure_regions(gray, analysis):
    """Every class's region shares (:mod:`.ml.regions`); ``{}``, logged, when they cannot be measured."""
    try:
        return regions.region_scores(gray, explanations.from_analysis(analysis))
    except Exception:
        # Like a failed heatmap: the prediction is still worth having without them.
        logger.exception("Region scores failed for a %s slice; keeping the prediction", analysis.prediction)
        return {}


def store_slices(assessment, reading):
    """A volume's per-slice rows: every slice of its band, analysed or left out with the reason. Their images
    are the task worker's to draw (:func:`.tasks.draw_volume_heatmap`): only the shown slice has its own already,
    the assessment's."""
    rows = []
    for i, (position, analysis, _, verdict, distance) in enumerate(reading.slices()):
        shown = i == reading.representative
        rows.append(AssessmentSlice(
            assessment=assessment, position=position,
            scan=assessment.scan.name if shown else "", overlay=assessment.overlay.name if shown else "",
            prediction=analysis.prediction, confidence=analysis.confidence,
            probabilities=analysis.class_probabilities(), ood_status=verdict or "", ood_distance=distance,
            representative=shown, left_out=LeftOut.OUTSIDE_TRAINING if verdict == ood.OUT else "",
        ))
    # Slices the checks refused were never analysed: listed, so the page can show what was left out.
    rows += [AssessmentSlice(assessment=assessment, position=one.position, left_out=one.check)
             for one in reading.left_out]
    return AssessmentSlice.objects.bulk_create(sorted(rows, key=lambda row: row.position))
