"""The doctor's desk in a real browser: a doctor with three patients walks the worklist with "Save and next",
nothing chosen for them, and the patient then finds the doctor's grade first on the result page, in the history
and in the PDF. Every desk page at 1280 px and 320 px: no sideways scrolling, and axe-core finds no serious or
critical problem."""

import io
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from assessments.models import Assessment, Review
from mri import CLASSES
from tests.base import OwnMedia, make_doctor, make_patient, stored_assessment, stored_review
from tests.browser import BrowserTestCase, axe_violations, described, sideways_overflow

WIDTHS = (1280, 320)


def submitted_days_ago(assessment, days):
    Assessment.objects.filter(pk=assessment.pk).update(created_at=timezone.now() - timedelta(days=days))
    return Assessment.objects.get(pk=assessment.pk)


class DoctorDeskTests(OwnMedia, BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.ada, self.cy, self.di = (make_patient(f"{name.lower()}@example.com", name, "Patient")
                                      for name in ("Ada", "Cy", "Di"))
        self.doctor = make_doctor(self.ada, self.cy, self.di)
        # Stored grade: Very Mild Impairment (CLASSES[1]) for each, so "3" is another grade.
        self.cases = [submitted_days_ago(stored_assessment(patient, seed=seed), days)
                      for seed, (patient, days) in enumerate([(self.ada, 30), (self.cy, 20), (self.ada, 10)])]
        reviewed = submitted_days_ago(stored_assessment(self.di, seed=9), 25)
        stored_review(reviewed, self.doctor)
        stored_assessment(make_patient("bob@example.com", "Bob", "Other"), seed=8)  # not this doctor's patient

    def assert_fits_and_accessible(self, page, what):
        self.assertEqual(sideways_overflow(page), 0, what)
        found = axe_violations(page)
        self.assertEqual(found, [], f"{what}: {described(found)}")

    def walk_the_worklist(self, page):
        """Agree with the first case, give the second another grade by its key, cannot tell on the third."""
        keys_and_extras = [("a", None), ("3", None), ("c", "the image quality is too poor")]
        for index, (key, reason) in enumerate(keys_and_extras):
            # Waits for the case "Save and next" opens (page.url read at once may still be the case just saved).
            page.wait_for_url(f"**/admin/assessments/assessment/{self.cases[index].pk}/change/")
            self.assertEqual(page.locator("input[type=radio]:checked").count(), 0, "nothing is pre-selected")
            page.locator("body").press(key)
            if reason:
                page.get_by_label(reason).check()
            page.get_by_label("My verdict, without the note").check()
            page.get_by_role("button", name="Save and next").click()
            page.wait_for_load_state()
            self.assertIn("Review saved", page.locator("ul.messagelist").inner_text())

    def test_a_doctor_walks_the_worklist_and_the_patient_sees_the_doctors_grade_first(self):
        page = self.open_page(self.doctor, width=1280)
        page.goto(self.live_server_url + reverse("admin:index"))
        self.assertEqual(page.url, self.live_server_url + reverse("admin:worklist"))
        names = page.locator("table.worklist tbody th a").all_inner_texts()
        self.assertEqual(names, ["Ada Patient", "Cy Patient", "Ada Patient"])
        page.locator("table.worklist tbody th a").first.click()
        self.walk_the_worklist(page)
        page.wait_for_url(self.live_server_url + reverse("admin:worklist"))
        self.assertEqual(page.url, self.live_server_url + reverse("admin:worklist"))
        self.assertIn("That was the last case in your worklist.", page.locator("ul.messagelist").inner_text())
        self.assertEqual(page.locator("table.worklist tbody tr").count(), 0)
        self.assertEqual(sorted(Review.objects.filter(assessment__in=self.cases).values_list("verdict", "grade")),
                         sorted([("agree", CLASSES[1]), ("other_grade", CLASSES[2]), ("cannot_tell", "Cannot tell")]))

        patient = self.open_page(self.cy.user, width=1280)
        self.visit(patient, self.cases[1].get_absolute_url())
        self.assertEqual(patient.locator("#prediction-heading").inner_text(),
                         f"Result: {CLASSES[2]}, your doctor's grade")
        self.assertIn(f"The program's grade was {CLASSES[1]}", patient.locator(".programs-grade").inner_text())
        self.assertIn("Reviewed by Dr Gregory House on", patient.locator(".review-badge").inner_text())
        self.visit(patient, reverse("assessments:history"))
        self.assertIn(f"{CLASSES[2]}, your doctor's grade", patient.locator("ul.history-list li").inner_text())
        pdf = patient.request.get(self.live_server_url + reverse("assessments:report", args=[self.cases[1].pk]))
        text = " ".join(PdfReader(io.BytesIO(pdf.body())).pages[0].extract_text().split())
        self.assertLess(text.index(f"Result: {CLASSES[2]}, your doctor's grade"),
                        text.index(f"The program's grade was {CLASSES[1]}"))

    def test_the_desk_pages_fit_1280_and_320_px_and_pass_axe(self):
        stored_review(self.cases[0], self.doctor, verdict="other_grade", grade=CLASSES[0])
        pages = {"worklist": reverse("admin:worklist"),
                 "worklist, every status": reverse("admin:worklist") + "?status=all",
                 "review": reverse("admin:assessments_assessment_change", args=[self.cases[2].pk]),
                 "assessments list": reverse("admin:assessments_assessment_changelist"),
                 "agreement": reverse("admin:agreement"),
                 "cases": reverse("admin:agreement_cases") + f"?model={CLASSES[1]}&doctor_grade={CLASSES[0]}"}
        for width in WIDTHS:
            page = self.open_page(self.doctor, width=width)
            for name, path in pages.items():
                with self.subTest(name, width=width):
                    page.goto(self.live_server_url + path)
                    self.assert_fits_and_accessible(page, f"{name} at {width} px")
        listing = self.visit(self.open_page(self.doctor, width=1280), pages["assessments list"])
        # Every column in view at 1280 px: the list's own box does not scroll either.
        self.assertEqual(listing.evaluate("() => { const box = document.querySelector('#changelist .results'); "
                                          "return box.scrollWidth - box.clientWidth; }"), 0)
        review = self.open_page(self.doctor, width=1280)
        self.visit(review, pages["review"])
        self.assertGreaterEqual(review.locator(".desk-images.large img").first.bounding_box()["width"], 512)
        review.locator("a.enlarge").first.click()
        self.assertTrue(review.locator("dialog#enlarged").is_visible())
        self.assert_fits_and_accessible(review, "the enlarged image")
