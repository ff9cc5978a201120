"""Every answer says how long the app took (Server-Timing), for operators and tools/load_test.py."""

from django.urls import reverse

from .base import AlzAwareTestCase

class ServerTimingTests(AlzAwareTestCase):
    def test_every_answer_carries_the_apps_own_time(self):
        response = self.client.get(reverse("healthz"))
        self.assertRegex(response["Server-Timing"], r"^app;dur=\d+\.\d$")
