"""News by e-mail: a doctor hears of a new result of a patient who shares with them, a patient hears when a doctor
has reviewed one of theirs. Decided and sent by the task worker, never in the request (accounts.mailer).

No e-mail holds health data: it says that something happened and links to the page that shows it, after a
login. A doctor gets at most one e-mail an hour about one patient (EmailNotice keeps when); whoever turned
``email_notifications`` off gets none. A send that fails is logged and the task is queued again, up to
accounts.mailer.MAX_ATTEMPTS times; those already told are not told twice (their notice is recorded).
"""

import logging

from django.db.models.signals import post_save
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from accounts.mailer import MAX_ATTEMPTS, QUIET_TIME, deliver, later, render_email
from accounts.models import EmailNotice

from .models import Assessment, Review

logger = logging.getLogger(__name__)


def recently_told(recipient, patient, kind, within):
    since = timezone.now() - within
    return EmailNotice.objects.filter(recipient=recipient, patient=patient, kind=kind, sent_at__gte=since).exists()


def tell(recipient, patient, kind, template, path):
    """E-mail ``recipient`` a link to ``path``; the notice recorded when it went. True when sent."""
    subject, body = render_email(template, {"recipient": recipient, "path": path,
                                            "settings_path": reverse("notifications")})
    if not deliver(recipient.email, subject, body):
        return False
    EmailNotice.objects.create(recipient=recipient, patient=patient, kind=kind, sent_at=timezone.now())
    return True


def again_later(queued_task, attempt, pk):
    """Queue ``queued_task`` for ``pk`` again after a failed send, or log that it was given up."""
    if attempt >= MAX_ATTEMPTS:
        logger.error("Notifications of %s %s were given up after %s attempts", queued_task.name, pk, attempt)
        return
    queued_task.using(run_after=later(attempt)).enqueue(pk, attempt + 1)


@task()
def notify_new_result(assessment_pk, attempt=1):
    """E-mail each doctor of the patient who wants news and has not heard about this patient within the hour."""
    assessment = Assessment.objects.select_related("patient").filter(pk=assessment_pk).first()
    if assessment is None:
        return 0
    patient, sent, failed = assessment.patient, 0, False
    path = reverse("admin:assessments_assessment_change", args=[assessment.pk])
    for doctor in patient.doctors.filter(email_notifications=True, is_active=True):
        if recently_told(doctor, patient, EmailNotice.Kind.NEW_RESULT, QUIET_TIME):
            continue
        if tell(doctor, patient, EmailNotice.Kind.NEW_RESULT, "emails/new_result", path):
            sent += 1
        else:
            failed = True
    if failed:
        again_later(notify_new_result, attempt, assessment_pk)
    return sent


@task()
def notify_review(review_pk, attempt=1):
    """E-mail the patient that a doctor reviewed one of their results (unless they turned e-mails off)."""
    review = Review.objects.select_related("assessment__patient__user").filter(pk=review_pk).first()
    if review is None:
        return 0
    patient = review.assessment.patient
    if not patient.user.email_notifications or not patient.user.is_active:
        return 0
    if EmailNotice.objects.filter(recipient=patient.user, patient=patient, kind=EmailNotice.Kind.REVIEW,
                                  sent_at__gte=review.created_at).exists():
        return 0  # told already by an earlier attempt
    if tell(patient.user, patient, EmailNotice.Kind.REVIEW, "emails/review", review.assessment.get_absolute_url()):
        return 1
    again_later(notify_review, attempt, review_pk)
    return 0


def queue_review_notice(sender, instance, created, raw=False, **kwargs):
    """A new review, however it was written (the admin, a script), queues the patient's e-mail with its row."""
    if created and not raw:
        notify_review.enqueue(instance.pk)


def connect_signals():
    post_save.connect(queue_review_notice, sender=Review, dispatch_uid="notify-patient-of-review")
