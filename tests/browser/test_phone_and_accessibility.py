"""The pages people use, in a real browser: a patient's pages on a 320 px phone (the width 200% zoom gives a
640 px window) never scroll sideways, and axe-core finds no serious or critical problem on them nor on the
doctors' admin pages."""

from django.urls import reverse

from assessments.models import Assessment
from tests.base import OwnMedia, drawn_brain_slice, image_bytes, make_doctor, make_patient, upload
from tests.browser import BrowserTestCase, axe_violations, described, sideways_overflow
from tests.fixtures import scan_files

PHONE_WIDTH = 320


class PhoneAndAccessibilityTests(OwnMedia, BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.patient = make_patient("ada@example.com", "Ada", "Lovelace")
        self.doctor = make_doctor(self.patient)
        self.client.force_login(self.patient.user)
        self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(drawn_brain_slice(3)))})
        self.assessment = Assessment.objects.get()
        # A volume's result page adds the table of its slices, the widest thing a patient sees.
        self.client.post(reverse("assessments:new"), {"scan": upload(scan_files.mni_nifti_bytes(2, compressed=True),
                                                                      name="sub-01_T1w.nii.gz")})
        self.volume = Assessment.objects.exclude(pk=self.assessment.pk).get()

    def patient_pages(self):
        return {"upload": reverse("assessments:new"), "result": self.assessment.get_absolute_url(),
                "result of a volume": self.volume.get_absolute_url(),
                "history": reverse("assessments:history"), "settings": reverse("preferences"),
                "model card": reverse("model_card")}

    def admin_pages(self):
        return {"patients list": reverse("admin:accounts_patient_changelist"),
                "patient": reverse("admin:accounts_patient_change", args=[self.patient.pk]),
                "assessments list": reverse("admin:assessments_assessment_changelist"),
                "assessment": reverse("admin:assessments_assessment_change", args=[self.assessment.pk])}

    def test_no_patient_page_scrolls_sideways_on_a_320_px_phone(self):
        page = self.open_page(self.patient.user, width=PHONE_WIDTH, height=640)
        for name, path in self.patient_pages().items():
            with self.subTest(name):
                self.visit(page, path)
                self.assertEqual(sideways_overflow(page), 0)
        signup = self.visit(self.open_page(width=PHONE_WIDTH, height=640), reverse("signup"))
        self.assertEqual(sideways_overflow(signup), 0)

    def test_the_probability_bars_keep_their_width_on_a_phone(self):
        page = self.visit(self.open_page(self.patient.user, width=PHONE_WIDTH), self.assessment.get_absolute_url())
        widths = page.eval_on_selector_all(".bars meter", "bars => bars.map(b => b.getBoundingClientRect().width)")
        self.assertEqual(len(widths), 4)
        # Each bar spans the row under its label: at least half the phone's width, where it was 0 px.
        self.assertTrue(all(width >= PHONE_WIDTH / 2 for width in widths), widths)

    def test_axe_finds_no_serious_problem_on_the_patient_pages(self):
        for width in (PHONE_WIDTH, 1280):
            page = self.open_page(self.patient.user, width=width)
            for name, path in self.patient_pages().items():
                with self.subTest(name, width=width):
                    self.visit(page, path)
                    found = axe_violations(page)
                    self.assertEqual(found, [], described(found))
        signup = self.visit(self.open_page(width=PHONE_WIDTH), reverse("signup"))
        self.assertEqual(axe_violations(signup), [])

    def test_axe_finds_no_serious_problem_on_the_doctors_admin_pages(self):
        page = self.open_page(self.doctor, width=1400)
        for name, path in self.admin_pages().items():
            with self.subTest(name):
                self.visit(page, path)
                found = axe_violations(page)
                self.assertEqual(found, [], described(found))

    def test_a_refused_upload_puts_the_keyboard_on_the_error_summary(self):
        page = self.visit(self.open_page(self.patient.user, width=PHONE_WIDTH), reverse("assessments:new"))
        page.set_input_files("#id_scan", files=[{"name": "notes.txt", "mimeType": "text/plain",
                                                  "buffer": b"These are my notes, not a scan."}])
        page.click("main form.stacked button[type=submit]")
        # The upload page's script sends the file and shows the page the server answered with.
        page.wait_for_selector("#error-summary")
        self.assertTrue(page.title().startswith("Error: "), page.title())
        self.assertEqual(page.evaluate("document.activeElement.id"), "error-summary")
        self.assertEqual(sideways_overflow(page), 0)
        self.assertEqual(axe_violations(page), [])

    def test_show_brings_the_patient_back_to_the_pictures(self):
        page = self.visit(self.open_page(self.patient.user, width=PHONE_WIDTH), self.assessment.get_absolute_url())
        page.click("summary")
        page.select_option("#id_colour_map", "viridis")
        page.click("form.explanation-choice button")
        page.wait_for_load_state()
        self.assertTrue(page.url.endswith("#scan-images"), page.url)
        self.assertIn("colour_map=viridis", page.url)
        top = page.eval_on_selector("#scan-images", "section => section.getBoundingClientRect().top")
        self.assertLess(abs(top), 2)

    def test_keyboard_focus_is_visible_and_the_skip_link_comes_first(self):
        page = self.visit(self.open_page(self.patient.user), reverse("assessments:history"))
        page.keyboard.press("Tab")
        self.assertEqual(page.evaluate("document.activeElement.textContent.trim()"), "Skip to main content")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        self.assertEqual(outline, "solid")
        page.keyboard.press("Enter")
        self.assertEqual(page.evaluate("document.activeElement.id"), "main")
