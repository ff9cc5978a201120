"""Who a signed-in user is to AlzAware: the one place that turns an account into its patient.

Two refusals, each named for what it guards: a patient's own account pages (settings, export) simply do not
exist for anyone else (404, as another person's data would be), while what only patients do (submit a scan,
keep a timeline of their results) a doctor or an administrator is told they may not (403).
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


def acting_patient(user, action="submit scans"):
    """The patient doing ``action``; doctors and administrators review scans, they do not do this (403)."""
    patient = patient_or_none(user)
    if patient is None:
        raise PermissionDenied(f"Only patients can {action}.")
    return patient
