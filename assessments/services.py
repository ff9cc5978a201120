"""What the views and the API do, in one place: analyse an upload and keep the result."""

import logging

import cv2
import numpy as np
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import Http404
from django.urls import reverse

from .forms import ExplanationForm
from .ml import CLASSES, explanations
from .ml.engine import get_analyzer
from .ml.overlay import COLORMAPS, DEFAULT_COLORMAP, colour_bar, png_bytes
from .models import Assessment, random_name
from .reading import read_slices, save_slices
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


def render_overlay(gray, analysis, colormap=DEFAULT_COLORMAP):
    """The predicted class's overlay as PNG bytes."""
    return explanations.overlay_png(gray, explanations.from_analysis(analysis), colormap=colormap)


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
    colormap = patient.colormap if patient.colormap in COLORMAPS else DEFAULT_COLORMAP
    faithfulness = faithfulness_of(engine, analysis)

    saved = [default_storage.save(random_name("scans", ".png"), ContentFile(png_bytes(gray)))]
    overlay = maps = ""
    try:
        try:
            overlay_png = render_overlay(gray, analysis, colormap)
            maps_npz = explanations.to_npz(explanations.from_analysis(analysis))
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
            save_slices(assessment, reading, lambda g, a: render_overlay(g, a, colormap), saved)
            return assessment
    except BaseException:
        for name in saved:
            default_storage.delete(name)
        raise


def stored_maps(assessment):
    """The assessment's raw maps, or None when it has none (older rows, failed heatmaps)."""
    if not assessment.maps:
        return None
    with assessment.maps.open("rb") as fh:
        return explanations.from_npz(fh.read())


def shared_ceiling(assessment, class_index):
    """The highest raw map value of ``class_index`` over all this patient's scans read by the same model.

    Dividing by it (instead of each map's own maximum) puts every visit on one
    scale: a region that is hotter on one visit than on another looks hotter.
    """
    ceiling = 0.0
    visits = Assessment.objects.filter(patient=assessment.patient_id, model_sha256=assessment.model_sha256)
    for visit in visits.exclude(maps=""):
        try:
            maps = stored_maps(visit)
        except (OSError, ValueError, KeyError):
            logger.warning("Stored maps of assessment %s cannot be read; left out of the shared scale", visit.pk)
            continue
        if class_index < len(maps.map_max):
            ceiling = max(ceiling, float(maps.map_max[class_index]))
    return ceiling


def render_class_overlay(assessment, class_index, colormap, absolute=False):
    """Any class's overlay in any colour map, from the stored scan and maps: no model run.

    ``absolute``: on the scale shared by all the patient's visits (see
    :func:`shared_ceiling`) instead of this map's own min-max range.
    Returns PNG bytes, or None when this assessment has no stored maps.
    """
    maps = stored_maps(assessment)
    if maps is None:
        return None
    with assessment.scan.open("rb") as fh:
        # Our own stored 8-bit PNG, so decoded directly: upload checks do not apply to it.
        gray = cv2.imdecode(np.frombuffer(fh.read(), np.uint8), cv2.IMREAD_GRAYSCALE)
    if gray is None or tuple(gray.shape) != tuple(maps.image_shape):
        raise ValueError(f"The stored scan of assessment {assessment.pk} does not match its maps")
    ceiling = shared_ceiling(assessment, class_index) if absolute else None
    return explanations.overlay_png(gray, maps, class_index=class_index, colormap=colormap, ceiling=ceiling)


_colour_bars = {}


def colour_bar_png(colormap):
    """The colour bar image of ``colormap`` (high importance at the top); the same bytes every time."""
    if colormap not in _colour_bars:
        _colour_bars[colormap] = png_bytes(colour_bar(colormap))
    return _colour_bars[colormap]


COLORMAP_LABELS = {
    "jet": "Jet (blue = low, red = high)",
    "viridis": "Viridis (colour-blind safe)",
    "inferno": "Inferno (colour-blind safe)",
    "cividis": "Cividis (colour-blind safe)",
}


def explanation_choice(assessment, query):
    """What the result page's heatmap shows, from its GET form: which class's map, in which colours.

    Without a valid choice it is the stored overlay: the predicted class in the
    colour map the patient had chosen when the scan was analysed.
    """
    predicted = CLASSES.index(assessment.prediction)
    stored = assessment.overlay_colormap if assessment.overlay_colormap in COLORMAPS else DEFAULT_COLORMAP
    colormaps = [(name, COLORMAP_LABELS[name]) for name in COLORMAPS]
    form = ExplanationForm(query, CLASSES, colormaps)
    chosen, absolute = (predicted, stored), False
    if assessment.maps and form.is_valid():
        chosen = (form.cleaned_data["klass"], form.cleaned_data["colormap"])
        absolute = form.cleaned_data["scale"] == "absolute"
    else:
        form = ExplanationForm({"klass": predicted, "colormap": stored, "scale": "relative"}, CLASSES, colormaps)
    if chosen == (predicted, stored) and not absolute:
        overlay_url = reverse("assessments:file", args=[assessment.pk, "overlay"])
    else:
        overlay_url = reverse("assessments:class_overlay", args=[assessment.pk, *chosen])
        if absolute:
            overlay_url += "?scale=absolute"
    return {
        "absolute_scale": absolute,
        "explanation_form": form,
        "can_switch_maps": bool(assessment.maps),
        "overlay_url": overlay_url,
        "shown_class": CLASSES[chosen[0]],
        "shown_colormap": chosen[1],
        "colour_bar_url": reverse("assessments:colour_bar", args=[chosen[1]]),
    }
