"""The pages driven by a real browser: Playwright with Debian's Chromium against a live test server.

Never a browser download: Chromium is Debian's (`apt-get install chromium`; `.ci/run` installs it), and
the tests are skipped, saying so, only where it is absent. axe-core (npm, installed by the Makefile) is
evaluated into the page from the local file (through the DevTools protocol, so a strict
Content-Security-Policy does not stop it) on the sign-up, upload, result and history pages.
"""

import io
import os
import re
import tempfile
from pathlib import Path

from django.conf import settings
from django.core import mail
from PIL import Image

from accounts.models import Patient
from tests import browser
from tests.base import PASSWORD, OwnMedia, make_patient, make_people, stored_assessment
from tests.fixtures import scan_files
from tests.smtp import run_task_worker

AXE = browser.AXE
NIIVUE = Path(settings.BASE_DIR) / "vendor" / "niivue" / "niivue.umd.js"


class BrowserTestCase(OwnMedia, browser.BrowserTestCase):
    """One Chromium for the class (tests.browser), a fresh context (cookies) per test; console errors are
    collected."""

    use_ood_detector = True  # real scans from the MNI152 template: the model's detector lets them through

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for needed in (AXE, NIIVUE):
            if not needed.exists():
                raise AssertionError(f"{needed} is missing: run `make static` (npm ci) first")

    def setUp(self):
        super().setUp()
        self.context = self.browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
        self.addCleanup(self.context.close)
        self.page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.errors = []
        self.page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        self.files = tempfile.mkdtemp(prefix="alzaware-browser-")

    def url(self, path):
        return self.live_server_url + path

    def assert_accessible(self, what):
        self.assertEqual(browser.axe_violations(self.page), [], f"axe-core on the {what} page")

    def scan_file(self, name, data):
        path = os.path.join(self.files, name)
        with open(path, "wb") as fh:
            fh.write(data)
        return path


class PatientStoryTests(BrowserTestCase):
    def sign_up(self):
        page = self.page
        page.goto(self.url("/accounts/signup/"))
        self.assert_accessible("sign-up")
        page.get_by_label("First name").fill("Mary")
        page.get_by_label("Last name").fill("Browser")
        page.get_by_label("E-mail address").fill("mary@example.com")
        page.get_by_label("Date of birth").fill("1950-03-21")
        page.get_by_label("Sex").select_option(index=1)
        page.get_by_label("Password:", exact=True).fill(PASSWORD)
        page.get_by_label("Password confirmation").fill(PASSWORD)
        page.get_by_label("I have read").check()
        page.locator("main button[type=submit]").click()
        page.wait_for_url("**/accounts/confirm/")
        self.assert_accessible("confirm your address")
        # The task worker sends the confirmation e-mail (to Django's test outbox); the patient follows its link.
        run_task_worker()
        link = re.search(r"https?://[^/\s]+(/accounts/confirm/\S+/)", mail.outbox[-1].body).group(1)
        page.goto(self.url(link))
        # The link confirms and asks for the password chosen a moment ago; then the upload page.
        page.wait_for_url("**/accounts/login/?next=/assessments/new/")
        self.assert_accessible("log in after confirming")
        page.get_by_label("E-mail address").fill("mary@example.com")
        page.get_by_label("Password:", exact=True).fill(PASSWORD)
        page.locator("main button[type=submit]").click()
        page.wait_for_url("**/assessments/new/")

    def upload(self, path):
        self.page.goto(self.url("/assessments/new/"))
        self.page.get_by_label("Your brain MRI scan").set_input_files(path)
        self.page.locator("main button[type=submit]").click()
        self.page.wait_for_url(re.compile(r"/assessments/\d+/$"))

    def test_a_patient_signs_up_uploads_explores_downloads_and_logs_out(self):
        page = self.page
        self.sign_up()
        self.assert_accessible("upload")
        buffer = io.BytesIO()
        Image.fromarray(scan_files.mni_axial(10)).save(buffer, format="PNG")
        self.upload(self.scan_file("slice.png", buffer.getvalue()))
        self.assertIn("Result:", page.locator("#prediction-heading").inner_text())
        self.assertEqual(page.locator("figure.regions table tbody tr").count(), 10)  # 3 groupings + 7 regions
        self.assert_accessible("result")

        # Another class's map in other colours: the overlay is redrawn and the region table follows it. The
        # choice sits under "More about this picture", closed until the patient opens it.
        page.get_by_text("More about this picture").click()
        page.get_by_label("Show the map for").select_option(label="Mild Impairment")
        page.get_by_label("Colours").select_option("viridis")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**klass=2**")
        overlay = page.locator("img[alt^='Heatmap of Mild Impairment']")
        self.assertIn("/maps/2/viridis.png", overlay.get_attribute("src"))
        self.assertGreater(overlay.evaluate("img => img.complete && img.naturalWidth"), 0)

        self.upload(self.scan_file("brain.nii.gz", scan_files.mni_nifti_bytes(2, compressed=True)))
        self.assertIn("being prepared", page.locator("#volume-pending").inner_text())
        self.assert_accessible("volume result, 3-D view being prepared")
        run_task_worker()  # the page asks every few seconds, and shows the viewer once it is drawn
        viewer = page.locator("#volume-viewer[data-state]")
        viewer.wait_for()
        self.assertEqual(viewer.get_attribute("data-state"), "drawn", self.errors)
        self.assertTrue(page.locator("#volume-canvas").is_visible())
        self.assert_accessible("volume result")

        # count() does not wait: wait for the page the link opens, or it counts the page being left.
        page.get_by_role("link", name="My results", exact=True).click()
        page.wait_for_url(re.compile(r"/assessments/$"))
        self.assertEqual(page.locator("ul.history-list li").count(), 2)
        self.assert_accessible("history")
        page.get_by_role("link", name="See your results over time").click()
        page.wait_for_url(re.compile(r"/assessments/timeline/$"))
        self.assertEqual(page.locator("figure.timeline-chart svg").count(), 2)  # whole scans, single pictures
        self.assertEqual(page.locator("figure.timeline-chart svg").evaluate_all("svgs => svgs.map(s => s.getAttribute('role'))"),
                         ["img", "img"])

        with page.expect_download() as download:
            page.get_by_role("link", name="Download all results with these charts as a PDF").click()
        pdf = download.value.path()
        from pypdf import PdfReader

        self.assertIn("Patient: Mary Browser", PdfReader(pdf).pages[0].extract_text())

        page.get_by_role("button", name="Log out").click()
        page.wait_for_url("**/accounts/login/")
        self.assertEqual(page.locator("h1").inner_text(), "Log in")
        self.assertEqual(self.errors, [])

    def test_a_patient_logs_in_by_keyboard_alone(self):
        make_patient("kim@example.com", "Kim", "Keys")
        page = self.page
        page.goto(self.url("/accounts/login/"))
        page.get_by_label("E-mail address").focus()
        page.keyboard.type("kim@example.com")
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/assessments/")
        self.assertIn("My results", page.locator("h1").inner_text())
        self.assertEqual(self.errors, [])


class DoctorAdminTests(BrowserTestCase):
    def test_a_doctor_sees_exactly_their_patients(self):
        make_people(self)
        stored_assessment(self.patient, seed=1)
        stored_assessment(self.patient, seed=2)
        page = self.page
        page.goto(self.url("/admin/login/"))
        page.get_by_label("E-mail address").fill("dr.who@example.com")
        page.get_by_label("Password:", exact=True).fill(PASSWORD)
        page.locator("input[type=submit]").click()
        page.wait_for_url(re.compile(r"/admin/(?!login/)"))  # logged in: a goto at once could cancel the login
        page.goto(self.url("/admin/accounts/patient/"))
        rows = page.locator("#result_list tbody tr")
        # The first column (the patient's name) is the row's header cell.
        names = [rows.nth(i).locator("th").inner_text() for i in range(rows.count())]
        self.assertEqual(names, ["Ada Lovelace"])
        page.get_by_role("link", name="Ada Lovelace").click()
        chart = page.locator("svg[role=img]")
        self.assertEqual(chart.bounding_box()["width"], 720)
        self.assertTrue(chart.locator("text", has_text="Any impairment").is_visible())
        self.assertEqual(chart.locator("title").first.text_content(), "Results of Ada Lovelace over time")
        self.assertEqual(self.errors, [])
        page.goto(self.url(f"/admin/accounts/patient/{Patient.objects.get(user__email='bob@example.com').pk}/change/"))
        self.assertNotIn("Bob", page.locator("#content").inner_text())
