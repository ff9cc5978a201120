"""What the views and the API do, in one place: analyse an upload and keep the result."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import Http404

from .ml.engine import get_analyzer
from .ml.overlay import blend, png_bytes, scale_map
from .models import Assessment, random_name
from .scans import read_scan

logger = logging.getLogger(__name__)


def analyzer():
    """The process-wide model, loaded at first use (wsgi.py loads it at start)."""
    return get_analyzer(settings.ALZAWARE_MODEL_PATH)


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


def render_overlay(gray, analysis):
    return png_bytes(blend(gray, scale_map(analysis.map_on_image())))


def create_assessment(patient, data):
    """Analyse an uploaded file and store the assessment; raises ScanRejected for bad input.

    Nothing is stored for a refused file. A failing heatmap is logged and the
    assessment is kept without it: the prediction is still worth having.
    """
    scan = read_scan(data, settings.MAX_UPLOAD_BYTES)
    engine = analyzer()
    analysis = engine.analyze(scan.gray)

    saved = [default_storage.save(random_name("scans", ".png"), ContentFile(png_bytes(scan.gray)))]
    try:
        try:
            overlay = render_overlay(scan.gray, analysis)
        except Exception:
            logger.exception("Heatmap failed for an upload by patient %s; keeping the prediction", patient.pk)
        else:
            saved.append(default_storage.save(random_name("heatmaps", ".png"), ContentFile(overlay)))
        with transaction.atomic():
            return Assessment.objects.create(
                patient=patient,
                scan=saved[0],
                overlay=saved[1] if len(saved) > 1 else "",
                prediction=analysis.prediction,
                confidence=analysis.confidence,
                probabilities=analysis.class_probabilities(),
                model_trained=engine.trained,
                model_sha256=engine.sha256,
            )
    except BaseException:
        for name in saved:
            default_storage.delete(name)
        raise
