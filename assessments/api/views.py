"""The JSON API: the same analysis as the web form, for programs."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    parser_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts.throttles import PredictThrottle, TokenAddressThrottle, TokenEmailThrottle
from accounts.tokens import issue_token
from assessments import intake, services
from assessments.access import open_assessment
from assessments.api.schema import (
    ERRORS,
    AssessmentResultSerializer,
    ErrorSerializer,
    PredictRequestSerializer,
    ResultSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    entered_scan_date,
)
from assessments.forms import upload_contents
from assessments.models import Assessment
from audit import trail
from audit.models import AuditAction
from mri import CLASSES
from mri.io import ScanRejected
from mri.io.errors import error_body


def error(code, detail, status_code=status.HTTP_400_BAD_REQUEST):
    return Response(error_body(code, detail), status=status_code)


def result_json(assessment, request):
    """The answer to an upload (ResultSerializer: its fields are the schema's)."""
    return ResultSerializer(assessment, context={"request": request}).data


@extend_schema(request={"multipart/form-data": PredictRequestSerializer},
               responses={200: ResultSerializer, **ERRORS},
               description="Analyse and store a scan like the web form. A refused file answers 400 with its "
                           "reason; the rate per user is PREDICT_RATE.")
@api_view(["POST"])
@parser_classes([MultiPartParser, FormParser])
@throttle_classes([PredictThrottle])
def predict(request):
    patient = services.uploader_of(request.user)
    uploads = request.FILES.getlist("file")
    if not uploads:
        return error("missing_file", "Send the scan as a multipart form field named 'file'.")
    try:
        entered = entered_scan_date(request.data)
    except ValidationError as invalid:
        return error("invalid_scan_date", str(invalid.detail[0]))
    try:
        assessment = intake.assess_upload(patient, upload_contents(uploads), entered)
    except ScanRejected as rejected:
        return error(rejected.code, rejected.message)
    trail.record(request, AuditAction.API_PREDICT, patient.pk, assessment.pk)
    return Response(result_json(assessment, request))


class AssessmentList(generics.ListAPIView):
    """The caller's own assessments, newest first, a page at a time; listing them is a read of their data,
    recorded like any other."""

    serializer_class = AssessmentResultSerializer

    def get_queryset(self):
        return Assessment.objects.for_user(self.request.user).prefetch_related("slices", "series", "reviews__author")

    @extend_schema(responses={200: AssessmentResultSerializer(many=True), 404: ErrorSerializer, **ERRORS})
    def get(self, request, *args, **kwargs):
        unknown = unknown_regions_class(request)
        if unknown:
            return unknown
        patient = getattr(request.user, "patient", None)
        if patient is not None:
            trail.record(request, AuditAction.API_LIST, patient.pk)
        return super().get(request, *args, **kwargs)


@extend_schema(responses={200: AssessmentResultSerializer, 404: ErrorSerializer, **ERRORS})
@api_view(["GET"])
def assessment(request, pk):
    """One assessment the caller may open (their own; their patients' for a doctor), else 404."""
    unknown = unknown_regions_class(request)
    if unknown:
        return unknown
    found = open_assessment(request, pk, AuditAction.API_DETAIL)
    return Response(AssessmentResultSerializer(found, context={"request": request}).data)


def unknown_regions_class(request):
    """The error answer for a ``?regions_class=`` that names no class, else None."""
    chosen = request.GET.get("regions_class")
    if chosen is not None and chosen not in CLASSES:
        return error("unknown_class", f"regions_class must be one of: {', '.join(CLASSES)}.")
    return None


@extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer, **ERRORS}, auth=[],
               description="A token for the e-mail address and password. Wrong passwords lock the address out "
                           "(LOGIN_FAILURE_LIMIT, HTTP 429); the rate per e-mail and per client is limited too.")
@api_view(["POST"])
# The credentials are in the body; a browser's session cookie must not make this demand a CSRF token.
@authentication_classes([])
@permission_classes([AllowAny])
@parser_classes([JSONParser, FormParser, MultiPartParser])
@throttle_classes([TokenEmailThrottle, TokenAddressThrottle])
def token(request):
    """A token for ``email`` (or DRF's usual ``username``) and ``password``."""
    email = request.data.get("email") or request.data.get("username")
    # Django's own request: django-axes marks it when the address or account is locked out.
    user = authenticate(request._request, username=email, password=request.data.get("password"))
    if user is None or not user.is_active:
        return error("invalid_credentials", "Unable to log in with the e-mail and password given.")
    return Response({"token": issue_token(user).key})
