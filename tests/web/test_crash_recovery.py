"""What a crash leaves behind is swept up by the task worker: stored files no row owns (after a grace period) and
tasks whose worker died (run again once, then marked failed); /healthz says how old the task queue is."""

import os
import time
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import TransactionTestCase, override_settings, tag
from django.urls import reverse
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from assessments.models import Assessment, FaithfulnessCheck
from assessments.sweeper import expire_task_leases, remove_orphan_files, sweep
from tests.base import AlzAwareTestCase, OwnMedia, drawn_brain_slice, image_bytes, make_patient, upload
from tests.fixtures import scan_files

HOUR = 3600


def orphan(name, age_seconds):
    """A file as a killed upload leaves it: stored, its rows never committed."""
    saved = default_storage.save(name, ContentFile(b"slice"))
    then = time.time() - age_seconds
    os.utime(default_storage.path(saved), (then, then))
    return saved


def faithfulness_task():
    """The upload's faithfulness task (an upload also queues its doctors' e-mail)."""
    return DBTaskResult.objects.get(task_path__endswith="score_faithfulness")


def running_task(minutes_ago, attempts=1):
    """The upload's faithfulness task, as a worker killed while running it leaves it."""
    task = faithfulness_task()
    DBTaskResult.objects.filter(pk=task.pk).update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now() - timedelta(minutes=minutes_ago),
        worker_ids=[f"killed-{i}" for i in range(attempts)])
    return task


class CrashRecoveryTests(AlzAwareTestCase):
    def submit(self):
        self.login(self.patient.user)
        self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(drawn_brain_slice(3)))})
        return Assessment.objects.get()

    def test_files_no_row_owns_are_removed_after_the_grace_period_and_owned_ones_stay(self):
        assessment = self.submit()
        owned = self.stored_files()
        old = orphan("scans/killed-upload.png", 2 * HOUR)
        fresh = orphan("heatmaps/upload-in-progress.png", 60)
        self.assertEqual(remove_orphan_files(grace=HOUR), 1)
        self.assertFalse(default_storage.exists(old))
        self.assertTrue(default_storage.exists(fresh))
        self.assertEqual(sorted(set(self.stored_files()) - {fresh}), owned)
        self.assertTrue(default_storage.exists(assessment.scan.name))

    def test_a_task_whose_worker_died_is_run_again(self):
        self.submit()
        task = running_task(minutes_ago=60)
        self.assertEqual(expire_task_leases(lease=15 * 60), (1, 0))
        task.refresh_from_db()
        self.assertEqual(task.status, TaskResultStatus.READY)

    def test_a_task_whose_worker_died_twice_is_marked_failed_with_its_assessment(self):
        assessment = self.submit()
        task = running_task(minutes_ago=60, attempts=2)
        self.assertEqual(expire_task_leases(lease=15 * 60), (0, 1))
        task.refresh_from_db()
        assessment.refresh_from_db()
        self.assertEqual(task.status, TaskResultStatus.FAILED)
        self.assertEqual(assessment.faithfulness_check, FaithfulnessCheck.FAILED)

    def test_a_volume_task_whose_worker_died_twice_drops_the_band_and_the_page_stops_waiting(self):
        self.login(self.patient.user)
        self.client.post(reverse("assessments:new"), {"scan": upload(scan_files.mni_nifti_bytes(2, compressed=True),
                                                                      "brain.nii.gz", "application/gzip")})
        assessment = Assessment.objects.get()
        band = assessment.pending_band.name
        task = DBTaskResult.objects.get(task_path__endswith="draw_volume_heatmap")
        DBTaskResult.objects.filter(pk=task.pk).update(
            status=TaskResultStatus.RUNNING, started_at=timezone.now() - timedelta(hours=1),
            worker_ids=["killed-0", "killed-1"])
        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(expire_task_leases(lease=15 * 60), (0, 1))
        assessment.refresh_from_db()
        self.assertEqual(assessment.pending_band.name, "")
        self.assertFalse(default_storage.exists(band))
        page = self.client.get(assessment.get_absolute_url())
        self.assertContains(page, f"Result: {assessment.prediction}")
        self.assertNotContains(page, "being prepared")
        self.assertNotContains(page, "still being drawn")
        self.assertContains(page, "The picture could not be made")

    def test_a_task_running_within_its_lease_is_left_alone(self):
        self.submit()
        task = running_task(minutes_ago=1)
        self.assertEqual(expire_task_leases(lease=15 * 60), (0, 0))
        task.refresh_from_db()
        self.assertEqual(task.status, TaskResultStatus.RUNNING)

    def test_the_sweep_logs_what_it_removed_and_never_raises(self):
        orphan("scans/killed-upload.png", 2 * HOUR)
        with override_settings(ORPHAN_GRACE_SECONDS=HOUR), self.assertLogs("assessments.sweeper", "WARNING"):
            self.assertEqual(sweep(), (0, 0, 1))

    def test_healthz_reports_how_long_the_oldest_queued_task_has_waited(self):
        self.submit()
        DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(seconds=90))
        body = self.client.get(reverse("healthz")).json()
        self.assertGreaterEqual(body["task_queue_age_seconds"], 90)
        self.assertLess(body["task_queue_age_seconds"], 90 + 60)
        DBTaskResult.objects.all().delete()
        self.assertEqual(self.client.get(reverse("healthz")).json()["task_queue_age_seconds"], 0)


@tag("slow")  # the real queue through manage.py task_worker, in a transaction test
class TaskWorkerTests(OwnMedia, TransactionTestCase):
    """The real queue, as after a crash: committed rows, a task left RUNNING, a file left without a row."""

    @override_settings(SWEEP_INTERVAL_SECONDS=0, ORPHAN_GRACE_SECONDS=HOUR, TASK_LEASE_SECONDS=15 * 60)
    def test_the_task_worker_sweeps_when_it_starts_then_runs_the_queue(self):
        patient = make_patient("worker@example.com", "Wanda", "Worker")
        self.client.force_login(patient.user)
        self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(drawn_brain_slice(5)))})
        assessment = Assessment.objects.get()
        running_task(minutes_ago=60)
        old = orphan("scans/killed-upload.png", 2 * HOUR)
        call_command("task_worker", batch=True, interval=0, verbosity=0)
        assessment.refresh_from_db()
        self.assertFalse(default_storage.exists(old))
        # Queued again by the sweep, then run by the worker: nothing stays RUNNING.
        self.assertEqual(faithfulness_task().status, TaskResultStatus.SUCCESSFUL)
        self.assertEqual(assessment.faithfulness_check, FaithfulnessCheck.DONE)
