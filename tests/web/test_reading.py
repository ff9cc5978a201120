"""The reading beside the grade, stored at upload: the atrophy measures of the counted slices with the
training people's ranges, the app's any-impairment (combined where the model has it) and the honest headline."""

import io
import math
from datetime import date

import numpy as np
from django.urls import reverse
from PIL import Image

from assessments.models import CANNOT_TELL_WORDS, Assessment, HeadlineKind
from assessments.tasks import draw_volume_heatmap
from mri import CLASSES
from mri.headline import CLEAR, CLOSE, DISAGREE, GRADE, REASON_TEXT, Headline
from mri.measures import KEYS, measure_band, measure_slice
from tests.base import AlzAwareTestCase, image_bytes, stored_assessment, upload
from tests.fixtures import scan_files
from tests.fixtures.reading import REFERENCE, constant_model, served_checkpoint_with


def stored_gray(field):
    with field.open("rb") as fh:
        return np.asarray(Image.open(io.BytesIO(fh.read())).convert("L"))


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


class ReadingTestCase(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        self.login(self.patient.user)

    def submit_slice(self, gray=None):
        gray = scan_files.mni_axial(0) if gray is None else gray
        response = self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(gray))})
        self.assertEqual(response.status_code, 302)
        assessment = Assessment.objects.latest("pk")
        draw_volume_heatmap.call(assessment.pk)  # its slice images, drawn by the task worker
        return assessment

    def submit_volume(self):
        response = self.client.post(reverse("assessments:new"), {
            "scan": upload(scan_files.mni_nifti_bytes(2, compressed=True), name="sub-01_T1w.nii.gz")})
        self.assertEqual(response.status_code, 302)
        assessment = Assessment.objects.latest("pk")
        draw_volume_heatmap.call(assessment.pk)  # its slice images, drawn by the task worker
        return assessment


class StoredMeasuresTests(ReadingTestCase):
    def test_a_slice_stores_its_measures_with_the_references_and_no_medial_temporal_measure(self):
        with served_checkpoint_with(measures_reference=REFERENCE):
            assessment = self.submit_slice()
        expected = measure_slice(stored_gray(assessment.scan))
        self.assertEqual(set(assessment.measures), set(KEYS))  # jsonb keeps no key order
        for key in KEYS[:3]:
            self.assertEqual(assessment.measures[key]["value"], expected[key])
            self.assertEqual(assessment.measures[key]["reference"], REFERENCE[key])
        self.assertIsNone(assessment.measures["medial_temporal_csf"]["value"])
        self.assertTrue(0.05 < assessment.measures["csf_fraction"]["value"] < 0.5)

    def test_a_volume_is_measured_over_its_counted_slices_bottom_to_top(self):
        assessment = self.submit_volume()
        counted = [one for one in assessment.slices.all() if one.counted]
        expected = measure_band([stored_gray(one.scan) for one in counted], [one.position for one in counted])
        self.assertGreater(len(counted), 2)
        for key in KEYS:
            self.assertAlmostEqual(assessment.measures[key]["value"], expected[key], places=12)
            # The shipped model may carry no reference: then none is stored, never one made up.
            self.assertIsInstance(assessment.measures[key]["reference"], dict)
        self.assertIsNotNone(assessment.measures["medial_temporal_csf"]["value"])

    def test_without_a_combined_model_any_impairment_is_the_networks(self):
        with served_checkpoint_with(any_impairment_model=None):
            assessment = self.submit_slice()
        self.assertAlmostEqual(assessment.any_impairment, 1 - assessment.probabilities["No Impairment"], places=12)

    def test_the_combined_model_of_the_checkpoint_gives_the_stored_any_impairment(self):
        with served_checkpoint_with(any_impairment_model=constant_model(2.0)):
            assessment = self.submit_slice()
        self.assertAlmostEqual(assessment.any_impairment, sigmoid(2.0), places=12)
        page = " ".join(self.client.get(assessment.get_absolute_url()).content.decode().split())
        self.assertIn(f"as the program sees it: <strong>{sigmoid(2.0) * 100:.1f}%</strong>", page)


class HeadlineTests(ReadingTestCase):
    def predicted_grade(self):
        """The grade the served model gives the MNI152 slice, read once without storing anything."""
        from assessments.services import current_engine

        return current_engine().analyse(scan_files.mni_axial(0)).prediction

    def disagreeing_model(self):
        """A combined estimate pointing the other way from the slice's grade."""
        return constant_model(5.0 if self.predicted_grade() == CLASSES[0] else -5.0)

    def test_a_grade_and_an_any_impairment_that_disagree_make_the_headline_cannot_tell(self):
        with served_checkpoint_with(any_impairment_model=self.disagreeing_model(), headline_rule={"min_margin": 0}):
            assessment = self.submit_slice()
        self.assertEqual(assessment.headline, Headline("cannot_tell", None, DISAGREE))
        page = self.client.get(assessment.get_absolute_url()).content.decode()
        self.assertIn(f"Result: {CANNOT_TELL_WORDS}</h2>", page)
        self.assertIn(REASON_TEXT[DISAGREE], page)
        for name in CLASSES:
            self.assertNotIn(f"Result: {name}", page)
            self.assertIn(f'aria-label="{name}: ', page)  # every grade's probability is still shown
        self.assertNotIn('class="predicted"', page)
        self.assertNotIn("How sure the program is of this result", page)

    def test_close_grades_make_the_headline_cannot_tell(self):
        with served_checkpoint_with(headline_rule={"min_margin": 1.0}):
            assessment = self.submit_slice()
        self.assertEqual(assessment.headline, Headline("cannot_tell", None, CLOSE))
        self.assertContains(self.client.get(assessment.get_absolute_url()), REASON_TEXT[CLOSE])
        history = self.client.get(reverse("assessments:history")).content.decode()
        self.assertIn(f"<p>{CANNOT_TELL_WORDS}.</p>", history)

    def test_a_grade_that_agrees_and_leads_clearly_is_the_headline(self):
        agreeing = constant_model(-5.0 if self.predicted_grade() == CLASSES[0] else 5.0)
        with served_checkpoint_with(any_impairment_model=agreeing, headline_rule={"min_margin": 0}):
            assessment = self.submit_slice()
        self.assertEqual(assessment.headline, Headline(GRADE, assessment.prediction, CLEAR))
        page = self.client.get(assessment.get_absolute_url()).content.decode()
        self.assertIn(f"Result: {assessment.prediction}</h2>", page)
        self.assertNotIn(CANNOT_TELL_WORDS, page)

    def test_a_row_saved_without_a_reading_gets_the_networks_any_impairment_and_the_default_rule(self):
        assessment = stored_assessment(self.patient, prediction=CLASSES[2])  # 70% Mild, 10% No Impairment
        self.assertAlmostEqual(assessment.any_impairment, 0.9, places=12)
        self.assertEqual(assessment.headline, Headline(GRADE, CLASSES[2], CLEAR))
        leaning = stored_assessment(self.patient, prediction=CLASSES[0])
        leaning.any_impairment, leaning.headline_kind = 0.63, ""
        leaning.save()
        self.assertEqual(leaning.headline, Headline("cannot_tell", None, DISAGREE))
        self.assertEqual(leaning.headline_kind, HeadlineKind.CANNOT_TELL)


class MigrationTests(AlzAwareTestCase):
    def test_results_stored_before_get_the_networks_any_impairment_and_the_default_headline(self):
        import importlib

        from django.apps import apps

        migration = importlib.import_module("assessments.migrations.0013_measures_headline_any_impairment")
        leaning = stored_assessment(self.patient, prediction=CLASSES[0])  # 70% No Impairment
        near_tie = stored_assessment(self.patient, prediction=CLASSES[1])
        Assessment.objects.filter(pk=near_tie.pk).update(probabilities={
            CLASSES[0]: 0.30, CLASSES[1]: 0.34, CLASSES[2]: 0.33, CLASSES[3]: 0.03})
        Assessment.objects.update(any_impairment=None, headline_kind="", headline_grade="", headline_reason="")
        migration.existing_readings(apps, None)
        leaning.refresh_from_db()
        near_tie.refresh_from_db()
        self.assertAlmostEqual(leaning.any_impairment, 0.3, places=12)
        self.assertEqual(leaning.headline, Headline(GRADE, CLASSES[0], CLEAR))
        self.assertAlmostEqual(near_tie.any_impairment, 0.7, places=12)
        self.assertEqual(near_tie.headline, Headline("cannot_tell", None, CLOSE))
        self.assertEqual(leaning.measures, {})


class AgeTests(AlzAwareTestCase):
    def test_the_age_is_whole_years_on_the_day(self):
        self.patient.refresh_from_db()  # a date, as pages read it (the test base gave a string)
        self.assertEqual(self.patient.age_on(date(2026, 5, 16)), 77)  # born 17 May 1948
        self.assertEqual(self.patient.age_on(date(2026, 5, 17)), 78)
        self.assertEqual(self.patient.age_on(date(2024, 2, 29)), 75)
