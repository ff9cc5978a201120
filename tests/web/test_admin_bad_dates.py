"""The admin's assessment list ignores a date it cannot use instead of failing with a 500."""

from django.urls import reverse

from tests.base import AlzAwareTestCase


class AdminBadDateTests(AlzAwareTestCase):
    def test_a_year_too_large_for_a_date_is_ignored_like_any_bad_date(self):
        self.login(self.doctor)
        url = reverse("admin:assessments_assessment_changelist")
        for query in ("created_at__year=99999999999", "created_at__year=abc",
                      "created_at__year=2024&created_at__month=99999999999999999999"):
            with self.subTest(query=query):
                response = self.client.get(f"{url}?{query}")
                # Django's own answer to a bad lookup: the whole list again, marked ?e=1.
                self.assertEqual(response.status_code, 302)
                self.assertEqual(response["Location"], f"{url}?e=1")
                self.assertEqual(self.client.get(response["Location"]).status_code, 200)
