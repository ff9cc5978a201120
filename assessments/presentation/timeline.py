"""The timeline page: a patient's visits over time, and two visits' maps side by side on one shared scale."""

from django.urls import reverse

from assessments.forms import CompareForm
from assessments.models import Assessment
from assessments.presentation.chart import ANY_IMPAIRMENT, by_scan_date, timeline_svg, visit_values
from mri import CLASSES
from mri.explain.overlay import valid_colour_map

# A whole scan's result is the mean over its band, a single picture's is one slice: the two are not one trend.
KINDS = (("volumes", "Whole scans (a hospital's files or a NIfTI volume)", True),
         ("slices", "Single pictures of one slice", False))


def visit_rows(visits):
    """``[(assessment, [(chart series, value)])]``, oldest scan first: the chart's numbers as a table."""
    return [(a, list(visit_values(a).items())) for a in by_scan_date(visits)]


def trends(visits):
    """One chart and table per kind of upload that the patient has: ``[{key, title, chart, rows}]``."""
    found = []
    for key, title, volumes in KINDS:
        kept = [a for a in visits if a.is_volume == volumes]
        if kept:
            found.append({"key": key, "title": title, "rows": visit_rows(kept),
                          "chart": timeline_svg(kept, title=f"{title}: results by the day of the scan")})
    return found


def shared_scale_pair(form, patient):
    """The two chosen visits, each with its map of the chosen class on the scale shared by all visits."""
    klass = form.cleaned_data["klass"]
    colour_map = valid_colour_map(patient.colour_map)
    return {
        "class_name": CLASSES[klass],
        "colour_bar_url": reverse("assessments:colour_bar", args=[colour_map]),
        "visits": [(visit, reverse("assessments:class_overlay", args=[visit.pk, klass, colour_map])
                    + "?scale=absolute") for visit in (form.cleaned_data["first"], form.cleaned_data["second"])],
    }


def timeline_page(patient, query):
    """Everything the timeline page shows for ``patient``, from its GET form."""
    visits = Assessment.objects.filter(patient=patient)
    ordered = list(visits.prefetch_related("reviews__author"))
    # Only visits with stored maps can be redrawn on the shared scale.
    comparable = visits.exclude(maps="").order_by("-scan_date", "-created_at", "-pk")
    latest = list(comparable[:2])
    if not query and len(latest) == 2:
        # By default the two latest visits, on the latest's predicted class.
        query = {"first": latest[1].pk, "second": latest[0].pk, "klass": CLASSES.index(latest[0].prediction)}
    form = CompareForm(query or None, comparable, CLASSES)
    return {
        "trends": trends(ordered),
        "series": [*CLASSES, ANY_IMPAIRMENT],
        "rows": ordered,
        "upload_days": any(not a.scan_date_known for a in ordered),
        "compare_form": form,
        "can_compare": len(latest) == 2,
        "pair": shared_scale_pair(form, patient) if len(latest) == 2 and form.is_valid() else None,
    }
