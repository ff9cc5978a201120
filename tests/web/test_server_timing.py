"""Every answer says how long the app took (Server-Timing), for operators and benchmarks/load_test.py."""

from django.urls import reverse

from tests.base import AlzAwareTestCase


class ServerTimingTests(AlzAwareTestCase):
    def test_every_answer_carries_the_apps_own_time(self):
        response = self.client.get(reverse("healthz"))
        self.assertRegex(response["Server-Timing"], r"^app;dur=\d+\.\d$")
