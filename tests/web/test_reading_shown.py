"""The reading beside the grade wherever a result is shown: the strips drawn on the server, the result page
(measures, age, plain words), the PDF, the doctors' admin, the API with its schema, the patient's own data
export and `manage.py analyze`."""

import io
import json

from django.conf import settings
from django.core.management import call_command
from django.test import SimpleTestCase
from django.urls import reverse
from pypdf import PdfReader

from assessments.models import CANNOT_TELL_WORDS
from assessments.presentation.measures import AGE_NOTE, AGE_NOTE_FOR_DOCTORS, comparison_words, strip_svg
from mri.headline import CLOSE, REASON_TEXT
from mri.io import read_scan
from mri.measures import BY_KEY, KEYS, MEASURES, measure_slice, place
from tests.base import image_bytes, temporary_folder, without_detector
from tests.fixtures import scan_files
from tests.fixtures.reading import REFERENCE, served_checkpoint_with
from tests.web.test_reading import ReadingTestCase


def flat(text):
    return " ".join(text.split())


class StripTests(SimpleTestCase):
    def test_the_strip_puts_the_scan_and_each_groups_middle_half_on_one_axis(self):
        placed = place(0.14, REFERENCE["csf_fraction"])
        self.assertEqual(placed["axis"], [0.04, 0.30])
        svg = strip_svg("csf_fraction", "Fluid inside the skull", placed)
        # 0.14 on 0.04..0.30 over x 10..310: 10 + 300 * 0.10 / 0.26.
        self.assertIn('<line x1="125.4" y1="16" x2="125.4" y2="82" stroke="#000000" stroke-width="3"/>', svg)
        self.assertIn('<rect x="56.2" y="36" width="46.2" height="12" fill="#0072B2"/>', svg)  # 8%..12%
        self.assertIn('<rect x="148.5" y="62" width="92.3" height="12" fill="#D55E00"/>', svg)  # 16%..24%
        self.assertIn(">This scan: 14.0%</text>", svg)
        self.assertIn('role="img" aria-labelledby="strip-csf_fraction-title strip-csf_fraction-desc"', svg)
        self.assertIn("Middle half of people without impairment: 8.0% to 12.0%.", svg)
        # Passes the page's Content-Security-Policy: no script, no style attribute or element.
        self.assertNotIn("<script", svg)
        self.assertNotIn("style", svg)

    def test_the_words_say_where_the_scan_sits_in_each_group(self):
        placed = place(0.14, REFERENCE["csf_fraction"])
        self.assertEqual(comparison_words(0.14, placed),
                         ["Higher than in about 85 in 100 people without impairment.",
                          "Lower than in about 80 in 100 people with some impairment."])

    def test_a_value_beyond_every_reference_stretches_the_axis_and_keeps_its_label_inside(self):
        svg = strip_svg("csf_fraction", "Fluid", place(0.5, REFERENCE["csf_fraction"]))
        self.assertIn('<line x1="310.0" y1="16" x2="310.0" y2="82"', svg)
        self.assertIn('<text x="310.0" y="12" text-anchor="end"', svg)

    def test_nothing_is_drawn_without_a_value_or_a_reference(self):
        self.assertEqual(strip_svg("csf_fraction", "Fluid", place(0.14, {})), "")
        self.assertEqual(strip_svg("csf_fraction", "Fluid", place(None, REFERENCE["csf_fraction"])), "")
        self.assertEqual(comparison_words(None, {}), ["Not measured for this scan."])


class ResultPageTests(ReadingTestCase):
    def test_the_page_shows_each_measure_with_its_strip_its_words_and_the_age(self):
        with served_checkpoint_with(measures_reference=REFERENCE):
            assessment = self.submit_slice()
        page = self.client.get(assessment.get_absolute_url()).content.decode()
        self.patient.refresh_from_db()
        age = self.patient.age_on(assessment.created_at.date())
        self.assertIn(f"Age at this scan: <strong>{age}</strong>. {AGE_NOTE}", page)
        for one in MEASURES[:3]:
            value = assessment.measures[one.key]["value"]
            placed = place(value, REFERENCE[one.key])
            self.assertIn(f"<h3>{one.label}: {value * 100:.1f}%</h3>", page)
            self.assertIn(strip_svg(one.key, one.label, placed), page)
            self.assertIn(" ".join(comparison_words(value, placed)), page)
        self.assertIn(f"<h3>{BY_KEY['medial_temporal_csf'].label}: not measured</h3>", page)
        self.assertEqual(page.count("<svg"), 3)

    def test_a_result_stored_before_the_measures_shows_none(self):
        from tests.base import stored_assessment

        assessment = stored_assessment(self.patient)
        page = self.client.get(assessment.get_absolute_url()).content.decode()
        self.assertNotIn('id="measures-heading"', page)
        self.assertIn(f"Result: {assessment.prediction}</h2>", page)


class ReportTests(ReadingTestCase):
    def pdf_text(self, assessment):
        response = self.client.get(reverse("assessments:report", args=[assessment.pk]))
        self.assertEqual(response.status_code, 200)
        reader = PdfReader(io.BytesIO(response.content))
        return flat("\n".join(page.extract_text() for page in reader.pages)), reader

    def test_the_pdf_has_the_honest_headline_and_the_measures_with_the_age_on_a_page_of_their_own(self):
        with served_checkpoint_with(measures_reference=REFERENCE, headline_rule={"min_margin": 1.0}):
            assessment = self.submit_slice()
        text, reader = self.pdf_text(assessment)
        self.assertIn(f"Result: {CANNOT_TELL_WORDS}", text)
        self.assertIn(flat(REASON_TEXT[CLOSE]), text)
        self.assertNotIn(f"Result: {assessment.prediction}", text)
        self.assertIn(f"Age at this scan: {assessment.age_at_scan()}.", text)
        for one in MEASURES[:3]:
            self.assertIn(f"{one.label}: {assessment.measures[one.key]['value'] * 100:.1f}%", text)
            self.assertIn("This scan: ", text)
        self.assertIn(flat(" ".join(comparison_words(assessment.measures["csf_fraction"]["value"], place(
            assessment.measures["csf_fraction"]["value"], REFERENCE["csf_fraction"])))), text)
        self.assertEqual(len(reader.pages), 2)
        self.assertTrue(reader.pages[1].extract_text().startswith("Fluid inside the skull, measured on the scan"))


class AdminTests(ReadingTestCase):
    def test_the_doctor_sees_the_headline_and_the_measures_with_their_strips_and_quartiles(self):
        with served_checkpoint_with(measures_reference=REFERENCE, headline_rule={"min_margin": 1.0}):
            assessment = self.submit_slice()
        self.login(self.doctor)
        page = self.client.get(reverse("admin:assessments_assessment_change", args=[assessment.pk])).content.decode()
        self.assertIn(f"{CANNOT_TELL_WORDS}: {REASON_TEXT[CLOSE]}", page)
        self.assertIn(f"Age at this scan: {assessment.age_at_scan()}. {AGE_NOTE_FOR_DOCTORS}".replace("'", "&#x27;"),
                      page)
        self.assertEqual(page.count('role="img" aria-labelledby="strip-'), 3)
        self.assertIn("<td>8.0% / 10.0% / 12.0% (n=40)</td><td>16.0% / 20.0% / 24.0% (n=120)</td>", page)
        listing = self.client.get(reverse("admin:assessments_assessment_changelist")).content.decode()
        self.assertIn(f"{CANNOT_TELL_WORDS} (grades too close)", listing)
        # Doctors can list the results the program could not headline.
        url = reverse("admin:assessments_assessment_changelist")
        cannot_tell = self.client.get(url, {"headline_kind__exact": "cannot_tell"})
        self.assertEqual(list(cannot_tell.context["cl"].result_list), [assessment])
        self.assertEqual(list(self.client.get(url, {"headline_kind__exact": "grade"}).context["cl"].result_list), [])


class ApiTests(ReadingTestCase):
    def test_the_answer_carries_the_headline_and_each_measure_with_its_reference(self):
        with served_checkpoint_with(measures_reference=REFERENCE, headline_rule={"min_margin": 1.0}):
            assessment = self.submit_slice()
            body = self.client.get(reverse("api-assessment", args=[assessment.pk])).json()
        # A rule stored without how often each headline was right: no track record (test_headline_track_record).
        self.assertEqual(body["headline"], {"kind": "cannot_tell", "grade": None, "reason": CLOSE,
                                            "text": REASON_TEXT[CLOSE], "track_record": None})
        self.assertEqual(list(body["measures"]), list(KEYS))
        self.assertEqual(body["measures"]["csf_fraction"],
                         {"value": round(assessment.measures["csf_fraction"]["value"], 6),
                          "reference": REFERENCE["csf_fraction"]})
        self.assertIsNone(body["measures"]["medial_temporal_csf"]["value"])
        self.assertEqual(body["any_impairment"], round(assessment.any_impairment, 6))

    def test_the_schema_documents_the_headline_and_the_measures(self):
        schema = self.client.get(reverse("api-schema"), {"format": "json"}).json()["components"]["schemas"]
        self.assertLessEqual({"headline", "measures", "any_impairment"}, set(schema["Result"]["properties"]))
        self.assertEqual(set(schema["Headline"]["properties"]), {"kind", "grade", "reason", "text", "track_record"})
        self.assertEqual(set(schema["Measure"]["properties"]), {"value", "reference"})


class ExportTests(ReadingTestCase):
    def test_the_patients_own_data_holds_the_headline_and_the_measures(self):
        import zipfile

        with served_checkpoint_with(measures_reference=REFERENCE, headline_rule={"min_margin": 1.0}):
            assessment = self.submit_slice()
        archive = zipfile.ZipFile(io.BytesIO(self.client.get(reverse("export")).content))
        [exported] = json.loads(archive.read("data.json"))["assessments"]
        self.assertEqual(exported["headline"], {"kind": "cannot_tell", "grade": None, "reason": CLOSE,
                                                "text": REASON_TEXT[CLOSE]})
        self.assertEqual(exported["measures"]["csf_fraction"],
                         {"value": round(assessment.measures["csf_fraction"]["value"], 6),
                          "reference": REFERENCE["csf_fraction"]})


class AnalyzeTests(SimpleTestCase):
    def setUp(self):
        self.data = image_bytes(scan_files.mni_axial(0))
        self.scan = temporary_folder(self) / "slice.png"
        self.scan.write_bytes(self.data)
        detector = without_detector()
        detector.start()
        self.addCleanup(detector.stop)

    def test_json_carries_the_measures_the_headline_outside_training_and_any_impairment(self):
        out = io.StringIO()
        with served_checkpoint_with(measures_reference=REFERENCE, headline_rule={"min_margin": 1.0},
                                    any_impairment_model=None):
            call_command("analyze", str(self.scan), "--json", stdout=out)
        result = json.loads(out.getvalue())
        expected = measure_slice(read_scan(self.data, settings.MAX_UPLOAD_BYTES).slices[0])
        self.assertEqual(result["measures"]["csf_fraction"],
                         {"value": round(expected["csf_fraction"], 6), "reference": REFERENCE["csf_fraction"]})
        self.assertEqual(list(result["measures"]), list(KEYS))
        self.assertEqual(result["headline"], {"kind": "cannot_tell", "grade": None, "reason": CLOSE,
                                              "text": REASON_TEXT[CLOSE], "track_record": None})
        self.assertIs(result["outside_training"], False)  # no detector: nothing marked
        no_impairment = float(result["class_probabilities"]["No Impairment"].rstrip("%")) / 100
        self.assertAlmostEqual(result["any_impairment"], 1 - no_impairment, places=4)

    def test_the_text_line_says_when_the_program_cannot_tell(self):
        out = io.StringIO()
        with served_checkpoint_with(headline_rule={"min_margin": 1.0}):
            call_command("analyze", str(self.scan), stdout=out)
        self.assertIn(f"slice.png: {CANNOT_TELL_WORDS.lower()} (close; likeliest ", out.getvalue())
