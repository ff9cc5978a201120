"""Closing an account: the user, their patient record, every assessment and every file those owned, and what
other tables say of them (issue 25: after an erasure the admin's log still named the patient, the task queue
named their assessments and their sessions stayed)."""

from axes.models import AccessAttempt
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import models, transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from assessments.models import Assessment, AssessmentSlice, Review, ScanSeries
from assessments.notifications import notify_review

from .mailer import send_email
from .models import Invitation, Patient, User

# What the admin's log says of an erased object: its kind and id, as the read audit keeps them.
ERASED = "(erased)"


def delete_account(user):
    """Delete ``user`` and all that cascades from it (patient, assessments, slices, tokens), their sessions,
    failed-login counts, queued tasks and e-mails, and de-identify the admin's log of their objects. Doctors' reviews of
    the assessments stay as de-identified medical records (assessments.review_model.deidentify).

    The files go with their rows: django-cleanup deletes each FileField's file once the transaction commits,
    so a deletion that fails and rolls back leaves the files of the rows that are still there (and the task
    worker's sweep removes any a crash leaves: assessments.sweeper). What stays, by design: the read audit
    (AuditEntry: ids, actions, times and addresses, append-only; see README "Their data") and the admin log's
    rows of who changed what, reduced to kinds and ids.
    """
    with transaction.atomic():
        objects = objects_of(user)
        de_identify_admin_log(objects)
        forget_tasks(objects[Assessment])
        forget_emails(user, objects[Review])
        forget_sessions(user)
        AccessAttempt.objects.filter(username__iexact=user.email).delete()
        user.delete()


def objects_of(user):
    """``{model: [ids]}`` of everything the account's erasure removes that the admin may have logged."""
    patient_ids = ids(Patient.objects.filter(user=user))
    assessment_ids = ids(Assessment.objects.filter(patient__in=patient_ids))
    return {
        User: [user.pk], Patient: patient_ids, Assessment: assessment_ids,
        AssessmentSlice: ids(AssessmentSlice.objects.filter(assessment__in=assessment_ids)),
        ScanSeries: ids(ScanSeries.objects.filter(assessment__in=assessment_ids)),
        Review: ids(Review.objects.filter(assessment__in=assessment_ids)),
    }


def ids(queryset):
    return list(queryset.values_list("pk", flat=True))


def de_identify_admin_log(objects):
    """The admin's log of these objects keeps who did what when, but not the object's name or what changed."""
    for model, ids in objects.items():
        if not ids:
            continue
        kind = ContentType.objects.get_for_model(model)
        for pk in ids:
            LogEntry.objects.filter(content_type=kind, object_id=str(pk)).update(
                object_repr=f"{model._meta.verbose_name} {pk} {ERASED}", change_message="")


def forget_tasks(assessment_ids):
    """Queued and finished tasks of these assessments. A running one is left to finish: its worker saves its
    outcome into the row, and it names nothing but an id."""
    if assessment_ids:
        # Every task of assessments.tasks, and the doctors' e-mail of a new result, takes an assessment's id first.
        of_assessments = models.Q(task_path__startswith="assessments.tasks.") | models.Q(
            task_path="assessments.notifications.notify_new_result")
        DBTaskResult.objects.filter(of_assessments, args_kwargs__args__0__in=assessment_ids).exclude(
            status=TaskResultStatus.RUNNING).delete()


def forget_emails(user, review_ids):
    """E-mails queued to or about the account, so that none is sent after its erasure: those to its address
    (a confirmation, a doctor's invitation), its patient's invitations to doctors, and the notices of doctors'
    reviews of its results. Sent ones go too (they name the address); a running one is left to finish."""
    mails = DBTaskResult.objects.filter(task_path=send_email.module_path).exclude(status=TaskResultStatus.RUNNING)
    doomed = ids(mails.filter(args_kwargs__args__0__iexact=user.email))
    invitations = dict(Invitation.objects.filter(patient__user=user).values_list("token", "email"))
    # send_email(to, subject, body): an invitation's e-mail is the one whose link carries its token.
    doomed += [task.pk for task in mails.filter(args_kwargs__args__0__in=set(invitations.values()))
               if any(token in task.args_kwargs["args"][2] for token in invitations)]
    doomed += ids(DBTaskResult.objects.filter(task_path=notify_review.module_path, args_kwargs__args__0__in=review_ids)
                  .exclude(status=TaskResultStatus.RUNNING))
    DBTaskResult.objects.filter(pk__in=doomed).delete()


def forget_sessions(user):
    """Every session the account is signed in with, in any browser (the one closing it is logged out after)."""
    ids = [session.pk for session in Session.objects.filter(expire_date__gt=timezone.now())
           if session.get_decoded().get("_auth_user_id") == str(user.pk)]
    Session.objects.filter(pk__in=ids).delete()
