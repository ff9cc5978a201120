"""Who a signed-in user is to AlzAware: the one place that turns an account into its patient.

Two refusals, each named for what it guards: a page of a patient's own data (their timeline, report,
settings, export) simply does not exist for anyone else (404, as another person's data would be), while
submitting a scan is an action a doctor or an administrator is told they may not take (403).
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404


def patient_or_none(user):
    return getattr(user, "patient", None) if user.is_authenticated else None


def own_patient(user):
    """The patient whose own pages these are; anyone else gets a 404."""
    patient = patient_or_none(user)
    if patient is None:
        raise Http404("Only patients have these pages.")
    return patient


def submitting_patient(user):
    """The patient submitting a scan; doctors and administrators review scans, they do not submit them (403)."""
    patient = patient_or_none(user)
    if patient is None:
        raise PermissionDenied("Only patients can submit scans.")
    return patient
