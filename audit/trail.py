"""The read audit: every look at a patient's data leaves an AuditEntry (see the model for what it holds)."""

from typing import Any

from accounts.addresses import client_address
from audit.models import SHARING_ACTIONS, AuditEntry


def record(request, action, patient_id, assessment_id=None, doctor=None):
    user = request.user if request.user.is_authenticated else None
    return AuditEntry.objects.create(actor=user, patient_id=patient_id, assessment_id=assessment_id,
                                     action=action, address=client_address(request), doctor=doctor)


def views_of(patient):
    """Who read ``patient``'s data, newest first (the viewer's account joined; None if it was closed); changes
    of who may see it (SHARING_ACTIONS) are not reads."""
    return AuditEntry.objects.filter(patient=patient).exclude(action__in=SHARING_ACTIONS).select_related("actor")


class AuditedChangeView:
    """An admin whose change page of one object records a read of its patient's data each time it is shown."""

    # An AuditAction; Any because mypy, without Django's stubs, reads a TextChoices member as a tuple.
    audit_action: Any = None

    def audit_target(self, obj):
        """``(patient id, assessment id or None)`` of ``obj``."""
        raise NotImplementedError

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            record(request, self.audit_action, *self.audit_target(obj))
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


def viewer_name(entry, user):
    """Who read the data, as the patient ``user`` is told: "You", a doctor's name, or an administrator's."""
    actor = entry.actor
    if actor is None:
        return "an account that has since been closed"
    if actor.pk == user.pk:
        return "You"
    if actor.is_superuser:
        return f"{actor.get_full_name() or actor.email} (administrator)"
    return actor.professional_name if actor.is_staff else str(actor)
