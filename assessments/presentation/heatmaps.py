"""The result page's heatmaps, drawn from a stored assessment: any class, any colour map, no model run."""

import json
import logging
from functools import cache, lru_cache

import cv2
import numpy as np
from django.core.files.storage import default_storage
from django.urls import reverse

from accounts.models import Patient
from assessments.forms import ExplanationForm
from assessments.models import Assessment
from mri import CLASSES
from mri.explain import explanations, regions
from mri.explain.overlay import colour_bar, lookup_table, png_bytes, valid_colour_map

logger = logging.getLogger(__name__)


def stored_maps(assessment):
    """The assessment's raw maps, or None when it has none (older rows, failed heatmaps)."""
    if not assessment.maps:
        return None
    with assessment.maps.open("rb") as fh:
        return explanations.from_npz(fh.read())


def stored_gray(assessment):
    """The slice the assessment's result and maps are of, as the model saw it (None if it cannot be decoded)."""
    with assessment.scan.open("rb") as fh:
        # Our own stored 8-bit PNG, so decoded directly: upload checks do not apply to it.
        return cv2.imdecode(np.frombuffer(fh.read(), np.uint8), cv2.IMREAD_GRAYSCALE)


@lru_cache(maxsize=4096)
def map_maxima(name):
    """Each class's highest value in the stored map file ``name``.

    Map files are written once under a random name and never changed, so this is
    read from disk once per process, not for every visit on every request.
    """
    with default_storage.open(name, "rb") as fh:
        return tuple(explanations.from_npz(fh.read()).map_max.tolist())


def shared_ceiling(assessment, class_index):
    """The highest raw map value of ``class_index`` over all this patient's scans read by the same model.

    Dividing by it (instead of each map's own maximum) puts every visit on one
    scale: a region that is hotter on one visit than on another looks hotter.
    """
    ceiling = 0.0
    visits = Assessment.objects.filter(patient=assessment.patient_id, model_sha256=assessment.model_sha256)
    for pk, name in visits.exclude(maps="").values_list("pk", "maps"):
        try:
            maxima = map_maxima(name)
        except (OSError, ValueError, KeyError):
            logger.warning("Stored maps of assessment %s cannot be read; left out of the shared scale", pk)
            continue
        if class_index < len(maxima):
            ceiling = max(ceiling, maxima[class_index])
    return ceiling


def render_class_overlay(assessment, class_index, colour_map, absolute=False):
    """Any class's overlay in any colour map, from the stored scan and maps: no model run.

    ``absolute``: on the scale shared by all the patient's visits (see
    :func:`shared_ceiling`) instead of this map's own min-max range.
    Returns PNG bytes, or None when this assessment has no stored maps.
    """
    maps = stored_maps(assessment)
    if maps is None:
        return None
    gray = stored_gray(assessment)
    if gray is None or tuple(gray.shape) != tuple(maps.image_shape):
        raise ValueError(f"The stored scan of assessment {assessment.pk} does not match its maps")
    ceiling = shared_ceiling(assessment, class_index) if absolute else None
    return explanations.overlay_png(gray, maps, class_index=class_index, colour_map=colour_map, ceiling=ceiling)


@cache
def colour_bar_png(colour_map):
    """The colour bar image of ``colour_map`` (high importance at the top); the same bytes every time."""
    return png_bytes(colour_bar(colour_map))


def explanation_choice(assessment, query):
    """What the result page's heatmap shows, from its GET form: which class's map, in which colours.

    Without a valid choice it is the stored overlay: the predicted class in the
    colour map the patient had chosen when the scan was analysed.
    """
    predicted = CLASSES.index(assessment.prediction)
    stored = valid_colour_map(assessment.overlay_colour_map)
    colour_maps = Patient.ColourMap.choices
    form = ExplanationForm(query, CLASSES, colour_maps)
    chosen, absolute = (predicted, stored), False
    if assessment.maps and form.is_valid():
        chosen = (form.cleaned_data["klass"], form.cleaned_data["colour_map"])
        absolute = form.cleaned_data["scale"] == "absolute"
    else:
        form = ExplanationForm({"klass": predicted, "colour_map": stored, "scale": "relative"}, CLASSES, colour_maps)
    if chosen == (predicted, stored) and not absolute:
        overlay_url = reverse("assessments:file", args=[assessment.pk, "overlay"])
    else:
        overlay_url = reverse("assessments:class_overlay", args=[assessment.pk, *chosen])
        if absolute:
            overlay_url += "?scale=absolute"
    scores = assessment.regions_of(CLASSES[chosen[0]])
    return {
        "regions": regions.table(scores) if scores else None,
        # Stored for other classes but not this one: its map has no mass inside the brain (regions.region_scores).
        "regions_sentence": regions.sentence(scores) if scores else
        regions.NOTHING_INSIDE if assessment.region_shares else "",
        "absolute_scale": absolute,
        "explanation_form": form,
        "can_switch_maps": bool(assessment.maps),
        "overlay_url": overlay_url,
        "shown_class": CLASSES[chosen[0]],
        "shown_colour_map": chosen[1],
        "colour_bar_url": reverse("assessments:colour_bar", args=[chosen[1]]),
        # The 3-D viewer's overlay colours (a data attribute of the page: no inline script).
        "viewer_lut": json.dumps(lookup_table(chosen[1])) if assessment.heatmap_volume else "",
    }
