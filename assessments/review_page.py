"""What the doctor's review page shows of an assessment: large images, every class's map, the previous scan of
the same kind with what changed, and the scan's details as labelled fields."""

from dataclasses import dataclass

from django.urls import reverse

from mri.explain.overlay import DEFAULT_COLOUR_MAP

from . import services
from .templatetags.results import percent


@dataclass(frozen=True)
class Picture:
    url: str
    alt: str
    caption: str


def pictures(assessment):
    """The original and the overlay of the predicted class."""
    shown = [Picture(reverse("assessments:file", args=[assessment.pk, "scan"]), "Original MRI", "Original")]
    if assessment.overlay:
        shown.append(Picture(reverse("assessments:file", args=[assessment.pk, "overlay"]),
                             f"Heatmap of {assessment.prediction} on the MRI", f"Heatmap: {assessment.prediction}"))
    return shown


def class_maps(assessment):
    """Each of the four classes' maps (from the stored maps), or [] where none were stored."""
    if not assessment.maps:
        return []
    colour_map = assessment.overlay_colour_map or DEFAULT_COLOUR_MAP
    return [Picture(reverse("assessments:class_overlay", args=[assessment.pk, index, colour_map]),
                    f"Heatmap of {name} on the MRI", f"{name}: {percent(p)}")
            for index, (name, p) in enumerate(assessment.ordered_probabilities())]


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    now: str


def changes_since(previous, assessment):
    """What changed from ``previous`` to ``assessment``, in rows a doctor reads across."""
    days = (assessment.created_at.date() - previous.created_at.date()).days
    rows = [Change("Submitted", f"{previous.created_at:%d %b %Y}", f"{assessment.created_at:%d %b %Y} "
                                                                    f"({days} day{'s' if days != 1 else ''} later)"),
            Change("Grade", previous.prediction, assessment.prediction),
            Change("Certainty", percent(previous.confidence), percent(assessment.confidence)),
            Change("Any impairment", percent(previous.any_impairment), percent(assessment.any_impairment))]
    rows += [Change(f"P({name})", percent(p), percent(assessment.probabilities.get(name, 0.0)))
             for name, p in previous.ordered_probabilities()]
    return rows


def faithfulness_text(assessment):
    """The score and what it means, for doctors: 1.0 is what a randomly placed region would do."""
    if assessment.faithfulness is None:
        return assessment.get_faithfulness_check_display() if assessment.faithfulness_check else "-"
    return f"{assessment.faithfulness:.2f}× random: {assessment.faithfulness_verdict()}"


def details(assessment):
    """The scan's details as ``[(label, value)]``: never the stored JSON."""
    rows = [("Submitted", f"{assessment.created_at:%d %B %Y, %H:%M}"),
            *((label, value if value not in ("", None) else "not recorded") for label, value in assessment.file_details()),
            ("Training match", assessment.get_ood_status_display()),
            ("Model", "Trained" if assessment.model_trained else "UNTRAINED: random answers, ignore this result"),
            ("Model checkpoint", assessment.model_sha256[:12] or "unknown")]
    if assessment.faithfulness is not None or assessment.faithfulness_check:
        rows.append(("Heatmap faithfulness", faithfulness_text(assessment)))
    return rows


def review_context(assessment):
    """Everything the review page shows besides the form."""
    previous = assessment.previous_of_same_kind()
    return {"assessment": assessment, "pictures": pictures(assessment), "class_maps": class_maps(assessment),
            "previous": previous, "previous_pictures": pictures(previous) if previous else [],
            "changes": changes_since(previous, assessment) if previous else [],
            "details": details(assessment),
            "others_reviews": list(assessment.reviews.select_related("author")),
            "headline_record": services.headline_track_record(assessment)}
