"""Each assessment's scan date (the DICOM header's, else the patient's answer, else the upload day, marked) and
the timeline ordered and plotted by it, whole scans apart from single pictures."""

import datetime
import xml.etree.ElementTree as ET

from django.urls import reverse
from django.utils import timezone

from assessments.models import Assessment, ScanDateSource
from tests.base import AlzAwareTestCase, drawn_brain_slice, image_bytes, upload
from tests.fixtures import scan_files

SVG = "{http://www.w3.org/2000/svg}"


def charts_of(response):
    """Every inline SVG chart of the page, parsed, in page order."""
    html, charts, start = response.content.decode(), [], 0
    while (start := html.find("<svg", start)) != -1:
        end = html.index("</svg>", start) + len("</svg>")
        charts.append(ET.fromstring(html[start:end]))
        start = end
    return charts


class ScanDateTests(AlzAwareTestCase):
    def submit(self, data, name="scan.png", **fields):
        self.login(self.patient.user)
        response = self.client.post(reverse("assessments:new"), {"scan": upload(data, name), **fields})
        return response, Assessment.objects.order_by("pk").last()

    def test_a_dicom_uploads_timeline_point_sits_at_its_study_date(self):
        dicom = scan_files.dicom_bytes(scan_files.mni_axial(), dates={"StudyDate": "20190614",
                                                                       "AcquisitionDate": "20190615"})
        _, assessment = self.submit(dicom, "IM0001", scan_date="01/01/2020")
        self.assertEqual((assessment.scan_date, assessment.scan_date_source),
                         (datetime.date(2019, 6, 14), ScanDateSource.DICOM))
        self.assertNotIn("scan_date", assessment.acquisition)
        [chart] = charts_of(self.client.get(reverse("assessments:timeline")))
        tips = {el.text for el in chart.iter(f"{SVG}title")}
        self.assertIn(f"{assessment.prediction}, 14 Jun 2019: {assessment.confidence:.1%}", tips)
        self.assertIn("14 Jun 2019", [el.text for el in chart.iter(f"{SVG}text")])
        api = self.client.get(reverse("api-assessment", args=[assessment.pk])).json()
        self.assertEqual((api["scan_date"], api["scan_date_source"]), ("2019-06-14", "dicom"))

    def test_the_acquisition_date_stands_in_for_a_missing_study_date(self):
        dicom = scan_files.dicom_bytes(scan_files.mni_axial(), dates={"AcquisitionDate": "20180302"})
        _, assessment = self.submit(dicom, "IM0001")
        self.assertEqual(assessment.scan_date, datetime.date(2018, 3, 2))

    def test_the_birth_date_of_a_header_is_never_taken_for_the_scans(self):
        _, assessment = self.submit(scan_files.dicom_bytes(scan_files.mni_axial()), "IM0001")
        self.assertEqual((assessment.scan_date, assessment.scan_date_source),
                         (timezone.localdate(), ScanDateSource.UPLOAD))

    def test_an_entered_date_is_used_when_the_file_has_none(self):
        _, assessment = self.submit(image_bytes(drawn_brain_slice(1)), scan_date="21/03/2024")
        self.assertEqual((assessment.scan_date, assessment.scan_date_source),
                         (datetime.date(2024, 3, 21), ScanDateSource.ENTERED))

    def test_a_future_date_is_refused(self):
        response, assessment = self.submit(image_bytes(drawn_brain_slice(1)), scan_date="01/01/2999")
        self.assertContains(response, "not in the future", status_code=400)
        self.assertIsNone(assessment)

    def test_without_a_date_the_upload_day_is_marked_as_such(self):
        _, assessment = self.submit(image_bytes(drawn_brain_slice(2)))
        self.assertEqual(assessment.scan_date_source, ScanDateSource.UPLOAD)
        page = self.client.get(reverse("assessments:timeline"))
        self.assertContains(page, f"{timezone.localdate():%-d %b %Y}*")
        self.assertContains(page, "stands in, marked with *")

    def test_the_timeline_orders_by_scan_date_and_keeps_volumes_apart(self):
        _, later = self.submit(image_bytes(drawn_brain_slice(3)), scan_date="01/06/2024")
        _, earlier = self.submit(image_bytes(drawn_brain_slice(4)), scan_date="01/06/2022")
        _, volume = self.submit(scan_files.mni_nifti_bytes(2, compressed=True), "brain.nii.gz",
                                scan_date="01/06/2023")
        page = self.client.get(reverse("assessments:timeline"))
        self.assertEqual([trend["key"] for trend in page.context["trends"]], ["volumes", "slices"])
        volumes, slices = page.context["trends"]
        self.assertEqual([a.pk for a, _ in volumes["rows"]], [volume.pk])
        self.assertEqual([a.pk for a, _ in slices["rows"]], [earlier.pk, later.pk])
        self.assertEqual(len(charts_of(page)), 2)
        history = self.client.get(reverse("assessments:history"))
        self.assertEqual([a.pk for a in history.context["assessments"]], [later.pk, volume.pk, earlier.pk])


class UploadMessageTests(AlzAwareTestCase):
    def test_an_upload_without_a_file_says_to_choose_one(self):
        self.login(self.patient.user)
        response = self.client.post(reverse("assessments:new"), {})
        self.assertContains(response, "Please choose your scan first", status_code=400)
        self.assertNotContains(response, "DICOM image", status_code=400)

    def test_an_empty_file_says_what_to_do(self):
        self.login(self.patient.user)
        response = self.client.post(reverse("assessments:new"), {"scan": upload(b"", "scan.dcm")})
        self.assertContains(response, "The file you chose is empty", status_code=400)
        self.assertContains(response, "copy it to your computer first", status_code=400)

    def test_an_oversized_upload_says_what_to_send_instead(self):
        self.login(self.patient.user)
        with self.settings(MAX_UPLOAD_BYTES=1024 * 1024):
            response = self.client.post(reverse("assessments:new"), {"scan": upload(b"\0" * (1024 * 1024 + 1))})
        self.assertContains(response, "make a ZIP of only the one series folder", status_code=400)
        self.assertContains(response, "choose only the files of the largest series", status_code=400)


class ApiScanDateTests(AlzAwareTestCase):
    """The API's predict takes the same optional scan_date as the upload page, under the same rule."""

    def predict(self, data, name="scan.png", **fields):
        self.login(self.patient.user)
        return self.client.post(reverse("api-predict"), {"file": upload(data, name), **fields})

    def stored(self):
        assessment = Assessment.objects.get()
        return assessment.scan_date, assessment.scan_date_source

    def test_an_entered_date_is_used_when_the_file_has_none(self):
        self.assertEqual(self.predict(image_bytes(drawn_brain_slice(1)), scan_date="2024-03-21").status_code, 200)
        self.assertEqual(self.stored(), (datetime.date(2024, 3, 21), ScanDateSource.ENTERED))
        api = self.client.get(reverse("api-assessment", args=[Assessment.objects.get().pk])).json()
        self.assertEqual((api["scan_date"], api["scan_date_source"]), ("2024-03-21", "entered"))

    def test_the_dicom_date_wins_over_the_entered_one(self):
        dicom = scan_files.dicom_bytes(scan_files.mni_axial(), dates={"StudyDate": "20190614"})
        self.assertEqual(self.predict(dicom, "IM0001", scan_date="2020-01-01").status_code, 200)
        self.assertEqual(self.stored(), (datetime.date(2019, 6, 14), ScanDateSource.DICOM))

    def test_a_future_an_absurdly_old_or_an_unreadable_date_is_refused_and_nothing_stored(self):
        tomorrow = timezone.localdate() + datetime.timedelta(days=1)
        for day in (tomorrow.isoformat(), "1850-01-01", "21/03/2024"):
            response = self.predict(image_bytes(drawn_brain_slice(1)), scan_date=day)
            self.assertEqual(response.status_code, 400, day)
            self.assertEqual(response.json()["error"], "invalid_scan_date", day)
        self.assertEqual(response.json()["detail"], "Date has wrong format. Use one of these formats instead: "
                                                    "YYYY-MM-DD.")
        self.assertFalse(Assessment.objects.exists())

    def test_the_page_and_the_api_refuse_with_the_same_words(self):
        self.login(self.patient.user)
        refused = self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(drawn_brain_slice(1))),
                                                         "scan_date": "01/01/1850"})
        answer = self.predict(image_bytes(drawn_brain_slice(1)), scan_date="1850-01-01").json()
        self.assertEqual(answer["detail"], "Please enter a date that is not in the future, and not before 1900.")
        self.assertContains(refused, answer["detail"], status_code=400)

    def test_without_a_date_the_upload_day_stands_in(self):
        self.assertEqual(self.predict(image_bytes(drawn_brain_slice(2)), scan_date="").status_code, 200)
        self.assertEqual(self.stored(), (timezone.localdate(), ScanDateSource.UPLOAD))

    def test_the_schema_declares_the_optional_scan_date(self):
        schema = self.client.get(reverse("api-schema"), {"format": "json"}).json()
        body = schema["paths"]["/api/predict"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
        request = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
        self.assertEqual(request["properties"]["scan_date"]["format"], "date")
        self.assertTrue(request["properties"]["scan_date"]["nullable"])
        self.assertEqual(request["required"], ["file"])
