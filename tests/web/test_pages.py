"""The patient's pages in plain words and in an order that works: readability, the history's links, sign-up,
a refused upload, the model card, the result page's disclosure, log-out, and no inline script or style."""

import re

from django.urls import reverse

from accounts.models import Patient, User
from assessments.models import Assessment, FaithfulnessCheck, TrainingMatch
from mri.explain.overlay import COLOUR_MAPS
from tests.base import PASSWORD, AlzAwareTestCase, drawn_brain_slice, image_bytes, stored_assessment, upload
from tests.readability import grade, page_figures

# A reading age of about 12 (the aim) is a US school grade of 7: Flesch-Kincaid grades are
# reading age minus 5.
PLAIN_GRADE = 7


class ReadabilityTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        self.login(self.patient.user)

    def assert_plain(self, html):
        whole, hardest_grade, hardest = page_figures(html)
        self.assertLessEqual(whole, PLAIN_GRADE)
        self.assertLessEqual(hardest_grade, PLAIN_GRADE, hardest)

    def test_the_result_page_reads_at_a_reading_age_of_about_12_whatever_the_heatmap_check_says(self):
        # Marked outside the training scans too, so that its warning is measured with the rest.
        self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(drawn_brain_slice(4)))})
        assessment = Assessment.objects.get()
        for score in (0.0, 1.5, 9.0):  # each of the three verdicts: not, weakly, strongly
            Assessment.objects.filter(pk=assessment.pk).update(faithfulness=score, ood_status=TrainingMatch.UNSURE,
                                                               faithfulness_check=FaithfulnessCheck.DONE)
            with self.subTest(score=score):
                page = self.client.get(assessment.get_absolute_url())
                self.assertContains(page, "How we checked the coloured parts")
                self.assertContains(page, "This scan is outside what the program was trained on.")
                self.assert_plain(page.content.decode())

    def test_the_upload_page_and_its_refusal_read_plainly(self):
        self.assert_plain(self.client.get(reverse("assessments:new")).content.decode())
        refused = self.client.post(reverse("assessments:new"), {"scan": upload(b"my notes", name="notes.txt")})
        self.assertEqual(refused.status_code, 400)
        self.assert_plain(refused.content.decode())

    def test_the_history_reads_plainly(self):
        stored_assessment(self.patient)
        self.assert_plain(self.client.get(reverse("assessments:history")).content.decode())

    def test_the_measure_finds_the_old_faithfulness_sentence_too_hard(self):
        # What the result page said before: the measure must be able to tell it apart from plain words.
        old = ("The highlighted region matters to this prediction: not more than a random region. We blurred the "
               "most highlighted fifth of the scan and measured how much the model's confidence dropped, "
               "compared with blurring randomly placed areas of the same size.")
        self.assertGreater(grade(old), PLAIN_GRADE)


class HistoryTests(AlzAwareTestCase):
    def test_each_link_says_which_result_it_opens(self):
        first, second = stored_assessment(self.patient, seed=1), stored_assessment(self.patient, seed=2)
        Assessment.objects.filter(pk=first.pk).update(created_at="2026-11-28T10:00:00Z")
        self.login(self.patient.user)
        html = self.client.get(reverse("assessments:history")).content.decode()
        links = re.findall(r'<a href="(/assessments/\d+/)">([^<]+)</a>', html)
        self.assertEqual(links, [(second.get_absolute_url(), f"Result of the scan of {second.created_at:%-d %B %Y}"),
                                 (first.get_absolute_url(), "Result of the scan of 28 November 2026")])
        self.assertNotIn("<table", html)
        self.assertNotIn(">Open<", html)


class SignupPageTests(AlzAwareTestCase):
    def test_the_fields_come_in_order_and_the_cursor_starts_in_the_first(self):
        form = self.client.get(reverse("signup")).context["form"]
        self.assertEqual(list(form.fields), ["first_name", "last_name", "date_of_birth", "sex", "email",
                                             "password1", "password2", "consent"])
        autofocused = [name for name, field in form.fields.items() if field.widget.attrs.get("autofocus")]
        self.assertEqual(autofocused, ["first_name"])

    def test_the_date_hint_is_what_the_box_takes(self):
        page = self.client.get(reverse("signup"))
        self.assertContains(page, "for example 21/03/1950")
        self.assertNotContains(page, 'type="date"')
        self.client.post(reverse("signup"), {
            "first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com", "date_of_birth": "21/03/1950",
            "sex": "F", "password1": PASSWORD, "password2": PASSWORD, "consent": "on"})
        self.assertEqual(str(User.objects.get(email="grace@example.com").patient.date_of_birth), "1950-03-21")

    def test_sex_starts_blank_and_must_be_chosen(self):
        page = self.client.get(reverse("signup"))
        self.assertEqual(page.context["form"].fields["sex"].choices[0], ("", "Choose…"))
        self.assertNotContains(page, '<option value="F" selected>')
        refused = self.client.post(reverse("signup"), {
            "first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com", "date_of_birth": "21/03/1950",
            "sex": "", "password1": PASSWORD, "password2": PASSWORD})
        self.assertEqual(refused.status_code, 200)
        self.assertFalse(Patient.objects.filter(user__email="grace@example.com").exists())


class RefusedUploadTests(AlzAwareTestCase):
    def test_a_refused_upload_says_error_in_the_title_focuses_the_summary_and_says_where_to_get_a_scan(self):
        self.login(self.patient.user)
        page = self.client.post(reverse("assessments:new"), {"scan": upload(b"my notes", name="notes.txt")})
        self.assertEqual(page.status_code, 400)
        html = page.content.decode()
        self.assertRegex(html, r"<title>Error: Submit a scan")
        self.assertRegex(html, r'<div class="error-summary" id="error-summary" role="alert" tabindex="-1" autofocus')
        self.assertIn('<a href="#id_scan">', html)
        self.assertIn("Where to get your scan", html)
        self.assertIn("Ask the hospital or clinic that took your scan for a copy", html)
        self.assertIn("Please choose your file again", html)

    def test_a_page_without_errors_has_no_error_title(self):
        self.login(self.patient.user)
        page = self.client.get(reverse("assessments:new"))
        self.assertNotContains(page, "Error:")
        self.assertNotContains(page, "error-summary")


class ResultPageTests(AlzAwareTestCase):
    def test_the_heatmap_details_sit_under_more_about_this_picture_and_show_returns_to_the_images(self):
        self.login(self.patient.user)
        self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(drawn_brain_slice(6)))})
        assessment = Assessment.objects.get()
        Assessment.objects.filter(pk=assessment.pk).update(faithfulness=9.0, faithfulness_check=FaithfulnessCheck.DONE)
        html = self.client.get(assessment.get_absolute_url()).content.decode()
        details = html[html.index('<details class="more">'):html.index("</details>")]
        self.assertIn("<summary>More about this picture</summary>", details)
        self.assertIn("How we checked the coloured parts", details)
        self.assertIn('name="scale"', details)
        self.assertIn('action="#scan-images"', details)
        self.assertIn('id="scan-images"', html)
        # Opened by a choice already made, so that "Show" does not fold it away again.
        chosen = self.client.get(assessment.get_absolute_url(), {"colour_map": "viridis"}).content.decode()
        self.assertIn('<details class="more" open>', chosen)


class ModelCardPageTests(AlzAwareTestCase):
    def test_the_model_card_is_html_with_a_plain_summary_on_top(self):
        html = self.client.get(reverse("model_card")).content.decode()
        main = html[html.index("<main"):html.index("</main>")]
        self.assertLess(main.index("In short"), main.index("<article"))
        self.assertNotIn("**", main)
        self.assertNotIn("<pre class=\"model-card\">", main)
        self.assertIsNone(re.search(r"^#+ ", main, re.MULTILINE))
        self.assertIn("<h2>Why every number here is subject-level</h2>", main)
        self.assertIn("<table>", main)


class SmallThingsTests(AlzAwareTestCase):
    def test_log_out_says_so(self):
        self.login(self.patient.user)
        page = self.client.post(reverse("logout"), follow=True)
        self.assertRedirects(page, reverse("login"))
        self.assertContains(page, "You have logged out.")

    def test_settings_preview_every_colour_map(self):
        self.login(self.patient.user)
        page = self.client.get(reverse("preferences"))
        for name in COLOUR_MAPS:
            self.assertContains(page, f'<img src="{reverse("assessments:colour_bar", args=[name])}"')

    def test_every_page_has_a_skip_link_and_no_inline_script_or_style(self):
        assessment = stored_assessment(self.patient)
        self.login(self.patient.user)
        for url in (reverse("assessments:new"), reverse("assessments:history"), assessment.get_absolute_url(),
                    reverse("preferences"), reverse("model_card")):
            with self.subTest(url):
                html = self.client.get(url).content.decode()
                self.assertIn('<a class="skip-link" href="#main">', html)
                self.assertNotIn("style=", html)
                # Scripts only from files (the upload page's progress bar): nothing inline for the CSP to refuse.
                self.assertEqual(html.count("<script"), html.count("<script src="))
        self.client.logout()
        self.assertNotIn("style=", self.client.get(reverse("signup")).content.decode())
