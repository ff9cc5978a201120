"""/healthz: for the load balancer, without a login, with no data in the answer."""

from unittest import mock

from django.db import OperationalError
from django.test import override_settings
from django.urls import reverse

from tests.base import AlzAwareTestCase


class HealthTests(AlzAwareTestCase):
    def test_it_answers_200_without_a_login_when_the_database_and_the_model_answer(self):
        response = self.client.get(reverse("healthz"))
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual((body["status"], body["database"], body["model"]), ("ok", "ok", "ok"))
        self.assertEqual(set(body), {"status", "database", "model", "engine", "task_queue_age_seconds"})
        self.assertEqual(response["Cache-Control"], "no-store")

    def test_it_answers_503_when_the_model_cannot_be_loaded(self):
        with override_settings(ALZAWARE_MODEL_PATH="/nonexistent/model.pt"), \
                self.assertLogs("assessments.services", level="ERROR"):
            response = self.client.get(reverse("healthz"))
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["model"], "unavailable")

    def test_it_answers_503_when_the_database_does_not(self):
        with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("down")), \
                self.assertLogs("assessments.services", level="ERROR"):
            response = self.client.get(reverse("healthz"))
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["database"], "unavailable")
