"""The API's OpenAPI 3 schema (/api/schema/), its docs page, and a schemathesis run against the schema."""

from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import tag
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token

from accounts.throttles import PredictThrottle
from assessments import intake
from assessments.models import TrainingMatch
from assessments.tasks import draw_volume_heatmap
from tests.base import AlzAwareTestCase, drawn_brain_slice, image_bytes, stored_review
from tests.fixtures import dicom_series, scan_files
from tests.web.test_dicom_series_uploads import study

# Examples per operation: enough to send every documented kind of body, few enough that the network runs on
# predict only a handful of times.
EXAMPLES = 25


class SchemaTests(AlzAwareTestCase):
    def schema(self):
        response = self.client.get(reverse("api-schema"), {"format": "json"})
        self.assertEqual(response.status_code, 200)
        return response.json()

    def test_the_schema_is_openapi_3_and_names_every_endpoint(self):
        schema = self.schema()
        self.assertTrue(schema["openapi"].startswith("3."))
        self.assertEqual(set(schema["paths"]), {"/api/predict", "/api/token/", "/api/assessments/", "/api/assessments/{id}/"})

    def test_it_describes_the_error_shape_and_the_token_authentication(self):
        schema = self.schema()
        self.assertEqual(set(schema["components"]["schemas"]["Error"]["properties"]), {"error", "detail"})
        self.assertEqual(schema["components"]["securitySchemes"]["tokenAuth"]["type"], "apiKey")
        predict = schema["paths"]["/api/predict"]["post"]
        for code in ("200", "400", "401", "413", "429"):
            self.assertIn(code, predict["responses"])
        self.assertEqual(predict["responses"]["429"]["content"]["application/json"]["schema"]["$ref"],
                         "#/components/schemas/Error")
        self.assertEqual(predict["security"], [{"tokenAuth": []}, {"cookieAuth": []}])
        self.assertNotIn("security", schema["paths"]["/api/token/"]["post"])  # no credentials needed

    def test_the_list_is_paginated_in_the_schema(self):
        listing = self.schema()["paths"]["/api/assessments/"]["get"]
        self.assertIn("page", [parameter["name"] for parameter in listing["parameters"]])
        self.assertEqual(listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
                         "#/components/schemas/PaginatedAssessmentResultList")

    def test_the_docs_page_loads_everything_from_this_site(self):
        self.login(self.patient.user)
        page = self.client.get(reverse("api-docs"))
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
        self.assertNotContains(page, "https://")


def undocumented(value, schema, components, where="$"):
    """Every key of the answer ``value`` (at ``where``) that ``schema`` does not declare, as paths like
    ``$.slices[0].extra``: an object's keys must be among its properties, or its schema must allow any key."""
    if isinstance(value, list):
        candidates = alternatives(schema, components)
        items = next((one["items"] for one in candidates if "items" in one), {})
        return [found for i, item in enumerate(value) for found in undocumented(item, items, components, f"{where}[{i}]")]
    if not isinstance(value, dict):
        return []
    candidates = alternatives(schema, components)
    properties = {key: sub for one in candidates for key, sub in one.get("properties", {}).items()}
    free = next((one["additionalProperties"] for one in candidates if one.get("additionalProperties")), None)
    found = []
    for key, item in value.items():
        if key in properties:
            found += undocumented(item, properties[key], components, f"{where}.{key}")
        elif free is not None:
            found += undocumented(item, free if isinstance(free, dict) else {}, components, f"{where}.{key}")
        else:
            found.append(f"{where}.{key}")
    return found


def alternatives(schema, components):
    """``schema`` with its $ref resolved and its allOf/oneOf/anyOf spread out into a list of plain schemas."""
    if "$ref" in schema:
        return alternatives(components[schema["$ref"].rsplit("/", 1)[1]], components)
    spread = [schema]
    for key in ("allOf", "oneOf", "anyOf"):
        for one in schema.get(key, []):
            spread += alternatives(one, components)
    return spread


class UndocumentedKeyTests(AlzAwareTestCase):
    """Real answers of every kind (an image, a NIfTI volume, a DICOM series, reviews, a warning) walked against
    the schema: every key the API gives is declared in it."""

    def setUp(self):
        super().setUp()
        self.image = intake.assess_upload(self.patient, image_bytes(drawn_brain_slice(71)))
        self.volume = intake.assess_upload(self.patient, scan_files.mni_nifti_bytes(2))
        draw_volume_heatmap.call(self.volume.pk)  # the task worker's part: heatmap_volume_url from then on
        intake.assess_upload(self.patient, dicom_series.series_zip(study()))
        self.image.ood_status = TrainingMatch.OUT
        self.image.save(update_fields=["ood_status"])
        stored_review(self.image, self.doctor, note="Shared with you.", sharing="verdict_and_note")
        self.login(self.patient.user)
        self.openapi = self.client.get(reverse("api-schema"), {"format": "json"}).json()
        self.components = self.openapi["components"]["schemas"]

    def answer_schema(self, path, method="get"):
        return self.openapi["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]

    def listing(self):
        answer = self.client.get(reverse("api-assessments"))
        self.assertEqual(answer.status_code, 200)
        return answer.json()

    def test_every_key_of_real_answers_is_in_the_schema(self):
        listing = self.listing()
        keys = {key for one in listing["results"] for key in one}
        # The answers hold every optional key at least once, so the walk covers each of them.
        self.assertTrue({"warning", "slices", "heatmap_volume_url", "series", "regions", "reviews"} <= keys, keys)
        self.assertEqual(undocumented(listing, self.answer_schema("/api/assessments/"), self.components), [])
        one = self.client.get(reverse("api-assessment", args=[self.volume.pk])).json()
        self.assertEqual(undocumented(one, self.answer_schema("/api/assessments/{id}/"), self.components), [])
        predicted = self.client.post(reverse("api-predict"), {"file": upload_of(drawn_brain_slice(72))}).json()
        self.assertEqual(undocumented(predicted, self.answer_schema("/api/predict", "post"), self.components), [])

    def test_the_walk_names_a_key_the_schema_does_not_declare(self):
        listing = self.listing()
        listing["results"][0]["volumes"] = {"volume_ml": 1200}  # ("measures" is documented since issue 21)
        volume = next(one for one in listing["results"] if "slices" in one)
        volume["slices"][0]["extra"] = 1
        volume["series"] = {"analysed": None, "skipped": [{"description": "", "slices": 3, "colour": "red"}]}
        walked = undocumented(listing, self.answer_schema("/api/assessments/"), self.components)
        index = listing["results"].index(volume)
        self.assertEqual(sorted(walked), sorted(["$.results[0].volumes", f"$.results[{index}].slices[0].extra",
                                                 f"$.results[{index}].series.skipped[0].colour"]))


def upload_of(gray):
    from tests.base import upload

    return upload(image_bytes(gray))


@tag("slow")  # schemathesis generates and sends many requests
class SchemathesisTests(AlzAwareTestCase):
    """Generated requests for every operation of the schema, sent through the WSGI app: no 5xx, and every
    answer as the schema says (status code, content type, body)."""

    def setUp(self):
        super().setUp()
        # Django's test client does the same: a request must not close the test's database connection.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        self.addCleanup(request_started.connect, close_old_connections)
        self.addCleanup(request_finished.connect, close_old_connections)

    def test_generated_requests_find_no_server_error_and_no_answer_outside_the_schema(self):
        import schemathesis
        from django.core.wsgi import get_wsgi_application
        from schemathesis.checks import not_a_server_error
        from schemathesis.specs.openapi.checks import (
            content_type_conformance,
            response_schema_conformance,
            status_code_conformance,
        )

        schema = schemathesis.openapi.from_wsgi(reverse("api-schema") + "?format=json", get_wsgi_application())
        headers = {"Authorization": f"Token {Token.objects.create(user=self.patient.user).key}"}
        checks = [not_a_server_error, status_code_conformance, content_type_conformance,
                  response_schema_conformance]
        operations = [result.ok() for result in schema.get_all_operations()]
        self.assertEqual(len(operations), 4)
        # Generated uploads would otherwise use up the patient's hourly rate within the run.
        PredictThrottle.THROTTLE_RATES["predict"], rate = None, PredictThrottle.THROTTLE_RATES["predict"]
        self.addCleanup(PredictThrottle.THROTTLE_RATES.__setitem__, "predict", rate)
        for operation in operations:
            with self.subTest(operation=operation.label):

                @settings(max_examples=EXAMPLES, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
                @given(case=operation.as_strategy())
                def run(case):
                    case.call_and_validate(headers=headers, checks=checks)

                run()
