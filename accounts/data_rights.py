"""Closing an account: the user, their patient record, every assessment and every file those owned."""

from django.db import transaction


def delete_account(user):
    """Delete ``user`` and all that cascades from it (patient, assessments, slices, tokens). Doctors' reviews of
    the assessments stay as de-identified medical records (assessments.review_model.deidentify).

    The files go with their rows: django-cleanup deletes each FileField's file once the transaction commits,
    so a deletion that fails and rolls back leaves the files of the rows that are still there. The read audit
    stays (append-only, and it holds ids only: see AuditEntry).
    """
    with transaction.atomic():
        user.delete()
