"""What the views and the API do, in one place: analyse an upload and keep the result."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import Http404

from .ml import explanations
from .ml.engine import get_analyzer
from .ml.overlay import DEFAULT_COLORMAP, png_bytes, valid_colormap
from .models import Assessment, random_name
from .reading import read_slices, save_slices
from .scans import errors, log_refusal, read_scan

logger = logging.getLogger(__name__)


def analyzer():
    """The process-wide model, loaded at first use (wsgi.py loads it at start)."""
    return get_analyzer(settings.ALZAWARE_MODEL_PATH)


def track_record(assessment):
    """How the model that made ``assessment`` did on people it never saw (its checkpoint's own figures), or None.

    None for an untrained model, one without cross-validated figures, or an
    assessment made by an earlier model than the one loaded now.
    """
    engine = analyzer()
    if not engine.trained or assessment.model_sha256 != engine.sha256:
        return None
    return engine.metadata.get("cross_validation")


def patient_of(user):
    """Only patients submit scans; doctors and admins review them."""
    patient = getattr(user, "patient", None) if user.is_authenticated else None
    if patient is None:
        raise PermissionDenied("Only patients can submit scans.")
    return patient


def get_visible_assessment(user, pk):
    """The one ownership check for assessments: anyone not allowed to see it gets a 404."""
    try:
        return Assessment.objects.visible_to(user).select_related("patient__user").get(pk=pk)
    except (Assessment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such assessment.") from None


def upload_bytes(upload):
    """An uploaded file's bytes, refused by its size before any of it is read into memory."""
    if upload.size > settings.MAX_UPLOAD_BYTES:
        refused = errors.too_large(settings.MAX_UPLOAD_BYTES).because("too_large", upload.size,
                                                                      settings.MAX_UPLOAD_BYTES)
        log_refusal(refused)
        raise refused
    return upload.read()


def render_overlay(gray, stored, colormap=DEFAULT_COLORMAP):
    """The predicted class's overlay of ``stored`` (:class:`explanations.StoredMaps`) as PNG bytes."""
    return explanations.overlay_png(gray, stored, colormap=colormap)


def faithfulness_of(engine, analysis):
    """The explanation's faithfulness score, or None; a failure here must never lose the result."""
    try:
        result = engine.faithfulness(analysis)
    except Exception:
        logger.exception("Faithfulness score failed; keeping the assessment without it")
        return None
    return None if result is None else float(result.score)


def create_assessment(patient, data):
    """Analyse an uploaded file and store the assessment; raises ScanRejected for bad input.

    Nothing is stored for a refused file. A failing heatmap is logged and the
    assessment is kept without it: the prediction is still worth having.
    """
    scan = read_scan(data, settings.MAX_UPLOAD_BYTES)
    engine = analyzer()
    # All slices in one batch; refuses (not_brain) what the model was not trained on.
    reading = read_slices(engine, scan)
    analysis, gray = reading.analysis, reading.gray
    colormap = valid_colormap(patient.colormap)
    faithfulness = faithfulness_of(engine, analysis)

    saved = [default_storage.save(random_name("scans", ".png"), ContentFile(png_bytes(gray)))]
    overlay = maps = ""
    try:
        try:
            stored = explanations.from_analysis(analysis)
            overlay_png = render_overlay(gray, stored, colormap)
            maps_npz = explanations.to_npz(stored)
        except Exception:
            logger.exception("Heatmap failed for an upload by patient %s; keeping the prediction", patient.pk)
        else:
            overlay = default_storage.save(random_name("heatmaps", ".png"), ContentFile(overlay_png))
            saved.append(overlay)
            maps = default_storage.save(random_name("heatmaps", ".npz"), ContentFile(maps_npz))
            saved.append(maps)
        with transaction.atomic():
            assessment = Assessment.objects.create(
                patient=patient,
                scan=saved[0],
                overlay=overlay,
                maps=maps,
                overlay_colormap=colormap,
                faithfulness=faithfulness,
                prediction=reading.prediction,
                confidence=reading.confidence,
                probabilities=reading.class_probabilities(),
                model_trained=engine.trained,
                model_sha256=engine.sha256,
                source_format=scan.source_format,
                acquisition=scan.acquisition,
                ood_status=reading.status,
                ood_distance=reading.distance,
            )
            save_slices(assessment, reading,
                        lambda g, a: render_overlay(g, explanations.from_analysis(a), colormap), saved)
            return assessment
    except BaseException:
        for name in saved:
            default_storage.delete(name)
        raise
