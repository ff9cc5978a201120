"""The API's OpenAPI 3 schema (/api/schema/), its docs page, and a schemathesis run against the schema."""

from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token

from accounts.throttles import PredictThrottle
from tests.base import AlzAwareTestCase

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
