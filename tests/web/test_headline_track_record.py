"""How often a result's headline was right on people the model never saw, beside the headline wherever it is
shown: the result page, the PDF, the doctor's review page, the API and ``manage.py analyze --json``."""

import io
import json

from django.core.management import call_command
from django.test import SimpleTestCase
from django.urls import reverse
from pypdf import PdfReader

from assessments.services import current_engine
from mri.headline import CLEAR, GRADE, Headline
from tests.base import image_bytes, stored_assessment, temporary_folder, without_detector
from tests.fixtures import scan_files
from tests.fixtures.reading import HOW_OFTEN_RIGHT, served_checkpoint_with
from tests.web.test_reading import ReadingTestCase
from tests.web.test_reading_shown import flat

RULE = {"min_margin": 0.2, "no_impairment_below": 0.5, "impaired_from": 0.7,
        "how_often_right_nested": HOW_OFTEN_RIGHT}
VERY_MILD = ("We tested the program on 20 people it had not seen. It said “Very Mild Impairment” for 2 of them. It "
             "was right for 1.")
CANNOT_TELL = "We tested the program on 20 people it had not seen. It could not tell for 12 of them."


class TrackRecordShownTests(ReadingTestCase):
    def setUp(self):
        super().setUp()
        checkpoint = served_checkpoint_with(headline_rule=RULE)
        checkpoint.start()
        self.addCleanup(checkpoint.stop)

    def very_mild(self, model_sha256=None):
        """A Very Mild Impairment headline made by the served model (or the model named)."""
        assessment = stored_assessment(self.patient, prediction="Very Mild Impairment")
        assessment.headline = Headline(GRADE, "Very Mild Impairment", CLEAR)
        assessment.model_sha256 = model_sha256 or current_engine().sha256
        assessment.save()
        return assessment

    def test_the_result_page_says_how_often_its_headline_was_right(self):
        page = self.client.get(self.very_mild().get_absolute_url()).content.decode()
        self.assertIn(f'<p class="headline-record">{VERY_MILD}</p>', page)

    def test_cannot_tell_says_for_how_many_people_it_could_not_tell(self):
        with served_checkpoint_with(headline_rule={**RULE, "min_margin": 1.0}):
            assessment = self.submit_slice()
            page = self.client.get(assessment.get_absolute_url()).content.decode()
        self.assertIn(f'<p class="headline-record">{CANNOT_TELL}</p>', page)

    def test_a_result_of_another_model_quotes_no_figures(self):
        page = self.client.get(self.very_mild(model_sha256="0" * 64).get_absolute_url()).content.decode()
        self.assertNotIn("headline-record", page)
        self.assertNotIn("We tested the program on 20 people", page)

    def test_the_pdf_says_it_under_the_headline(self):
        response = self.client.get(reverse("assessments:report", args=[self.very_mild().pk]))
        text = flat(PdfReader(io.BytesIO(response.content)).pages[0].extract_text())
        self.assertIn(f"Result: Very Mild Impairment {VERY_MILD}", text)

    def test_the_doctors_review_page_says_it(self):
        assessment = self.very_mild()
        self.login(self.doctor)
        page = self.client.get(reverse("admin:assessments_assessment_change", args=[assessment.pk]))
        self.assertContains(page, f'<p class="review-headline-record">{VERY_MILD}</p>', html=False)

    def test_the_api_answers_it_with_the_headline(self):
        body = self.client.get(reverse("api-assessment", args=[self.very_mild().pk])).json()
        self.assertEqual(body["headline"]["track_record"], {"given": 2, "right": 1, "people": 20, "text": VERY_MILD})

    def test_the_api_answers_null_for_a_result_of_another_model(self):
        body = self.client.get(reverse("api-assessment", args=[self.very_mild(model_sha256="0" * 64).pk])).json()
        self.assertIsNone(body["headline"]["track_record"])


class AnalyzeTrackRecordTests(SimpleTestCase):
    def test_json_carries_the_headlines_track_record(self):
        scan = temporary_folder(self) / "slice.png"
        scan.write_bytes(image_bytes(scan_files.mni_axial(0)))
        out = io.StringIO()
        with without_detector(), served_checkpoint_with(headline_rule={**RULE, "min_margin": 1.0}):
            call_command("analyze", str(scan), "--json", stdout=out)
        self.assertEqual(json.loads(out.getvalue())["headline"]["track_record"],
                         {"given": 12, "right": None, "people": 20, "text": CANNOT_TELL})
