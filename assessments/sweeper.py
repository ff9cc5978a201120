"""What a crash can leave behind, cleared by the task worker (``manage.py task_worker``) when it starts and every
SWEEP_INTERVAL_SECONDS after.

Measured before (issue 25): ``kill -9`` of the server during six volume uploads left 15 files that no row owned
(scans, brain-slice PNGs, heatmaps), which then outlived the patient's erasure; and two faithfulness tasks
stayed RUNNING for good, their pages saying "still checking" forever. So:

- a stored file that no row names, older than ORPHAN_GRACE_SECONDS, is deleted (an upload writes its files
  before its rows commit: the grace period covers an upload in progress);
- a task RUNNING for longer than TASK_LEASE_SECONDS lost its worker: it is run again once, and marked failed
  (its assessment's faithfulness, or its volume's pending images, with it) when that second run did not finish
  either.
"""

import logging
import threading
import time
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from .models import Assessment, FaithfulnessCheck

logger = logging.getLogger(__name__)

# Runs a task that lost its worker may have: a task that kills its worker each time is not run forever.
MAX_ATTEMPTS = 2


def file_fields():
    """``(model, field name, folder)`` of every FileField of the project's models."""
    return [(model, field.name, str(field.upload_to).strip("/")) for model in apps.get_models()
            for field in model._meta.get_fields() if isinstance(field, models.FileField)]


def owned_names():
    names = set()
    for model, name, _ in file_fields():
        names.update(model._default_manager.exclude(**{name: ""}).values_list(name, flat=True))
    return names


def stored_names(storage, folder):
    """Every file under ``folder`` of ``storage``, as the names a FileField stores."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return []
    names = [f"{folder}/{name}" for name in files]
    for inner in folders:
        names += stored_names(storage, f"{folder}/{inner}")
    return names


def remove_orphan_files(storage=None, grace=None):
    """Delete the stored files no row names that are older than the grace period; how many were deleted."""
    storage = storage or default_storage
    grace = timedelta(seconds=settings.ORPHAN_GRACE_SECONDS if grace is None else grace)
    cutoff = timezone.now() - grace
    folders = sorted({folder for _, _, folder in file_fields() if folder})
    # Listed before the rows are read: a file stored after the listing cannot be mistaken for an orphan.
    candidates = [name for folder in folders for name in stored_names(storage, folder)]
    owned = owned_names()
    removed = 0
    for name in candidates:
        if name not in owned and storage.get_modified_time(name) < cutoff:
            storage.delete(name)
            removed += 1
    return removed


def expire_task_leases(lease=None):
    """Tasks RUNNING for longer than the lease: ``(retried, failed)`` counts."""
    lease = timedelta(seconds=settings.TASK_LEASE_SECONDS if lease is None else lease)
    stale = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=timezone.now() - lease)
    retried = failed = 0
    for task in stale:
        with transaction.atomic():
            if len(task.worker_ids) < MAX_ATTEMPTS:
                DBTaskResult.objects.filter(pk=task.pk, status=TaskResultStatus.RUNNING).update(
                    status=TaskResultStatus.READY, started_at=None)
                retried += 1
                continue
            task.set_failed(LeaseExpired(f"The worker running it stopped {len(task.worker_ids)} times."))
            fail_assessment_task(task)
            failed += 1
    return retried, failed


class LeaseExpired(Exception):
    """A task's worker stopped (killed, or its machine lost) before the task finished."""


def fail_assessment_task(task):
    """The assessment a failed task worked for says so, not "pending": its faithfulness could not be worked out,
    or its volume's images could not be drawn (its kept band, which nothing will read now, is deleted)."""
    if not task.args_kwargs.get("args"):
        return
    pk = task.args_kwargs["args"][0]
    if task.task_path.endswith("score_faithfulness"):
        Assessment.objects.filter(pk=pk, faithfulness_check=FaithfulnessCheck.PENDING
                                  ).update(faithfulness_check=FaithfulnessCheck.FAILED)
    elif task.task_path.endswith("draw_volume_heatmap"):
        band = Assessment.objects.filter(pk=pk).values_list("pending_band", flat=True).first()
        if band and Assessment.objects.filter(pk=pk, pending_band=band).update(pending_band=""):
            transaction.on_commit(lambda: default_storage.delete(band))


def sweep():
    """One pass of both; never raises (the worker must keep running), logs what it did."""
    try:
        retried, failed = expire_task_leases()
        removed = remove_orphan_files()
    except Exception:
        logger.exception("The sweep failed; it runs again in %s s", settings.SWEEP_INTERVAL_SECONDS)
        return None
    if retried or failed or removed:
        logger.warning("Sweep: %d tasks whose worker stopped queued again, %d marked failed; %d files no row "
                       "owned deleted", retried, failed, removed)
    return retried, failed, removed


def start_sweeping():
    """Sweep now, then every SWEEP_INTERVAL_SECONDS (none if 0) in a daemon thread (it ends with the worker)."""
    sweep()
    if settings.SWEEP_INTERVAL_SECONDS <= 0:
        return

    def loop():
        while True:
            time.sleep(settings.SWEEP_INTERVAL_SECONDS)
            sweep()

    threading.Thread(target=loop, name="sweeper", daemon=True).start()


def queue_age_seconds():
    """How long the oldest task still waiting to run has waited (0 when none waits): /healthz reports it, so that
    a stopped task worker shows as a queue that only grows older."""
    oldest = DBTaskResult.objects.ready().order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
    return 0 if oldest is None else max(0, round((timezone.now() - oldest).total_seconds()))
