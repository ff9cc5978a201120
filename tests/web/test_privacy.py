from django.urls import reverse

from accounts.models import User
from assessments import intake
from tests.base import AlzAwareTestCase, drawn_brain_slice, image_bytes


class PrivacyTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        self.assessment = intake.assess_upload(self.patient, image_bytes(drawn_brain_slice(11)))
        self.urls = [
            self.assessment.get_absolute_url(),
            reverse("assessments:file", args=[self.assessment.pk, "scan"]),
            reverse("assessments:file", args=[self.assessment.pk, "overlay"]),
        ]

    def test_the_owner_can_open_the_page_and_both_images(self):
        self.login(self.patient.user)
        for url in self.urls:
            self.assertEqual(self.client.get(url).status_code, 200, url)

    def test_another_patient_gets_404_for_the_page_the_scan_and_the_overlay(self):
        self.login(self.other_patient.user)
        for url in self.urls:
            self.assertEqual(self.client.get(url).status_code, 404, url)

    def test_the_assigned_doctor_can_see_them_and_another_doctor_cannot(self):
        self.login(self.doctor)
        for url in self.urls:
            self.assertEqual(self.client.get(url).status_code, 200, url)
        stranger = User.objects.create_user(email="other.dr@example.com", password="x", is_staff=True)
        self.login(stranger)
        for url in self.urls:
            self.assertEqual(self.client.get(url).status_code, 404, url)

    def test_a_visitor_who_is_not_logged_in_is_sent_to_log_in(self):
        for url in self.urls:
            response = self.client.get(url)
            self.assertEqual(response.status_code, 302, url)
            self.assertTrue(response["Location"].startswith(reverse("login")))

    def test_media_files_are_not_served_at_a_guessable_public_url(self):
        self.login(self.other_patient.user)
        for name in (self.assessment.scan.name, self.assessment.overlay.name):
            self.assertEqual(self.client.get(f"/media/{name}").status_code, 404)
            self.assertEqual(self.client.get(f"/private-media/{name}").status_code, 404)
