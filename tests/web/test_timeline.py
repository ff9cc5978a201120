"""The timeline: each visit's probabilities over time as a server-drawn SVG, and two visits compared on one scale."""

import datetime
import xml.etree.ElementTree as ET

from django.urls import reverse
from django.utils import timezone

from assessments.models import Assessment, ScanDateSource
from assessments.presentation import chart
from mri import CLASSES
from tests.base import AlzAwareTestCase, image_bytes, stored_assessment, upload
from tests.slices import brain_slices

SVG = "{http://www.w3.org/2000/svg}"


def two_visits(patient):
    """Two listed visits, a year apart: Very Mild Impairment at 70%, then Mild Impairment at 70%."""
    first = stored_assessment(patient, seed=1, prediction=CLASSES[1])
    second = stored_assessment(patient, seed=2, prediction=CLASSES[2])
    for visit, year in ((first, 2025), (second, 2026)):
        Assessment.objects.filter(pk=visit.pk).update(
            created_at=timezone.make_aware(datetime.datetime(year, 3, 1, 9)), scan_date=datetime.date(year, 3, 1),
            scan_date_source=ScanDateSource.DICOM)
    return Assessment.objects.get(pk=first.pk), Assessment.objects.get(pk=second.pk)


def chart_of(response):
    """The page's inline SVG chart, parsed."""
    html = response.content.decode()
    start, end = html.index("<svg"), html.index("</svg>") + len("</svg>")
    return ET.fromstring(html[start:end])


class TimelineChartTests(AlzAwareTestCase):
    def test_every_visit_has_a_marker_for_each_grade_and_any_impairment_at_its_value(self):
        two_visits(self.patient)
        self.login(self.patient.user)
        svg = chart_of(self.client.get(reverse("assessments:timeline")))
        tips = {el.text for el in svg.iter(f"{SVG}title")}
        self.assertIn("Very Mild Impairment, 01 Mar 2025: 70.0%", tips)
        self.assertIn("Mild Impairment, 01 Mar 2026: 70.0%", tips)
        self.assertIn("Any impairment, 01 Mar 2025: 90.0%", tips)
        self.assertIn("No Impairment, 01 Mar 2026: 10.0%", tips)
        plotted = [el for el in svg.iter() if el.find(f"{SVG}title") is not None and ", 01 Mar" in el.find(f"{SVG}title").text]
        self.assertEqual(len(plotted), 2 * len(chart.SERIES))
        circle = next(el for el in svg.iter(f"{SVG}circle") if el.find(f"{SVG}title").text.startswith("No Impairment, 01 Mar 2025"))
        plot_height = chart.HEIGHT - chart.TOP - chart.BOTTOM
        self.assertAlmostEqual(float(circle.get("cy")), chart.TOP + plot_height * (1 - 0.1), delta=0.1)

    def test_each_series_differs_by_line_style_or_marker_and_is_named_in_the_legend(self):
        self.assertEqual(len({(dash, kind) for _, _, dash, kind in chart.SERIES}), len(chart.SERIES))
        self.assertEqual(len({kind for _, _, _, kind in chart.SERIES}), len(chart.SERIES))
        two_visits(self.patient)
        self.login(self.patient.user)
        svg = chart_of(self.client.get(reverse("assessments:timeline")))
        texts = [el.text for el in svg.iter(f"{SVG}text")]
        for name, *_ in chart.SERIES:
            self.assertIn(name, texts)
        self.assertIn("01 Mar 2025", texts)
        self.assertIn("01 Mar 2026", texts)
        self.assertFalse([el for el in svg.iter() if el.get("style") is not None or el.tag == f"{SVG}script"])

    def test_the_history_links_the_timeline_and_it_lists_only_the_patients_own_visits(self):
        two_visits(self.patient)
        theirs = stored_assessment(self.other_patient, seed=5, prediction=CLASSES[3])
        self.login(self.patient.user)
        self.assertContains(self.client.get(reverse("assessments:history")), reverse("assessments:timeline"))
        response = self.client.get(reverse("assessments:timeline"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(len(response.context["rows"]), 2)
        self.assertNotContains(response, f"/assessments/{theirs.pk}/")

    def test_visits_without_stored_maps_are_not_offered_for_comparison(self):
        two_visits(self.patient)
        self.login(self.patient.user)
        response = self.client.get(reverse("assessments:timeline"))
        self.assertIsNone(response.context["pair"])
        self.assertNotContains(response, "/maps/")

    def test_a_patient_without_visits_gets_no_chart(self):
        self.login(self.patient.user)
        response = self.client.get(reverse("assessments:timeline"))
        self.assertNotContains(response, "<svg")
        self.assertContains(response, "You have no results yet.")

    def test_a_doctor_sees_the_chart_on_their_patients_admin_page(self):
        two_visits(self.patient)
        self.login(self.doctor)
        response = self.client.get(reverse("admin:accounts_patient_change", args=[self.patient.pk]))
        self.assertContains(response, "Results of Ada Lovelace over time")
        self.assertContains(response, "Mild Impairment, 01 Mar 2026: 70.0%")


class CompareVisitsTests(AlzAwareTestCase):
    def submit(self, seed):
        self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(brain_slices(20)[seed][1]))})
        return Assessment.objects.latest("pk")

    def test_two_visits_are_shown_side_by_side_on_the_shared_scale(self):
        self.login(self.patient.user)
        first, second = self.submit(0), self.submit(5)
        response = self.client.get(reverse("assessments:timeline"), {"first": first.pk, "second": second.pk, "klass": 2})
        urls = [url for _, url in response.context["pair"]["visits"]]
        self.assertEqual(urls, [reverse("assessments:class_overlay", args=[pk, 2, "jet"]) + "?scale=absolute"
                                for pk in (first.pk, second.pk)])
        for url in urls:
            self.assertContains(response, url.replace("&", "&amp;"))
            image = self.client.get(url)
            self.assertEqual(image.status_code, 200)
            self.assertEqual(image["Content-Type"], "image/png")
        self.assertContains(response, "one scale")

    def test_by_default_it_compares_the_two_latest_visits(self):
        self.login(self.patient.user)
        self.submit(0)
        second, third = self.submit(3), self.submit(5)
        pair = self.client.get(reverse("assessments:timeline")).context["pair"]
        self.assertEqual([visit.pk for visit, _ in pair["visits"]], [second.pk, third.pk])

    def test_another_patients_visit_cannot_be_chosen(self):
        theirs = stored_assessment(self.other_patient, seed=4)
        self.login(self.patient.user)
        mine = self.submit(0)
        self.submit(1)
        response = self.client.get(reverse("assessments:timeline"), {"first": theirs.pk, "second": mine.pk, "klass": 0})
        self.assertIsNone(response.context["pair"])
        self.assertNotContains(response, f"/assessments/{theirs.pk}/")
