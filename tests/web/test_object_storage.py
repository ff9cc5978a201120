"""Scans and overlays in an S3-compatible object store, by configuration: a real S3 server (moto's server mode)."""

import logging
import os
from unittest import mock

import boto3
from django.conf import settings
from django.test import override_settings, tag
from django.urls import reverse
from moto.server import ThreadedMotoServer

from alzaware.settings import object_storage
from assessments.models import Assessment
from assessments.tasks import score_faithfulness
from tests.base import AlzAwareTestCase, drawn_brain_slice, image_bytes, upload

BUCKET = "alzaware-media"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@tag("slow")  # a real S3 server (moto's, in a thread)
class ObjectStorageTests(AlzAwareTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        cls.server.start()
        host, port = cls.server.get_host_and_port()
        cls.endpoint = f"http://{host}:{port}"
        cls.addClassCleanup(cls.server.stop)
        # The server's own request log is not this test's output.
        werkzeug = logging.getLogger("werkzeug")
        cls.addClassCleanup(werkzeug.setLevel, werkzeug.level)
        werkzeug.setLevel(logging.WARNING)

    def setUp(self):
        super().setUp()
        self.s3 = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                               aws_access_key_id="testing", aws_secret_access_key="testing")
        self.s3.create_bucket(Bucket=BUCKET)
        self.addCleanup(self.empty_bucket)
        credentials = mock.patch.dict(os.environ, CREDENTIALS)
        credentials.start()
        self.addCleanup(credentials.stop)
        # The settings' own S3 configuration, as S3_BUCKET / S3_ENDPOINT_URL / S3_REGION give it.
        storage = override_settings(STORAGES={**settings.STORAGES,
                                              "default": object_storage(BUCKET, self.endpoint, "us-east-1")})
        storage.enable()
        self.addCleanup(storage.disable)

    def empty_bucket(self):
        for key in self.stored_objects():
            self.s3.delete_object(Bucket=BUCKET, Key=key)
        self.s3.delete_bucket(Bucket=BUCKET)

    def stored_objects(self):
        return sorted(item["Key"] for item in self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))

    def test_an_upload_is_stored_in_the_bucket_and_served_by_the_app_after_its_access_check(self):
        self.login(self.patient.user)
        self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(drawn_brain_slice(7)))})
        assessment = Assessment.objects.get()
        self.assertEqual(self.stored_objects(), sorted([assessment.scan.name, assessment.overlay.name,
                                                        assessment.maps.name]))
        self.assertEqual(self.stored_files(), [])  # nothing on the local disk
        overlay = reverse("assessments:file", args=[assessment.pk, "overlay"])
        served = b"".join(self.client.get(overlay).streaming_content)
        self.assertEqual(served, self.s3.get_object(Bucket=BUCKET, Key=assessment.overlay.name)["Body"].read())
        self.login(self.other_patient.user)
        self.assertEqual(self.client.get(overlay).status_code, 404)

    def test_the_heatmap_switch_and_the_background_score_read_from_the_bucket(self):
        self.login(self.patient.user)
        self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(drawn_brain_slice(8)))})
        assessment = Assessment.objects.get()
        switched = self.client.get(reverse("assessments:class_overlay", args=[assessment.pk, 0, "viridis"]))
        self.assertEqual(switched.content[:4], b"\x89PNG")
        self.assertIsNotNone(score_faithfulness.call(assessment.pk))

    def test_a_refused_upload_leaves_the_bucket_empty(self):
        self.login(self.patient.user)
        response = self.client.post(reverse("assessments:new"), {"scan": upload(b"not a scan at all" * 40)})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.stored_objects(), [])
