"""The API's shapes for its OpenAPI schema (drf-spectacular), and the one error shape of every answer.

The views build their JSON in :mod:`.api`; these serializers only describe it, so the schema at
/api/schema/ says what a client gets, checked by tests.web.test_api_schema.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.exceptions import APIException
from rest_framework.views import exception_handler as drf_exception_handler

from mri import CLASSES, measures
from mri import headline as headlines


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="A stable code, e.g. 'unreadable', 'too_large', 'throttled'.")
    detail = serializers.CharField(help_text="What went wrong, in words a person understands.")


def exception_handler(exc, context):
    """DRF's own refusals (401, 403, 404, 405, 429) in the same ``{"error", "detail"}`` shape as the API's."""
    # Django's own 404 and 403 (the ownership check raises them) become DRF's first, so they get the shape too.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, APIException):
        codes = exc.get_codes()
        detail = exc.detail if isinstance(exc.detail, str) else "The request is not valid."
        response.data = {"error": codes if isinstance(codes, str) else "invalid", "detail": str(detail)}
    return response


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField()


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as 'Authorization: Token <token>'. Expires (API_TOKEN_HOURS).")


class PredictRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The scan: PNG, JPEG, TIFF, BMP, DICOM or NIfTI (.nii, .nii.gz).")


PROBABILITIES = serializers.DictField(child=serializers.CharField(), help_text="Each class as e.g. '81.29%'.")


class SliceSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    prediction = serializers.CharField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    class_probabilities = serializers.DictField(child=serializers.CharField(), allow_null=True)
    any_impairment = serializers.FloatField(allow_null=True)
    heatmap_url = serializers.URLField(allow_null=True)
    representative = serializers.BooleanField()
    outside_training = serializers.BooleanField()
    counted = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)


class HeadlineSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=headlines.KINDS, help_text="'grade', or 'cannot_tell' when the grades "
                                   "are close or the grade and any_impairment point different ways.")
    grade = serializers.ChoiceField(choices=CLASSES, allow_null=True, help_text="The grade headlined; null when "
                                    "the program cannot tell.")
    reason = serializers.ChoiceField(choices=headlines.REASONS)
    text = serializers.CharField(help_text="The reason in words, as the result page gives it.")


class ReferenceFiguresSerializer(serializers.Serializer):
    q1 = serializers.FloatField()
    median = serializers.FloatField()
    q3 = serializers.FloatField()
    p5 = serializers.FloatField(required=False)
    p95 = serializers.FloatField(required=False)
    n = serializers.IntegerField(help_text="How many training people the figures are of.")


class MeasureSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True, help_text="A share, 0..1; null where it is not defined "
                                   "(the medial-temporal measure of a single slice).")
    reference = serializers.DictField(
        child=ReferenceFiguresSerializer(),
        help_text="The training people's spread of this measure by group: the four grades and 'Any impairment'. "
                  "Empty when the model carries no reference.")


MEASURES_FIELD = serializers.DictField(
    child=MeasureSerializer(),
    help_text="Atrophy measures read off the counted slices, by key: " + ", ".join(measures.KEYS) + ".")


class ResultSerializer(serializers.Serializer):
    prediction = serializers.CharField()
    confidence = serializers.FloatField(min_value=0, max_value=1)
    class_probabilities = PROBABILITIES
    any_impairment = serializers.FloatField(min_value=0, max_value=1, help_text="P(any grade above No "
                                            "Impairment): the network's, or combined with the measures where "
                                            "the model carries that estimate.")
    headline = HeadlineSerializer()
    measures = MEASURES_FIELD
    heatmap_url = serializers.URLField(allow_null=True, help_text="Readable with the same token or session.")
    warning = serializers.CharField(required=False, help_text="Only when the scan is unlike the training scans.")
    slices = SliceSerializer(many=True, required=False, help_text="Only for a volume: every slice of its band.")


class AssessmentResultSerializer(ResultSerializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    url = serializers.URLField()


ERRORS = {code: ErrorSerializer for code in (400, 401, 403, 413, 429)}
