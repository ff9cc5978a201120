"""The result page's honest headline and atrophy measures in a real browser, on a 320 px phone and a desktop
(and the doctors' page of the same result):
no sideways scroll, every strip drawn inside the column, nothing the Content-Security-Policy blocks, and
axe-core finds no serious or critical problem."""

from django.urls import reverse

from assessments.models import CANNOT_TELL_WORDS, Assessment
from tests.base import OwnMedia, image_bytes, make_doctor, make_patient, upload
from tests.browser import BrowserTestCase, axe_violations, described, sideways_overflow
from tests.fixtures import scan_files
from tests.fixtures.reading import REFERENCE, served_checkpoint_with

WIDTHS = (320, 1280)


class ReadingPageTests(OwnMedia, BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.patient = make_patient("ada@example.com", "Ada", "Lovelace")
        self.client.force_login(self.patient.user)
        # Grades never lead by a whole 100 points: the page must say that the program cannot tell.
        with served_checkpoint_with(measures_reference=REFERENCE, headline_rule={"min_margin": 1.0}):
            self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(scan_files.mni_axial(0)))})
            self.client.post(reverse("assessments:new"), {"scan": upload(
                scan_files.mni_nifti_bytes(2, compressed=True), name="sub-01_T1w.nii.gz")})
        self.slice, self.volume = Assessment.objects.order_by("pk")

    def open_result(self, assessment, width):
        page = self.open_page(self.patient.user, width=width, height=800)
        errors = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        self.visit(page, assessment.get_absolute_url())
        return page, errors

    def test_the_measures_and_the_headline_fit_a_phone_and_a_desktop(self):
        for width in WIDTHS:
            for assessment, strips in ((self.slice, 3), (self.volume, 4)):
                with self.subTest(width=width, volume=assessment.is_volume):
                    page, errors = self.open_result(assessment, width)
                    self.assertEqual(sideways_overflow(page), 0)
                    self.assertEqual(page.inner_text("#prediction-heading"), f"Result: {CANNOT_TELL_WORDS}")
                    main = page.eval_on_selector("main", "m => m.getBoundingClientRect().right")
                    boxes = page.eval_on_selector_all(
                        ".measure-strip svg", "all => all.map(s => [s.getBoundingClientRect().width, "
                                              "s.getBoundingClientRect().height, s.getBoundingClientRect().right])")
                    self.assertEqual(len(boxes), strips)
                    for strip_width, height, right in boxes:
                        self.assertGreater(strip_width, 200)  # drawn, and wide enough to read
                        self.assertAlmostEqual(height / strip_width, 100 / 320, places=2)  # its own shape
                        self.assertLessEqual(right, main)
                    self.assertEqual(errors, [])  # the CSP refused nothing

    def test_axe_finds_no_serious_problem_on_the_result_pages(self):
        for width in WIDTHS:
            for assessment in (self.slice, self.volume):
                with self.subTest(width=width, volume=assessment.is_volume):
                    page, _ = self.open_result(assessment, width)
                    found = axe_violations(page)
                    self.assertEqual(found, [], described(found))

    def test_the_doctors_page_shows_the_strips_and_axe_finds_no_serious_problem(self):
        doctor = make_doctor(self.patient)
        page = self.open_page(doctor, width=1400)
        self.visit(page, reverse("admin:assessments_assessment_change", args=[self.volume.pk]))
        widths = page.eval_on_selector_all(".admin-measures svg", "all => all.map(s => s.getBoundingClientRect().width)")
        self.assertEqual(widths, [240, 240, 240, 240])
        found = axe_violations(page)
        self.assertEqual(found, [], described(found))
