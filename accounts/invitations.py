"""Who may see a patient's results: the patient invites their doctor by e-mail, or enters the code their doctor
gave them, and can withdraw a doctor's access. Each change is written to the audit log (SHARING_ACTIONS).

An invitation by e-mail waits for a doctor's account to accept it through the link (the token is the secret:
hospitals' addresses often differ from the one a doctor logs in with). A code needs no acceptance: the doctor
gave it to the patient, which is their agreement. Administrators still assign doctors in the admin, audited the
same way (:func:`record_assignment`).
"""

import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from audit import trail
from audit.models import SHARING_ACTIONS, AuditAction, AuditEntry

from .mailer import queue_email
from .models import DoctorCode, Invitation

# No 0/O or 1/I/L: the code is read out or copied from paper.
CODE_LETTERS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def doctors_of(patient):
    return patient.doctors.order_by("last_name", "first_name", "email")


def sharing_history(patient, reader, count=50):
    """The latest ``count`` changes of who may see ``patient``'s results, newest first, as ``(entry, who made it)``:
    named for ``reader`` as on the "who viewed my data" list (an administrator as one, never as a doctor)."""
    entries = AuditEntry.objects.filter(patient=patient, action__in=SHARING_ACTIONS).select_related("actor", "doctor")
    return [(entry, trail.viewer_name(entry, reader)) for entry in entries[:count]]


@transaction.atomic
def invite(request, patient, email):
    """Invite ``email`` to see the results: the invitation, its audit entry and its e-mail (sent by the worker)."""
    invitation = Invitation.objects.create(patient=patient, email=email.strip().lower(),
                                           token=secrets.token_urlsafe(32))
    trail.record(request, AuditAction.DOCTOR_INVITED, patient.pk)
    queue_email(invitation.email, "emails/invitation", {"path": reverse("accept_invitation", args=[invitation.token])})
    return invitation


def open_invitation(token):
    """The invitation of a link, if it can still be accepted; else 404."""
    invitation = Invitation.objects.open().select_related("patient__user").filter(token=token).first()
    if invitation is None:
        raise Http404("This invitation has been accepted, withdrawn, or never existed.")
    return invitation


@transaction.atomic
def accept(request, token):
    """The logged-in doctor accepts the invitation of ``token``: from now on they see the patient's results."""
    doctor = request.user
    if not doctor.is_doctor:
        raise PermissionDenied("Only a doctor's account can accept an invitation.")
    invitation = open_invitation(token)
    invitation.accepted_at, invitation.accepted_by = timezone.now(), doctor
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    invitation.patient.doctors.add(doctor)
    trail.record(request, AuditAction.DOCTOR_ACCEPTED, invitation.patient_id, doctor=doctor)
    return invitation


@transaction.atomic
def share_by_code(request, patient, code):
    """Share the results with the doctor whose code this is; ValidationError for a code that is no doctor's."""
    found = DoctorCode.objects.select_related("doctor").filter(code=normal_code(code)).first()
    if found is None or not found.doctor.is_doctor or not found.doctor.is_active:
        raise ValidationError("No doctor has this code. Please check it with your doctor.")
    patient.doctors.add(found.doctor)
    trail.record(request, AuditAction.DOCTOR_CODE, patient.pk, doctor=found.doctor)
    return found.doctor


@transaction.atomic
def withdraw(request, patient, doctor_id):
    """The doctor ``doctor_id`` no longer sees ``patient``'s results (404 if they did not)."""
    doctor = doctors_of(patient).filter(pk=doctor_id).first()
    if doctor is None:
        raise Http404("This doctor cannot see your results.")
    patient.doctors.remove(doctor)
    trail.record(request, AuditAction.ACCESS_WITHDRAWN, patient.pk, doctor=doctor)
    return doctor


def record_assignment(request, patient, before, after):
    """An administrator changed ``patient``'s doctors in the admin from the users ``before`` to ``after``: each
    doctor given access, and each whose access went, is audited as the patient's own steps are."""
    for doctor in after - before:
        trail.record(request, AuditAction.DOCTOR_ASSIGNED, patient.pk, doctor=doctor)
    for doctor in before - after:
        trail.record(request, AuditAction.ACCESS_WITHDRAWN, patient.pk, doctor=doctor)


def cancel(request, patient, invitation_id):
    """Withdraw an invitation not yet accepted (404 if it is not the patient's, or no longer open)."""
    invitation = patient.invitations.open().filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    invitation.withdrawn_at = timezone.now()
    invitation.save(update_fields=["withdrawn_at"])
    return invitation


def normal_code(code):
    return "".join(code.split()).replace("-", "").upper()


def code_of(doctor):
    """The doctor's sharing code, made at first use."""
    existing = DoctorCode.objects.filter(doctor=doctor).first()
    if existing is not None:
        return existing.code
    while True:
        code = "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))
        if not DoctorCode.objects.filter(code=code).exists():
            return DoctorCode.objects.create(doctor=doctor, code=code).code

