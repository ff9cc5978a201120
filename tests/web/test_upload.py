import io
import tempfile
from pathlib import Path
from unittest import mock

from django.test import override_settings
from django.urls import reverse

from assessments import services
from assessments.models import Assessment
from mri import CLASSES
from tests.base import AlzAwareTestCase, drawn_brain_slice, image_bytes, training_command, upload


class UploadTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        self.login(self.patient.user)

    def submit(self, data, name="scan.png"):
        return self.client.post(reverse("assessments:new"), {"scan": upload(data, name)})

    def test_it_analyses_an_upload_and_shows_the_result(self):
        response = self.submit(image_bytes(drawn_brain_slice(1)), name="Ada Lovelace brain.png")
        assessment = Assessment.objects.get()
        self.assertRedirects(response, assessment.get_absolute_url())
        self.assertEqual(assessment.patient, self.patient)
        self.assertIn(assessment.prediction, CLASSES)
        self.assertAlmostEqual(sum(assessment.probabilities.values()), 1.0, places=4)
        self.assertAlmostEqual(assessment.confidence, max(assessment.probabilities.values()))
        self.assertTrue(assessment.scan.name.startswith("scans/"))
        self.assertTrue(assessment.overlay.name.startswith("heatmaps/"))
        self.assertNotIn("Lovelace", assessment.scan.name)
        self.assertTrue(assessment.maps.name.startswith("heatmaps/"))
        self.assertEqual(self.stored_files(),
                         sorted([assessment.scan.name, assessment.overlay.name, assessment.maps.name]))

    def test_the_result_page_shows_both_images_all_probabilities_and_the_notice(self):
        self.submit(image_bytes(drawn_brain_slice(2)))
        assessment = Assessment.objects.get()
        page = self.client.get(assessment.get_absolute_url())
        self.assertContains(page, "Original MRI")
        self.assertContains(page, "Heatmap Overlay")
        self.assertContains(page, reverse("assessments:file", args=[assessment.pk, "scan"]))
        self.assertContains(page, reverse("assessments:file", args=[assessment.pk, "overlay"]))
        for name in CLASSES:
            self.assertContains(page, name)
        self.assertContains(page, "not a diagnosis")
        self.assertContains(page, "red means")
        for url in (reverse("assessments:file", args=[assessment.pk, kind]) for kind in ("scan", "overlay")):
            image = self.client.get(url)
            self.assertEqual(image["Content-Type"], "image/png")
            self.assertEqual(b"".join(image.streaming_content)[:8], b"\x89PNG\r\n\x1a\n")

    def test_history_lists_the_patients_own_assessments_newest_first(self):
        self.submit(image_bytes(drawn_brain_slice(3)))
        self.submit(image_bytes(drawn_brain_slice(4), "JPEG"), name="scan.jpg")
        first, second = Assessment.objects.order_by("pk")
        page = self.client.get(reverse("assessments:history"))
        content = page.content.decode()
        self.assertLess(content.index(second.get_absolute_url()), content.index(first.get_absolute_url()))
        self.client.force_login(self.other_patient.user)
        self.assertNotContains(self.client.get(reverse("assessments:history")), first.get_absolute_url())

    def test_an_untrained_model_is_named_as_such(self):
        with tempfile.TemporaryDirectory() as tmp:
            stand_in = Path(tmp) / "untrained.pt"
            training_command("make_untrained_model", "--out", str(stand_in), "--input-size", "64", stdout=io.StringIO())
            with override_settings(ALZAWARE_MODEL_PATH=stand_in):
                self.submit(image_bytes(drawn_brain_slice(5)))
                page = self.client.get(Assessment.objects.get().get_absolute_url())
        self.assertIs(Assessment.objects.get().model_trained, False)
        self.assertContains(page, "The program that made this result has not been trained")
        self.assertNotContains(page, "How often the program is right")

    def test_the_shipped_model_says_how_likely_any_impairment_is_and_how_often_it_was_right(self):
        self.submit(image_bytes(drawn_brain_slice(5)))
        assessment = Assessment.objects.get()
        self.assertIs(assessment.model_trained, True)
        page = self.client.get(assessment.get_absolute_url())
        self.assertNotContains(page, "has not been trained")
        text = " ".join(page.content.decode().split())
        any_impairment = assessment.any_impairment  # the network's, stacked with the measures by the shipped model
        self.assertIn(f"as the program sees it: <strong>{any_impairment * 100:.1f}%</strong>", text)
        record = services.current_engine().metadata["cross_validation"]
        self.assertIn(f"we tested it on people it had not seen before. It gave the right grade for "
                      f"{record['subject_accuracy'] * 100:.0f} in 100 of them. It told apart people with and without "
                      f"some impairment {record['any_impairment_balanced_accuracy'] * 100:.0f} times in 100", text)
        self.assertContains(page, reverse("model_card"))

    def test_a_failing_heatmap_still_saves_and_shows_the_prediction(self):
        with mock.patch("mri.explain.explanations.overlay_png", side_effect=RuntimeError("boom")), \
                self.assertLogs("assessments.intake", level="ERROR") as logs:
            response = self.submit(image_bytes(drawn_brain_slice(6)))
        assessment = Assessment.objects.get()
        self.assertRedirects(response, assessment.get_absolute_url())
        self.assertFalse(assessment.overlay)
        self.assertIn("Heatmap failed", logs.output[0])
        page = self.client.get(assessment.get_absolute_url())
        self.assertContains(page, f"Result: {assessment.prediction}")
        self.assertNotContains(page, "Heatmap Overlay")
        self.assertEqual(self.stored_files(), [assessment.scan.name])
        self.assertEqual(self.client.get(reverse("assessments:file", args=[assessment.pk, "overlay"])).status_code, 404)

    def test_a_failure_while_saving_a_volume_removes_every_file_it_had_stored(self):
        from django.db import DatabaseError

        from assessments import intake
        from assessments.models import AssessmentSlice
        from tests.fixtures import scan_files

        # The slice rows are written last, after the volume's scans and overlays are on disk.
        with mock.patch.object(AssessmentSlice.objects, "bulk_create", side_effect=DatabaseError("disk full")), \
                self.assertRaises(DatabaseError):
            intake.assess_upload(self.patient, scan_files.mni_nifti_bytes(2))
        self.assertFalse(Assessment.objects.exists())
        self.assertEqual(self.stored_files(), [])

    def assert_refused(self, data, name, message):
        response = self.submit(data, name)
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, message, status_code=400)
        self.assertFalse(Assessment.objects.exists())
        self.assertEqual(self.stored_files(), [])

    def test_it_refuses_an_empty_file(self):
        self.assert_refused(b"", "scan.png", "empty")

    def test_it_refuses_a_text_file_renamed_png(self):
        self.assert_refused(b"Dear doctor, this is not a scan.\n" * 20, "scan.png", "could not read this file")

    def test_it_refuses_a_21_mb_file_before_reading_it(self):
        big = image_bytes(drawn_brain_slice(7)) + b"\0" * (21 * 1024 * 1024)
        response = self.submit(big, "scan.png")
        # Refused by its Content-Length (alzaware.middleware.limit_request_body), with the form's words.
        self.assertContains(response, "larger than 20 MB", status_code=413)
        self.assertIn("default-src 'self'", response["Content-Security-Policy"])
        self.assertFalse(Assessment.objects.exists())
        self.assertEqual(self.stored_files(), [])

    def test_a_file_just_over_the_limit_is_refused_by_its_size_before_it_is_read(self):
        from django.core.files.uploadedfile import InMemoryUploadedFile

        # Within the body's allowance for the form around the file, so the view itself must refuse it.
        just_over = image_bytes(drawn_brain_slice(7)) + b"\0" * (1024 * 1024)
        unread = mock.patch.object(InMemoryUploadedFile, "read", side_effect=AssertionError("read"))
        sent = io.BytesIO(just_over)
        sent.name = "scan.png"  # a plain file for the test client, so that only the server's upload is unread
        with override_settings(MAX_UPLOAD_BYTES=1024 * 1024), unread:
            response = self.client.post(reverse("assessments:new"), {"scan": sent})
        self.assertContains(response, "larger than 1 MB", status_code=400)
        self.assertFalse(Assessment.objects.exists())

    def test_a_doctor_cannot_submit_scans(self):
        self.client.force_login(self.doctor)
        response = self.submit(image_bytes(drawn_brain_slice(8)))
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Assessment.objects.exists())


class ModelCardTests(AlzAwareTestCase):
    def test_the_result_page_links_to_the_model_card_which_shows_the_measured_numbers(self):
        self.login(self.patient.user)
        self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(drawn_brain_slice(9)))})
        page = self.client.get(Assessment.objects.get().get_absolute_url())
        self.assertContains(page, reverse("model_card"))
        card = self.client.get(reverse("model_card"))
        self.assertContains(card, "balanced accuracy")
        # The card's headline is the figure the checkpoint carries, so page and card cannot disagree.
        record = services.current_engine().metadata["cross_validation"]
        self.assertContains(card, f"for <strong>{record['subject_accuracy']:.3f} of {record['subjects']} people</strong>")
