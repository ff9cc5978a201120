"""A DICOM series uploaded as a patient has it (a ZIP, a CD's folder with its DICOMDIR, or the files picked
together), through the form and the API: analysed as a volume, the series named, the patient's name nowhere."""

import gzip
import io
import logging
import os
import warnings

import nibabel as nib
import numpy as np
from django.core import serializers
from django.urls import reverse

from assessments.models import Assessment, AssessmentSlice, ScanSeries
from mri.io import read_scan
from tests.base import AlzAwareTestCase, upload
from tests.fixtures import dicom_series, scan_files

SECRETS = ["Testperson", "Hermione", "PID-7741", "19480517", "Privet", "St Mungo", "Referrer", "ACC99887766",
           "OTHER-ID-5566"]


def study():
    """A localiser, the axial T1 and a thick sagittal series, shuffled, with a Mac's hidden files."""
    # The template with a T1 scan's contrast, as the NIfTI upload tests use it.
    source = nib.Nifti1Image(np.asarray(scan_files.mni_array(2)), scan_files.mni_volume(2).affine)
    uid = "1.2.826.0.1.3680043.8.498.2"
    return (dicom_series.localiser_datasets(source, study=uid) + dicom_series.series_datasets(source, study=uid)
            + dicom_series.series_datasets(source, "sagittal", study=uid, step=3, description="T1 SAG 2D",
                                           number=5))


class SeriesUploadTests(AlzAwareTestCase):
    use_ood_detector = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        datasets = study()
        cls.files = [dicom_series.file_bytes(ds) for ds in datasets]
        cls.zip = dicom_series.series_zip(datasets, shuffle=5, extra={"__MACOSX/._IM00001": b"\x00\x05\x16\x07"})
        cls.dicomdir_zip = dicom_series.dicomdir_zip(datasets)

    def setUp(self):
        super().setUp()
        self.login(self.patient.user)

    def submit(self, files):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.client.post(reverse("assessments:new"), {"scan": files})

    def predict(self, files):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.client.post(reverse("api-predict"), {"file": files})

    def test_a_zip_through_the_form_is_analysed_as_a_volume_naming_the_series(self):
        response = self.submit(upload(self.zip, "Testperson_Hermione.zip", "application/zip"))
        assessment = Assessment.objects.get()
        self.assertRedirects(response, assessment.get_absolute_url())
        self.assertEqual(assessment.source_format, "dicom_series")
        expected = read_scan(scan_files.mni_nifti_bytes(2), 1 << 26)
        self.assertEqual([s.position for s in assessment.slices.all()],
                         sorted(expected.positions + [one.position for one in expected.left_out]))
        self.assertEqual([(s.description, s.plane, s.slice_count, s.analysed, s.skipped_because)
                          for s in assessment.series.all()],
                         [("T1 MPRAGE", "axial", 95, True, ""), ("SCOUT", "several planes", 9, False, "localiser"),
                          ("T1 SAG 2D", "sagittal", 33, False, "coarse")])
        page = self.client.get(assessment.get_absolute_url())
        self.assertContains(page, "Which series was analysed")
        self.assertContains(page, "T1 MPRAGE (axial, T1-weighted), 95 slices")
        self.assertContains(page, "its slices are too far apart to make axial slices from")
        self.assertContains(page, "a localiser, taken to plan the scan")
        self.assertContains(page, "DICOM series")
        self.assertNotContains(page, "could not tell from the files that this series is T1-weighted")
        self.client.force_login(self.doctor)
        admin_page = self.client.get(reverse("admin:assessments_assessment_change", args=[assessment.pk]))
        self.assertContains(admin_page, "T1 MPRAGE (axial, T1-weighted), 95 slices: analysed")
        self.assertContains(admin_page, "T1 SAG 2D (sagittal, T1-weighted), 33 slices: skipped, its slices are too far")

    def test_a_cds_folder_with_its_dicomdir_through_the_api_names_the_series(self):
        response = self.predict(upload(self.dicomdir_zip, "cd.zip", "application/zip"))
        self.assertEqual(response.status_code, 200)
        body = response.json()
        self.assertEqual(body["series"], {
            "analysed": {"description": "T1 MPRAGE", "weighting": "T1", "plane": "axial", "slices": 95,
                         "missing_slices": 0},
            "skipped": [{"description": "SCOUT", "weighting": "T1", "plane": "several planes", "slices": 9,
                         "reason": "localiser"},
                        {"description": "T1 SAG 2D", "weighting": "T1", "plane": "sagittal", "slices": 33,
                         "reason": "coarse"}]})
        self.assertEqual(len(body["slices"]), AssessmentSlice.objects.count())
        listed = self.client.get(reverse("api-assessments")).json()["results"]
        self.assertEqual(listed[0]["series"], body["series"])

    def test_the_files_picked_together_give_the_same_result_as_their_zip(self):
        zipped = self.predict(upload(self.zip, "series.zip", "application/zip")).json()
        files = [upload(data, f"IM{i:05d}", "application/dicom") for i, data in enumerate(self.files)]
        picked = self.predict(files).json()
        self.assertEqual(picked["class_probabilities"], zipped["class_probabilities"])
        self.assertEqual(picked["series"], zipped["series"])
        response = self.submit([upload(data, f"IM{i:05d}", "application/dicom") for i, data in enumerate(self.files)])
        self.assertRedirects(response, Assessment.objects.first().get_absolute_url())
        self.assertEqual(Assessment.objects.first().series.get(analysed=True).slice_count, 95)

    def test_the_patients_name_is_nowhere_in_the_database_the_files_the_logs_or_the_answers(self):
        records = []
        handler = logging.Handler(logging.DEBUG)
        handler.emit = records.append
        root, scans = logging.getLogger(), logging.getLogger("mri.io")
        root.addHandler(handler)
        old_level, old_scans_level = root.level, scans.level
        root.setLevel(logging.DEBUG)
        scans.setLevel(logging.DEBUG)  # quiet in the other tests (tests/__init__.py)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self.client.post(reverse("assessments:new"), {"scan": upload(self.zip, "Testperson.zip")})
                answer = self.client.post(reverse("api-predict"), {"file": upload(self.dicomdir_zip, "cd.zip")})
                refused = self.client.post(reverse("api-predict"), {"file": upload(self.zip[:-5000], "Testperson")})
        finally:
            root.removeHandler(handler)
            root.setLevel(old_level)
            scans.setLevel(old_scans_level)
        self.assertEqual(Assessment.objects.count(), 2)
        self.assertEqual(refused.status_code, 400)
        database = serializers.serialize("json", [*Assessment.objects.all(), *AssessmentSlice.objects.all(),
                                                  *ScanSeries.objects.all()])
        logs = " ".join([r.getMessage() for r in records] + [str(w.message) for w in caught])
        self.assertIn("A DICOM series upload", logs)  # the handler did see this upload's lines
        pages = "".join(self.client.get(a.get_absolute_url()).content.decode() for a in Assessment.objects.all())
        answers = answer.content.decode() + refused.content.decode()
        answers += self.client.get(reverse("api-assessments")).content.decode()
        for secret in SECRETS:
            with self.subTest(secret=secret):
                for where, text in {"database": database, "logs": logs, "pages": pages, "api": answers}.items():
                    self.assertNotIn(secret.lower(), text.lower(), where)
                for name in self.stored_files():
                    self.assertNotIn(secret.lower(), name.lower())
                    # The volumes (scan and heatmap, .nii.gz) are searched inflated: gzip would hide a name.
                    with (gzip.open if name.endswith(".gz") else open)(os.path.join(self.media_root, name), "rb") as fh:
                        self.assertNotIn(secret.encode(), fh.read())
        # Nothing of the series itself: the rendered slices, their maps, and the volume rebuilt with a new header.
        self.assertTrue(all(name.endswith((".png", ".npz", ".nii.gz")) for name in self.stored_files()))

    def test_without_a_t1_series_the_page_says_the_weighting_is_not_known_to_be_t1(self):
        source = nib.Nifti1Image(np.asarray(scan_files.mni_array(2)), scan_files.mni_volume(2).affine)
        t2 = dicom_series.series_datasets(source, "axial", timing=dicom_series.T2_TSE, description="AX T2 TSE")
        self.submit(upload(dicom_series.series_zip(t2), "t2.zip"))
        page = self.client.get(Assessment.objects.get().get_absolute_url())
        self.assertContains(page, "AX T2 TSE (axial, T2-weighted), 95 slices")
        self.assertContains(page, "could not tell from the files that this series is T1-weighted")

    def test_a_traversal_name_is_refused_with_a_clear_error_and_nothing_is_stored(self):
        buffer = io.BytesIO(self.zip)
        import zipfile

        with zipfile.ZipFile(buffer, "a") as zipped:
            zipped.writestr("../../../home/patient/.bashrc", b"echo hello")
        page = self.submit(upload(buffer.getvalue(), "series.zip"))
        answer = self.predict(upload(buffer.getvalue(), "series.zip"))
        self.assertContains(page, "it was not opened", status_code=400)
        self.assertEqual(answer.json()["error"], "unsafe_archive")
        self.assertFalse(Assessment.objects.exists())
        self.assertEqual(self.stored_files(), [])
