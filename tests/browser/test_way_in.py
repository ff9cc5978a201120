"""The patient's way in and back, in a real browser at 320 px and 1280 px: the front door, sign-up, the e-mail
confirmation, sharing with a doctor, e-mail choices, the timeline by scan date and the upload's progress. No
page scrolls sideways on a phone, and axe-core finds no serious or critical problem on any of them."""

import datetime
import re

from django.urls import reverse

from accounts.models import Invitation
from assessments.models import Assessment, ScanDateSource
from tests.base import OwnMedia, make_doctor, make_patient, stored_assessment
from tests.browser import BrowserTestCase, axe_violations, described, sideways_overflow
from tests.fixtures import scan_files

WIDTHS = (320, 1280)


class WayInPageTests(OwnMedia, BrowserTestCase):
    def setUp(self):
        super().setUp()
        self.patient = make_patient("ada@example.com", "Ada", "Lovelace")
        self.newcomer = make_patient("new@example.com", "Nina", "New", confirmed=False)
        self.doctor = make_doctor(self.patient)
        self.invitation = Invitation.objects.create(patient=self.patient, email="gp@example.com", token="t" * 43)
        for seed, day, volume in ((1, datetime.date(2023, 5, 2), False), (2, datetime.date(2024, 6, 3), False),
                                  (3, datetime.date(2024, 1, 9), True), (4, None, True)):
            one = stored_assessment(self.patient, seed=seed)
            Assessment.objects.filter(pk=one.pk).update(
                scan_date=day, scan_date_source=ScanDateSource.ENTERED if day else ScanDateSource.UPLOAD,
                source_format="nifti" if volume else "png")

    def pages(self):
        """``{name: (user or None, path)}`` of every page this issue added or changed."""
        return {
            "front door": (None, reverse("home")),
            "privacy": (None, reverse("privacy")),
            "sign-up": (None, reverse("signup")),
            "check your e-mail (after sign-up)": (None, reverse("confirm_email_sent")),
            "confirm your address": (self.newcomer.user, reverse("confirm_email_sent")),
            "my doctors": (self.patient.user, reverse("sharing")),
            "e-mails (patient)": (self.patient.user, reverse("notifications")),
            "timeline": (self.patient.user, reverse("assessments:timeline")),
            "history": (self.patient.user, reverse("assessments:history")),
            "who viewed my data": (self.patient.user, reverse("preferences")),
            "upload": (self.patient.user, reverse("assessments:new")),
            "sharing code": (self.doctor, reverse("doctor_sharing")),
            "accept an invitation": (self.doctor, reverse("accept_invitation", args=[self.invitation.token])),
            "e-mails (doctor)": (self.doctor, reverse("notifications")),
        }

    def test_every_new_page_fits_a_phone_and_passes_axe_at_both_widths(self):
        for width in WIDTHS:
            pages = {}
            for name, (user, path) in self.pages().items():
                with self.subTest(name, width=width):
                    page = pages.get(user) or pages.setdefault(user, self.open_page(user, width=width, height=800))
                    self.visit(page, path)
                    self.assertEqual(sideways_overflow(page), 0)
                    found = axe_violations(page)
                    self.assertEqual(found, [], described(found))

    def test_the_sign_up_errors_and_a_broken_link_pass_axe(self):
        page = self.visit(self.open_page(width=320), reverse("signup"))
        page.click("main button[type=submit]")
        page.wait_for_selector("#error-summary")
        self.assertEqual(axe_violations(page), [])
        broken = self.open_page(width=320)
        response = broken.goto(self.live_server_url + reverse("confirm_email", args=["MQ", "bad-token"]))
        self.assertEqual(response.status, 400)
        self.assertEqual(axe_violations(broken), [])
        self.assertEqual(sideways_overflow(broken), 0)

    def test_the_timelines_table_stays_inside_a_320_px_phone(self):
        page = self.visit(self.open_page(self.patient.user, width=320), reverse("assessments:timeline"))
        widths = page.eval_on_selector_all("table.timeline-table", "ts => ts.map(t => t.getBoundingClientRect().right)")
        self.assertEqual(len(widths), 2)  # whole scans and single pictures apart
        self.assertTrue(all(right <= 320 for right in widths), widths)


class UploadProgressTests(OwnMedia, BrowserTestCase):
    def test_the_button_is_disabled_with_progress_until_the_result_page_opens(self):
        patient = make_patient("ada@example.com", "Ada", "Lovelace")
        page = self.visit(self.open_page(patient.user, width=320), reverse("assessments:new"))
        page.set_input_files("#id_scan", files=[{"name": "brain.nii.gz", "mimeType": "application/gzip",
                                                 "buffer": scan_files.mni_nifti_bytes(2, compressed=True)}])
        # A slow line, as a patient at home has: the checks below run while the file is still on its way, not
        # after a fast server has already opened the result page (which destroyed the page they ran in).
        page.context.new_cdp_session(page).send("Network.emulateNetworkConditions", {
            "offline": False, "latency": 200, "downloadThroughput": -1, "uploadThroughput": 40_000})
        page.click("form[enctype] button[type=submit]")
        page.wait_for_function("document.querySelector('form[enctype] button[type=submit]').disabled === true")
        self.assertFalse(page.is_hidden("#upload-progress"))
        self.assertIn(page.inner_text("#upload-progress-status")[:7], ("Sending", "Your sc"))
        self.assertEqual(axe_violations(page), [])
        page.wait_for_url(re.compile(r"/assessments/\d+/$"), timeout=60_000)
        assessment = Assessment.objects.get()
        self.assertEqual(page.url, self.live_server_url + assessment.get_absolute_url())
        self.assertIn("being prepared", page.inner_text("#volume-pending"))

    def test_a_refused_file_shows_the_reason_and_the_form_again(self):
        patient = make_patient("ada@example.com", "Ada", "Lovelace")
        page = self.visit(self.open_page(patient.user, width=1280), reverse("assessments:new"))
        page.set_input_files("#id_scan", files=[{"name": "empty.dcm", "mimeType": "application/dicom", "buffer": b""}])
        page.click("form[enctype] button[type=submit]")
        page.wait_for_selector("#error-summary")
        self.assertIn("The file you chose is empty", page.inner_text("#error-summary"))
        self.assertFalse(page.is_disabled("form[enctype] button[type=submit]"))
        self.assertEqual(Assessment.objects.count(), 0)
