"""The heatmap's faithfulness score is worked out after the response, by the task queue, and never costs a result."""

from unittest import mock

from django.core.management import call_command
from django.test import TransactionTestCase, tag
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from assessments.models import Assessment, FaithfulnessCheck
from assessments.tasks import score_faithfulness
from tests.base import AlzAwareTestCase, OwnMedia, drawn_brain_slice, image_bytes, make_patient, upload


class FaithfulnessQueueTests(AlzAwareTestCase):
    def submit(self, data):
        self.login(self.patient.user)
        return self.client.post(reverse("assessments:new"), {"scan": upload(data)})

    def test_an_upload_queues_its_score_and_answers_without_it(self):
        self.submit(image_bytes(drawn_brain_slice(1)))
        assessment = Assessment.objects.get()
        self.assertEqual((assessment.faithfulness, assessment.faithfulness_check), (None, FaithfulnessCheck.PENDING))
        queued = DBTaskResult.objects.get(task_path="assessments.tasks.score_faithfulness")
        self.assertEqual(queued.args_kwargs, {"args": [assessment.pk], "kwargs": {}})

    def test_a_refused_upload_queues_nothing(self):
        self.submit(b"Dear doctor, this is not a scan.\n" * 20)
        self.assertEqual(DBTaskResult.objects.count(), 0)

    def test_the_task_stores_the_score_of_the_stored_slice(self):
        self.submit(image_bytes(drawn_brain_slice(2)))
        assessment = Assessment.objects.get()
        before = (assessment.prediction, assessment.probabilities)
        score = score_faithfulness.call(assessment.pk)
        assessment.refresh_from_db()
        self.assertEqual(assessment.faithfulness, score)
        self.assertEqual(assessment.faithfulness_check, FaithfulnessCheck.DONE)
        self.assertEqual((assessment.prediction, assessment.probabilities), before)

    def test_a_failing_score_is_marked_and_the_result_kept(self):
        self.submit(image_bytes(drawn_brain_slice(3)))
        assessment = Assessment.objects.get()
        with mock.patch("mri.inference.engine.Engine.faithfulness", side_effect=RuntimeError("out of memory")), \
                self.assertRaises(RuntimeError):
            score_faithfulness.call(assessment.pk)
        assessment.refresh_from_db()
        self.assertEqual((assessment.faithfulness, assessment.faithfulness_check), (None, FaithfulnessCheck.FAILED))
        page = self.client.get(assessment.get_absolute_url())
        self.assertContains(page, f"Result: {assessment.prediction}")
        self.assertNotContains(page, "We are still checking")
        self.login(self.doctor)
        admin_page = self.client.get(reverse("admin:assessments_assessment_change", args=[assessment.pk]))
        self.assertContains(admin_page, "could not be worked out")

    def test_an_assessment_of_another_model_is_not_scored(self):
        self.submit(image_bytes(drawn_brain_slice(4)))
        Assessment.objects.update(model_sha256="0" * 64)
        self.assertIsNone(score_faithfulness.call(Assessment.objects.get().pk))
        self.assertEqual(Assessment.objects.get().faithfulness_check, FaithfulnessCheck.FAILED)


@tag("slow")  # the real queue through manage.py db_worker, in a transaction test
class WorkerTests(OwnMedia, TransactionTestCase):
    """The real queue: rows committed by the upload, then `manage.py db_worker` as a deployment runs it."""

    def test_the_worker_runs_the_queued_score(self):
        patient = make_patient("worker@example.com", "Wanda", "Worker")
        self.client.force_login(patient.user)
        self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(drawn_brain_slice(5)))})
        call_command("db_worker", batch=True, interval=0, verbosity=0)
        assessment = Assessment.objects.get()
        self.assertEqual(assessment.faithfulness_check, FaithfulnessCheck.DONE)
        self.assertIsNotNone(assessment.faithfulness)
        self.assertEqual(DBTaskResult.objects.get(task_path="assessments.tasks.score_faithfulness").status,
                         "SUCCESSFUL")
