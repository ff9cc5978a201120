"""The doctors' admin, readable: images with their colour bar and class, short pages, the patient's latest
assessments with a link to all, percentages, filters and model state in words."""

import re

from django.urls import reverse

from assessments.admin import LATEST_ON_PATIENT_PAGE
from assessments.models import Assessment, TrainingMatch
from tests.base import AlzAwareTestCase, stored_assessment


class AdminPageTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        self.login(self.doctor)

    def test_the_assessment_list_shows_25_rows_a_page(self):
        for seed in range(26):
            stored_assessment(self.patient, seed=seed)
        page = self.client.get(reverse("admin:assessments_assessment_changelist"))
        self.assertEqual(len(page.context["cl"].result_list), 25)
        self.assertEqual(self.client.get(reverse("admin:accounts_patient_changelist")).context["cl"].list_per_page, 25)

    def test_thumbnails_come_with_their_colour_bar_and_class_name_and_no_inline_style(self):
        assessment = stored_assessment(self.patient)
        html = self.client.get(reverse("admin:assessments_assessment_changelist")).content.decode()
        self.assertIn('<div class="admin-scan-pair">', html)
        self.assertIn(reverse("assessments:colour_bar", args=["jet"]), html)
        self.assertIn(f"Heatmap: {assessment.prediction}", html)
        self.assertNotIn('style="display:inline-block', html)

    def test_the_patient_page_shows_the_latest_assessments_and_links_to_all(self):
        made = [stored_assessment(self.patient, seed=seed) for seed in range(LATEST_ON_PATIENT_PAGE + 2)]
        html = self.client.get(reverse("admin:accounts_patient_change", args=[self.patient.pk])).content.decode()
        shown = re.findall(r'href="/admin/assessments/assessment/(\d+)/change/"', html)
        self.assertEqual([int(pk) for pk in shown], [one.pk for one in reversed(made)][:LATEST_ON_PATIENT_PAGE])
        every = f"{reverse('admin:assessments_assessment_changelist')}?patient__id__exact={self.patient.pk}"
        self.assertIn(f'<a href="{every}">All {len(made)} assessments of this patient</a>', html)
        self.assertNotIn("View on site", html)
        self.assertEqual(len(self.client.get(every).context["cl"].result_list), len(made))

    def test_probabilities_are_percentages_and_an_untrained_model_is_said_in_words(self):
        assessment = stored_assessment(self.patient)
        Assessment.objects.filter(pk=assessment.pk).update(model_trained=False)
        html = self.client.get(reverse("admin:assessments_assessment_change", args=[assessment.pk])).content.decode()
        self.assertIn(f"<li>{assessment.prediction}: 70.0%</li>", html)
        self.assertIn("<li>No Impairment: 10.0%</li>", html)
        self.assertIn("UNTRAINED: random answers, ignore this result", html)
        self.assertNotIn('alt="False"', html)

    def test_every_training_match_filter_has_a_name_and_filters(self):
        unchecked = stored_assessment(self.patient, seed=1)
        outside = stored_assessment(self.patient, seed=2)
        Assessment.objects.filter(pk=outside.pk).update(ood_status=TrainingMatch.UNSURE)
        url = reverse("admin:assessments_assessment_changelist")
        html = self.client.get(url).content.decode()
        self.assertIsNone(re.search(r'<a href="\?[^"]*">\s*</a>', html))
        self.assertIn("By match with the training scans", html)
        self.assertIn("By file format", html)
        self.assertIn(TrainingMatch.NOT_CHECKED.label, html)
        self.assertEqual(list(self.client.get(url, {"ood_status": "none"}).context["cl"].result_list), [unchecked])
        self.assertEqual(list(self.client.get(url, {"ood_status": TrainingMatch.UNSURE}).context["cl"].result_list),
                         [outside])
