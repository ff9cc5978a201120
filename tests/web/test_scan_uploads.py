"""DICOM and NIfTI through the web form and the API: results with overlays, volumes with their slices,
personal DICOM fields nowhere, and the "outside what the model was trained on" mark."""

import io
import os
import warnings
from unittest import mock

import numpy as np
from django.core import serializers
from django.urls import reverse
from PIL import Image

from assessments.models import Assessment, AssessmentSlice
from assessments.tasks import draw_volume_heatmap
from mri.inference import ood
from mri.io.nifti import BAND_FOREGROUND, BAND_SLICES, band_positions
from mri.io.quality import robust_window
from tests.base import AlzAwareTestCase, drawn_brain_slice, everything_said, image_bytes, upload, without_detector
from tests.fixtures import scan_files


def everything_is(status):
    """A detector whose thresholds put every input in one verdict (to check how each is shown)."""
    # Every (unit-length) feature vector is at distance 1 from this detector's centre.
    thresholds = {ood.IN: (np.inf, np.inf), ood.UNSURE: (0.5, np.inf), ood.OUT: (0.1, 0.5)}[status]
    detector = ood.OodDetector(mean=np.zeros(2048), components=np.eye(4, 2048), variances=np.ones(4),
                               residual_variance=1.0, unsure_above=thresholds[0], refuse_above=thresholds[1])
    return mock.patch.object(ood, "detector_for", return_value=detector)


class ScanUploadTests(AlzAwareTestCase):
    """With the configured model's own detector, when it has one: these are real brains."""

    use_ood_detector = True

    def setUp(self):
        super().setUp()
        self.login(self.patient.user)

    def submit(self, data, name):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.client.post(reverse("assessments:new"), {"scan": upload(data, name, "application/octet-stream")})

    def predict(self, data, name="upload"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.client.post(reverse("api-predict"), {"file": upload(data, name, "application/octet-stream")})

    def test_a_brain_slice_written_as_dicom_gets_a_result_with_an_overlay(self):
        response = self.submit(scan_files.dicom_bytes(scan_files.mni_axial()), "IM0001")
        assessment = Assessment.objects.get()
        self.assertRedirects(response, assessment.get_absolute_url())
        self.assertEqual(assessment.source_format, "dicom")
        self.assertTrue(assessment.overlay)
        page = self.client.get(assessment.get_absolute_url())
        self.assertContains(page, "Heatmap Overlay")
        self.assertContains(page, "DICOM")
        self.assertContains(page, "Field strength (tesla)")
        scan = Image.open(io.BytesIO(b"".join(self.client.get(
            reverse("assessments:file", args=[assessment.pk, "scan"])).streaming_content)))
        self.assertEqual(scan.size, (197, 233))

    def test_a_compressed_brain_dicom_is_read_like_the_plain_one(self):
        from pydicom.pixels import get_encoder
        from pydicom.uid import JPEG2000Lossless

        if not get_encoder(JPEG2000Lossless).is_available:
            self.skipTest("no JPEG 2000 encoder installed for pydicom")
        brain = scan_files.mni_axial().astype(np.uint16) * 16
        plain = self.predict(scan_files.dicom_bytes(brain)).json()
        packed = self.predict(scan_files.dicom_bytes(brain, transfer_syntax=JPEG2000Lossless)).json()
        self.assertEqual(plain["class_probabilities"], packed["class_probabilities"])

    def test_a_dicoms_personal_fields_leave_no_trace_in_the_database_files_or_logs(self):
        with everything_said() as said:
            self.submit(scan_files.dicom_bytes(scan_files.mni_axial()), "Testperson_Hermione.dcm")
            self.predict(scan_files.dicom_bytes(scan_files.mni_axial(4)), "Testperson_Hermione.dcm")
            # and a refused one: the logs of a refusal must be clean too
            broken = scan_files.dicom_bytes(scan_files.mni_axial())
            self.predict(broken[: len(broken) - 5000], "Testperson_Hermione.dcm")
        self.assertEqual(Assessment.objects.count(), 2)
        secrets = ["Testperson", "Hermione", "PID-7741", "19480517", "Privet", "St Mungo", "Referrer",
                   "ACC99887766", "OTHER-ID-5566"]
        database = serializers.serialize("json", [*Assessment.objects.all(), *AssessmentSlice.objects.all()])
        logs = said.text
        for secret in secrets:
            with self.subTest(secret=secret):
                self.assertNotIn(secret.lower(), database.lower())
                self.assertNotIn(secret.lower(), logs.lower())
                for name in self.stored_files():
                    self.assertNotIn(secret.lower(), name.lower())
                    with open(os.path.join(self.media_root, name), "rb") as fh:
                        self.assertNotIn(secret.encode(), fh.read())
        page = self.client.get(Assessment.objects.first().get_absolute_url())
        self.assertNotContains(page, "Testperson")

    def test_a_nifti_volume_gives_a_volume_result_with_every_slice(self):
        response = self.submit(scan_files.mni_nifti_bytes(2, compressed=True), "sub-01_T1w.nii.gz")
        assessment = Assessment.objects.get()
        self.assertRedirects(response, assessment.get_absolute_url())
        slices = list(assessment.slices.all())
        self.assertEqual(len(slices), BAND_SLICES)
        counted = [s for s in slices if s.ood_status != ood.OUT]
        mean = np.mean([[s.probabilities[name] for name in sorted(s.probabilities)] for s in counted], axis=0)
        np.testing.assert_allclose([assessment.probabilities[name] for name in sorted(assessment.probabilities)],
                                   mean, atol=1e-9)
        self.assertEqual(sum(s.representative for s in slices), 1)
        shown = next(s for s in slices if s.representative)
        self.assertEqual(shown.scan.name, assessment.scan.name)
        self.assertEqual(shown.prediction, assessment.prediction)
        self.assertTrue(draw_volume_heatmap.call(assessment.pk))  # the slices' images come from the task worker
        page = self.client.get(assessment.get_absolute_url())
        self.assertContains(page, "Heatmap Overlay")
        self.assertContains(page, "Each analysed slice")
        for one in slices:
            self.assertContains(page, reverse("assessments:slice_file", args=[assessment.pk, one.position, "overlay"]))
        # Slice images are as private as the rest.
        url = reverse("assessments:slice_file", args=[assessment.pk, slices[0].position, "overlay"])
        self.assertEqual(self.client.get(url).status_code, 200)
        self.client.force_login(self.other_patient.user)
        self.assertEqual(self.client.get(url).status_code, 404)

    def test_a_volume_with_one_usable_slice_lists_every_slice_with_the_reason(self):
        volume = scan_files.mni_array(2).copy()
        positions = band_positions(volume, (2.0, 2.0, 2.0))
        high = robust_window(volume.ravel())[1]
        for position in positions[:4] + positions[5:]:
            # Flat slices with the brain's cross-section kept (and so the band): refused one by one, the volume kept.
            volume[:, :, position] = np.where(volume[:, :, position] > BAND_FOREGROUND * high, high / 2, 0)
        data = scan_files.nifti_bytes(volume, scan_files.mni_volume(2).affine)
        self.submit(data, "one-good-slice.nii")
        assessment = Assessment.objects.get()
        slices = list(assessment.slices.all())
        self.assertEqual([s.position for s in slices], positions)
        self.assertEqual([s.position for s in slices if s.counted], [positions[4]])
        self.assertEqual({s.left_out for s in slices if not s.counted}, {"inside_detail"})
        page = self.client.get(assessment.get_absolute_url())
        self.assertContains(page, "looked at 1 slice from the middle of the brain and took the average. "
                                  "8 more slices were left out.")
        self.assertContains(page, "Not analysed", count=8)
        self.assertContains(page, "left out of the result: no detail inside the head", count=8)
        body = self.predict(data, "again.nii").json()
        self.assertEqual([one["position"] for one in body["slices"]], positions)
        self.assertEqual([one["position"] for one in body["slices"] if one["counted"]], [positions[4]])
        left_out = [one for one in body["slices"] if not one["counted"]]
        self.assertEqual({one["reason"] for one in left_out}, {"inside_detail"})
        self.assertEqual({one["prediction"] for one in left_out}, {None})

    def test_the_api_gives_a_volume_result_in_the_documented_keys_plus_slices(self):
        response = self.predict(scan_files.mni_nifti_bytes(2), "brain.nii")
        self.assertEqual(response.status_code, 200)
        body = response.json()
        # "warning" exactly when some slice of the volume lies outside what the model was trained on.
        # No heatmap_volume_url yet: the task worker draws the slices' images and the 3-D heatmap after the answer.
        self.assertEqual(set(body) - {"warning"},
                         {"prediction", "confidence", "class_probabilities", "heatmap_url", "any_impairment",
                          "regions", "headline", "measures", "slices", "volume_pending"})
        self.assertTrue(body["volume_pending"])
        self.assertEqual("warning" in body, any(one["outside_training"] for one in body["slices"]))
        self.assertEqual(len(body["slices"]), BAND_SLICES)
        for one in body["slices"]:
            self.assertLessEqual({"position", "prediction", "confidence", "class_probabilities", "heatmap_url",
                                  "any_impairment"}, set(one))
            # Only the shown slice's image is the result's own, there at once.
            self.assertEqual(one["heatmap_url"] is None, not one["representative"])
        assessment = Assessment.objects.get()
        self.assertTrue(draw_volume_heatmap.call(assessment.pk))
        body = self.client.get(reverse("api-assessment", args=[assessment.pk])).json()
        self.assertFalse(body["volume_pending"])
        self.assertIn("heatmap_volume_url", body)
        for one in body["slices"]:
            self.assertTrue(one["heatmap_url"].startswith("http"))
        self.assertEqual(self.client.get(body["slices"][0]["heatmap_url"]).status_code, 200)

    def test_a_4d_nifti_is_analysed_like_its_first_volume(self):
        three_d = self.predict(scan_files.mni_nifti_bytes(2), "a.nii").json()
        four_d = self.predict(scan_files.mni_nifti_bytes(2, compressed=True, volumes=2), "b.nii.gz").json()
        self.assertEqual(three_d["class_probabilities"], four_d["class_probabilities"])

    def test_a_single_image_still_answers_exactly_the_documented_keys(self):
        with without_detector():  # the API's shape, whatever the detector thinks of a drawn slice
            body = self.predict(image_bytes(drawn_brain_slice(3)), "scan.png").json()
        self.assertEqual(set(body), {"prediction", "confidence", "class_probabilities", "heatmap_url",
                                     "any_impairment", "regions", "headline", "measures"})


class OutOfDistributionTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        self.login(self.patient.user)

    def test_a_confident_out_of_distribution_input_is_refused_and_nothing_is_stored(self):
        with everything_is(ood.OUT):
            page = self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(drawn_brain_slice(1)))})
            api_response = self.client.post(reverse("api-predict"), {"file": upload(image_bytes(drawn_brain_slice(1)))})
        self.assertContains(page, "does not look like an axial brain MRI slice", status_code=400)
        self.assertEqual(api_response.status_code, 400)
        self.assertEqual(api_response.json()["error"], "not_brain")
        self.assertFalse(Assessment.objects.exists())
        self.assertEqual(self.stored_files(), [])

    def test_an_unsure_input_is_analysed_and_marked_on_the_page_the_api_and_the_admin(self):
        with everything_is(ood.UNSURE):
            response = self.client.post(reverse("api-predict"), {"file": upload(image_bytes(drawn_brain_slice(2)))})
        body = response.json()
        self.assertEqual(response.status_code, 200)
        self.assertEqual(body["warning"], ood.OUTSIDE_TRAINING)
        assessment = Assessment.objects.get()
        self.assertEqual(assessment.ood_status, "unsure")
        self.assertContains(self.client.get(assessment.get_absolute_url()), "outside what the program was trained on")
        self.client.force_login(self.doctor)
        admin_page = self.client.get(reverse("admin:assessments_assessment_change", args=[assessment.pk]))
        self.assertContains(admin_page, "OUTSIDE what the model was trained on")

    def test_a_volume_is_refused_only_when_none_of_its_slices_is_usable(self):
        self.assertEqual(ood.combine([ood.OUT] * 9), ood.OUT)
        self.assertEqual(ood.combine([ood.OUT] * 8 + [ood.IN]), ood.UNSURE)
        self.assertEqual(ood.combine([ood.IN] * 9), ood.IN)

    def test_slices_the_detector_refuses_are_left_out_of_a_volumes_result(self):
        from assessments.reading import analyse_slices
        from assessments.services import current_engine
        from mri.io import read_scan

        engine = current_engine()
        scan = read_scan(scan_files.mni_nifti_bytes(2), 1 << 26)

        class FirstSliceOut(ood.OodDetector):
            def distances(self, features):  # the slices come in band order
                return np.array([9.0] + [0.0] * (len(features) - 1))

        detector = FirstSliceOut(mean=np.zeros(1), components=np.zeros((1, 1)), variances=np.ones(1),
                                 residual_variance=1.0, unsure_above=1.0, refuse_above=5.0)
        with mock.patch.object(ood, "detector_for", return_value=detector):
            reading = analyse_slices(engine, scan)
        self.assertEqual(reading.verdicts[0], ood.OUT)
        self.assertEqual(reading.status, ood.UNSURE)
        np.testing.assert_allclose(reading.probabilities,
                                   np.mean([a.probabilities for a in reading.analyses[1:]], axis=0))
        self.assertNotEqual(reading.representative, 0)

    def test_mr_small_gets_a_clear_answer(self):
        """pydicom's MR_small.dcm is not an axial brain slice: its light background refuses it before the model."""
        from pydicom.data import get_testdata_file

        with open(get_testdata_file("MR_small.dcm"), "rb") as fh:
            response = self.client.post(reverse("api-predict"), {"file": upload(fh.read(), "MR_small.dcm")})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "not_brain")
        self.assertIn("background is light", response.json()["detail"])
