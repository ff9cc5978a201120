"""Every e-mail the site sends goes through here: written in the request, sent by the task worker.

A request only renders the message and queues it (in its own transaction: a sign-up that rolls back sends
nothing); ``manage.py db_worker`` sends it through Django's e-mail backend (the console in development, SMTP
from the environment in production). A send that fails is logged and queued again a little later, up to
MAX_ATTEMPTS times. No message holds health data: only a greeting, what happened and a link to the site.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# The wait before attempt n + 1 is RETRY_DELAY × n: 1, 2, 3 and 4 minutes.
RETRY_DELAY = timedelta(minutes=1)
# At most one e-mail of a kind to a person (about one patient) in this time: a doctor's news of one patient's
# results (assessments.notifications), an owner's note that someone signed up with their address (accounts.signup).
QUIET_TIME = timedelta(hours=1)


def site_link(path):
    """An absolute link to ``path`` on this site (SITE_URL: e-mails are written where no request is at hand)."""
    return settings.SITE_URL.rstrip("/") + path


def render_email(template, context):
    """``(subject, body)`` from ``<template>_subject.txt`` and ``<template>.txt``."""
    context = {**context, "site": settings.SITE_URL.rstrip("/")}
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    return subject, render_to_string(f"{template}.txt", context)


def queue_email(to, template, context):
    """Render the message now and leave the sending to the task worker."""
    subject, body = render_email(template, context)
    send_email.enqueue(to, subject, body)


def deliver(to, subject, body):
    """Send one message now; True when the backend took it, False (logged) when it failed."""
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
    except Exception as failure:
        # The address is personal data: the log names the error, not the recipient.
        logger.warning("An e-mail (%s) could not be sent: %s", subject, failure.__class__.__name__)
        return False
    return True


def later(attempt):
    return timezone.now() + RETRY_DELAY * attempt


@task()
def send_email(to, subject, body, attempt=1):
    """Send a rendered message; on failure queue it again, up to MAX_ATTEMPTS, then log that it was given up."""
    if deliver(to, subject, body):
        return True
    if attempt >= MAX_ATTEMPTS:
        logger.error("An e-mail (%s) was given up after %s attempts", subject, attempt)
        return False
    send_email.using(run_after=later(attempt)).enqueue(to, subject, body, attempt + 1)
    return False
