"""PDF reports: one assessment, and the whole history with the timeline chart; read back with pypdf."""

import io
import os
from unittest import skipUnless

from django.urls import reverse
from pypdf import PdfReader

from accounts.models import User
from assessments import intake
from assessments.models import Assessment, TrainingMatch
from assessments.presentation.reports import NOT_A_DIAGNOSIS, OUTSIDE_TRAINING, UNICODE_FONT
from mri import CLASSES
from mri.explain import regions
from mri.measures import MEASURES
from tests import pdf_pages
from tests.base import AlzAwareTestCase, image_bytes, stored_assessment, stored_review, upload
from tests.fixtures import scan_files
from tests.slices import brain_slices


def pdf_text(response):
    reader = PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages), reader


def make_doctor(email):
    return User.objects.create_user(email=email, password="a-Long-pass-phrase-42", first_name="Second",
                                    last_name="Doctor", is_staff=True)


def other_grade(prediction):
    return next(name for name in CLASSES if name != prediction)


def one_line(text):
    return " ".join(text.split())


class AssessmentReportTests(AlzAwareTestCase):
    def submit(self, seed=0):
        self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(brain_slices(20)[seed][1]))})
        return Assessment.objects.latest("pk")

    def test_the_report_holds_the_result_the_regions_the_model_and_the_statement(self):
        self.login(self.patient.user)
        assessment = self.submit()
        response = self.client.get(reverse("assessments:report", args=[assessment.pk]))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/pdf")
        self.assertEqual(response["Content-Disposition"],
                         f'attachment; filename="alzaware-result-{assessment.created_at:%Y-%m-%d}.pdf"')
        text, reader = pdf_text(response)
        flat = one_line(text)
        self.assertIn("Patient: Ada Lovelace", flat)
        self.assertIn("Date of birth: 17 May 1948", flat)
        self.assertIn(f"Result: {assessment.headline_words}", flat)
        for name, probability in assessment.ordered_probabilities():
            self.assertIn(f"{name} {probability:.1%}", flat)
        self.assertIn(f"{assessment.any_impairment:.1%}", flat)
        self.assertIn(one_line(regions.sentence(assessment.regions_of())), flat)
        self.assertIn(f"checkpoint {assessment.model_sha256[:12]}", flat)
        self.assertIn("Measured accuracy (5-fold cross-validation", flat)
        self.assertIn(one_line(NOT_A_DIAGNOSIS), flat)
        # The result on the first page, with the original, the overlay and the colour bar; the atrophy measures
        # after it, kept together on one page (the second when they do not fit on the first).
        self.assertEqual(len(reader.pages[0].images), 3)
        self.assertLessEqual(len(reader.pages), 2)
        [measures_page] = [one_line(page.extract_text()) for page in reader.pages
                           if "Fluid inside the skull, measured on the scan" in page.extract_text()]
        for measure in MEASURES:
            self.assertIn(measure.label, measures_page)

    def test_the_report_shows_the_doctors_review_and_only_a_shared_note(self):
        assessment = stored_assessment(self.patient)
        stored_review(assessment, self.doctor, note="Please book a follow-up.", sharing="verdict_and_note")
        other = make_doctor("dr.two@example.com")
        stored_review(assessment, other, note="Private remark.", sharing="not_yet")
        self.login(self.patient.user)
        flat = one_line(pdf_text(self.client.get(reverse("assessments:report", args=[assessment.pk])))[0])
        self.assertIn(f"Reviewed by {self.doctor.professional_name} on {assessment.created_at:%d %B %Y}.", flat)
        self.assertIn(f"Your doctor agrees with the program's grade: {assessment.prediction}.", flat)
        self.assertIn("Your doctor's note: Please book a follow-up.", flat)
        self.assertNotIn(f"Reviewed by {other.professional_name}", flat)
        self.assertNotIn("Private remark", flat)

    def test_it_prints_no_personal_detail_beyond_name_and_date_of_birth(self):
        self.login(self.patient.user)
        assessment = self.submit()
        text, _ = pdf_text(self.client.get(reverse("assessments:report", args=[assessment.pk])))
        self.assertNotIn("ada@example.com", text)
        self.assertNotIn("Female", text)

    @skipUnless(all(os.path.exists(path) for path in UNICODE_FONT), "DejaVu Sans is not installed "
                "(apt-get install fonts-dejavu-core): names beyond Latin-1 cannot be printed")
    def test_a_name_beyond_latin_1_is_printed_as_written(self):
        self.patient.user.first_name, self.patient.user.last_name = "Łukasz", "Żółć"
        self.patient.user.save()
        assessment = stored_assessment(self.patient)
        self.login(self.patient.user)
        text, _ = pdf_text(self.client.get(reverse("assessments:report", args=[assessment.pk])))
        self.assertIn("Patient: Łukasz Żółć", text)

    def test_access_is_that_of_the_assessment_page(self):
        self.login(self.patient.user)
        assessment = self.submit()
        url = reverse("assessments:report", args=[assessment.pk])
        self.login(self.other_patient.user)
        self.assertEqual(self.client.get(url).status_code, 404)
        self.login(self.doctor)
        self.assertEqual(self.client.get(url).status_code, 200)
        self.client.logout()
        self.assertEqual(self.client.get(url).status_code, 302)
        self.login(self.patient.user)
        self.assertEqual(self.client.get(reverse("assessments:report", args=[assessment.pk + 100])).status_code, 404)

    def test_the_result_page_links_its_report(self):
        self.login(self.patient.user)
        assessment = self.submit()
        self.assertContains(self.client.get(assessment.get_absolute_url()),
                            reverse("assessments:report", args=[assessment.pk]))


class HistoryReportTests(AlzAwareTestCase):
    def test_the_history_report_has_every_visit_and_the_timeline_chart(self):
        first = stored_assessment(self.patient, seed=1, prediction=CLASSES[1])
        second = stored_assessment(self.patient, seed=2, prediction=CLASSES[2])
        theirs = stored_assessment(self.other_patient, seed=3, prediction=CLASSES[3])
        self.login(self.patient.user)
        response = self.client.get(reverse("assessments:history_report"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/pdf")
        flat = one_line(pdf_text(response)[0])
        self.assertIn("Patient: Ada Lovelace", flat)
        for visit in (first, second):
            self.assertIn(f"{visit.created_at:%d %b %Y, %H:%M} {visit.prediction} 70.0% 90.0%", flat)
        # Only the chart's legend names Moderate Impairment: the other patient's row is not there.
        self.assertEqual(flat.count(theirs.prediction), 1)
        # The chart's legend and axis, drawn from the timeline's SVG.
        for label in ("Very Mild Impairment", "Any impairment", "100%", "25%"):
            self.assertIn(label, flat)
        self.assertIn(one_line(NOT_A_DIAGNOSIS), flat)

    def test_the_history_and_timeline_link_it_and_a_doctor_has_no_history_report(self):
        stored_assessment(self.patient, seed=1)
        self.login(self.patient.user)
        self.assertContains(self.client.get(reverse("assessments:history")), reverse("assessments:history_report"))
        self.assertContains(self.client.get(reverse("assessments:timeline")), reverse("assessments:history_report"))
        self.login(self.doctor)
        self.assertEqual(self.client.get(reverse("assessments:history_report")).status_code, 403)


class ReportOnPaperTests(AlzAwareTestCase):
    """The PDF as printed: rendered by pdftoppm and looked at, not only read back as text."""

    def setUp(self):
        super().setUp()
        pdf_pages.require_pdftoppm()

    def test_the_border_check_sees_text_running_out_of_its_cell(self):
        from reportlab.platypus import Table

        from assessments.presentation.reports import grid, pdf_bytes

        # A plain string is drawn on one line whatever the column's width: the defect the check is there for.
        spilling = Table([["Share of the map and much more text than fits", "x"], ["a", "b"], ["c", "d"]],
                         colWidths=[60, 60], style=grid())
        self.assertGreater(len(pdf_pages.text_across_borders(pdf_pages.pages(pdf_bytes([spilling], "t"))[0])), 0)

    def test_a_volumes_report_keeps_every_text_inside_its_cell_and_the_margins(self):
        volume = intake.assess_upload(self.patient, scan_files.mni_nifti_bytes(2))
        Assessment.objects.filter(pk=volume.pk).update(ood_status=TrainingMatch.UNSURE)
        stored_review(volume, self.doctor, verdict="other_grade", grade=other_grade(volume.prediction),
                      sharing="verdict_and_note", note="A long note to wrap: " + "a follow-up scan in a year. " * 8)
        self.login(self.patient.user)
        response = self.client.get(reverse("assessments:report", args=[volume.pk]))
        flat = one_line(pdf_text(response)[0])
        self.assertIn(one_line(OUTSIDE_TRAINING), flat)
        self.assertIn(f"Result: {other_grade(volume.prediction)}, your doctor's grade", flat)
        self.assertIn("Each slice", flat)
        for number, page in enumerate(pdf_pages.pages(response.content), start=1):
            self.assertEqual(pdf_pages.text_across_borders(page), [], f"page {number}")
            self.assertEqual(pdf_pages.margin_ink(page), 0, f"page {number}")

    def test_the_history_report_puts_the_doctors_grade_first_inside_its_cells(self):
        first = stored_assessment(self.patient, seed=3)
        stored_assessment(self.patient, seed=4)
        stored_review(first, self.doctor, verdict="other_grade", grade=other_grade(first.prediction))
        self.login(self.patient.user)
        response = self.client.get(reverse("assessments:history_report"))
        flat = one_line(pdf_text(response)[0])
        self.assertIn(f"{other_grade(first.prediction)} (your doctor's grade); the program's: {first.prediction}",
                      flat)
        self.assertIn("No doctor has looked at this result yet.", flat)
        for page in pdf_pages.pages(response.content):
            self.assertEqual(pdf_pages.text_across_borders(page), [])
            self.assertEqual(pdf_pages.margin_ink(page), 0)

    def test_an_out_of_training_slice_carries_the_warning_and_an_unreviewed_one_says_so(self):
        assessment = stored_assessment(self.patient)
        Assessment.objects.filter(pk=assessment.pk).update(ood_status=TrainingMatch.UNSURE)
        self.login(self.patient.user)
        flat = one_line(pdf_text(self.client.get(reverse("assessments:report", args=[assessment.pk])))[0])
        self.assertIn(one_line(OUTSIDE_TRAINING), flat)
        self.assertIn("No doctor has looked at this result yet.", flat)
