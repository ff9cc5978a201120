"""Opening an assessment to show its data: the ownership check, then an entry in the read audit."""

from audit import trail

from . import services


def open_assessment(request, pk, action):
    """The assessment ``pk`` if ``request.user`` may see it (else 404), its read recorded as ``action``."""
    assessment = services.get_visible_assessment(request.user, pk)
    trail.record(request, action, assessment.patient_id, assessment.pk)
    return assessment
