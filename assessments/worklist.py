"""The doctor's worklist: their patients' assessments that no doctor has reviewed yet, oldest first, and the
case after the one just reviewed ("Save and next")."""

from datetime import date

from django.utils.http import urlencode

from .models import Assessment

TO_REVIEW, REVIEWED = "to_review", "reviewed"


def cases(user, status=TO_REVIEW, patient=None, since=None, until=None):
    """The assessments of ``user``'s patients in worklist order: oldest first, so none waits longest."""
    found = Assessment.objects.visible_to(user).with_review_state().select_related("patient__user")
    if status == TO_REVIEW:
        found = found.filter(reviewed=False)
    elif status == REVIEWED:
        found = found.filter(reviewed=True)
    if patient is not None:
        found = found.filter(patient=patient)
    if since is not None:
        found = found.filter(created_at__date__gte=since)
    if until is not None:
        found = found.filter(created_at__date__lte=until)
    return found.order_by("created_at", "pk")


def next_case(user, after, **filters):
    """The worklist's case after ``after`` under the same filters, wrapping round to the first; None when
    ``after`` was the last one left."""
    remaining = cases(user, **filters).exclude(pk=after.pk)
    later = remaining.filter(created_at__gte=after.created_at).exclude(created_at=after.created_at, pk__lt=after.pk)
    return later.first() or remaining.first()


def age_on(born, day):
    """Whole years from ``born`` to ``day``."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def row(assessment):
    """What the worklist shows of one case."""
    return {"assessment": assessment, "age": age_on(assessment.patient.date_of_birth, assessment.created_at.date()),
            "format": assessment.file_details()[0][1] or "not recorded"}


def query_string(filters):
    """The filters as a query string, to carry from the worklist through each review and back ('' for none; the
    default status is left out)."""
    plain = {key: (value.pk if hasattr(value, "pk") else value.isoformat() if isinstance(value, date) else value)
             for key, value in filters.items() if value and (key, value) != ("status", TO_REVIEW)}
    return urlencode(plain)
