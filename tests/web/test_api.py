from django.conf import settings
from django.test import Client
from django.urls import reverse

from assessments.models import Assessment
from mri import CLASSES
from tests.base import PASSWORD, AlzAwareTestCase, drawn_brain_slice, image_bytes, stored_assessment, upload


class ApiTests(AlzAwareTestCase):
    def token_for(self, email):
        response = self.client.post(reverse("api-token"), {"email": email, "password": PASSWORD},
                                    content_type="application/json")
        self.assertEqual(response.status_code, 200)
        return response.json()["token"]

    def predict(self, data, **headers):
        return self.client.post(reverse("api-predict"), {"file": upload(data)}, **headers)

    def test_predict_answers_exactly_the_documented_json(self):
        token = self.token_for("ada@example.com")
        response = self.predict(image_bytes(drawn_brain_slice(31)), HTTP_AUTHORIZATION=f"Token {token}")
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(set(body), {"prediction", "confidence", "class_probabilities", "heatmap_url",
                                     "any_impairment", "regions", "headline", "measures"})
        # The app's estimate as stored: stacked with the measures where the model carries that (mri.combined).
        self.assertEqual(body["any_impairment"], round(Assessment.objects.get().any_impairment, 6))
        self.assertIn(body["prediction"], CLASSES)
        self.assertIsInstance(body["confidence"], float)
        self.assertTrue(0 <= body["confidence"] <= 1)
        self.assertEqual(list(body["class_probabilities"]), list(CLASSES))
        for value in body["class_probabilities"].values():
            self.assertRegex(value, r"^\d{1,3}\.\d{2}%$")
        total = sum(float(v.rstrip("%")) for v in body["class_probabilities"].values())
        self.assertAlmostEqual(total, 100, delta=0.05)
        assessment = Assessment.objects.get()
        self.assertEqual(assessment.patient, self.patient)
        self.assertTrue(body["heatmap_url"].startswith("http://testserver/"))
        self.client.force_login(self.patient.user)
        self.assertEqual(self.client.get(body["heatmap_url"]).status_code, 200)
        self.client.force_login(self.other_patient.user)
        self.assertEqual(self.client.get(body["heatmap_url"]).status_code, 404)

    def test_predict_works_with_a_session_too(self):
        self.client.force_login(self.patient.user)
        self.assertEqual(self.predict(image_bytes(drawn_brain_slice(32))).status_code, 200)

    def test_predict_needs_authentication(self):
        self.assertIn(self.predict(image_bytes(drawn_brain_slice(33))).status_code, (401, 403))
        self.assertFalse(Assessment.objects.exists())

    def test_predict_refuses_a_text_file_with_a_json_error_and_stores_nothing(self):
        self.client.force_login(self.patient.user)
        response = self.predict(b"not an image at all")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "unreadable")
        self.assertIn("detail", response.json())
        self.assertFalse(Assessment.objects.exists())
        self.assertEqual(self.stored_files(), [])

    def test_more_files_than_a_request_may_hold_are_refused_in_the_error_shape(self):
        self.client.force_login(self.patient.user)
        files = [upload(b"x", name=f"IM{i}") for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)]
        response = self.client.post(reverse("api-predict"), {"file": files})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "too_many_files")
        self.assertFalse(Assessment.objects.exists())

    def test_predict_without_a_file_says_which_field_is_missing(self):
        self.client.force_login(self.patient.user)
        response = self.client.post(reverse("api-predict"), {})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "missing_file")

    def test_a_logged_in_browser_gets_a_token_without_a_csrf_token(self):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(self.patient.user)
        response = browser.post(reverse("api-token"), {"email": "ada@example.com", "password": PASSWORD})
        self.assertEqual(response.status_code, 200)

    def test_a_wrong_password_gets_no_token(self):
        response = self.client.post(reverse("api-token"), {"email": "ada@example.com", "password": "wrong"})
        self.assertEqual(response.status_code, 400)

    def test_the_list_holds_only_the_callers_assessments(self):
        self.client.force_login(self.patient.user)
        self.predict(image_bytes(drawn_brain_slice(34)))
        self.client.force_login(self.other_patient.user)
        self.predict(image_bytes(drawn_brain_slice(35)))
        listing = self.client.get(reverse("api-assessments")).json()["results"]
        self.assertEqual(len(listing), 1)
        self.assertEqual(listing[0]["id"], Assessment.objects.get(patient=self.other_patient).pk)
        self.assertIn("heatmap_url", listing[0])

    def test_another_patients_assessment_is_a_404_in_the_error_shape(self):
        mine = stored_assessment(self.patient)
        self.client.force_login(self.other_patient.user)
        response = self.client.get(reverse("api-assessment", args=[mine.pk]))
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response.json(), {"error": "not_found", "detail": "No such assessment."})

    def test_a_doctor_cannot_submit_and_is_told_so_in_the_error_shape(self):
        self.client.force_login(self.doctor)
        response = self.predict(image_bytes(drawn_brain_slice(36)))
        self.assertEqual(response.status_code, 403)
        self.assertEqual(response.json(), {"error": "permission_denied", "detail": "Only patients can submit scans."})

    def test_an_address_under_the_api_that_does_not_exist_answers_in_the_error_shape(self):
        self.client.force_login(self.patient.user)
        response = self.client.get("/api/assessments/-1/")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response.json(), {"error": "not_found", "detail": "There is nothing at this address."})
