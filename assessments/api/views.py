"""The JSON API: the same analysis as the web form, for programs."""

from django.contrib.auth import authenticate
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    parser_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts import audit
from accounts.models import AuditAction
from accounts.throttles import PredictThrottle, TokenAddressThrottle, TokenEmailThrottle
from accounts.tokens import issue_token
from assessments import intake, reviews, services
from assessments.access import open_assessment
from assessments.api.schema import (
    ERRORS,
    AssessmentResultSerializer,
    ErrorSerializer,
    PredictRequestSerializer,
    ResultSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)
from assessments.forms import upload_contents
from assessments.interpretation import headline_json, measures_json
from assessments.models import Assessment
from mri import CLASSES
from mri.explain.regions import GROUPINGS
from mri.inference.ood import OUTSIDE_TRAINING
from mri.io import ScanRejected
from mri.io.errors import error_body


def error(code, detail, status_code=status.HTTP_400_BAD_REQUEST):
    return Response(error_body(code, detail), status=status_code)


def result_json(assessment, request):
    """The four documented keys, ``any_impairment``, ``regions``, ``headline`` and ``measures``; a volume adds
    ``slices`` and ``heatmap_volume_url``, a DICOM series upload ``series``, a doubtful input ``warning``."""
    result = {
        "prediction": assessment.prediction,
        "confidence": round(float(assessment.confidence), 6),
        "class_probabilities": assessment.probabilities_as_percentages(),
        "any_impairment": round(assessment.any_impairment, 6),
        "heatmap_url": (
            request.build_absolute_uri(reverse("assessments:file", args=[assessment.pk, "overlay"]))
            if assessment.overlay
            else None
        ),
    }
    result["regions"] = regions_json(assessment, request)
    result["headline"] = headline_json(assessment.headline)
    result["measures"] = measures_json(assessment.measures)
    if assessment.outside_training:
        result["warning"] = OUTSIDE_TRAINING
    if assessment.is_volume:
        result["slices"] = [slice_json(assessment, one, request) for one in assessment.slices.all()]
    if assessment.heatmap_volume:
        result["heatmap_volume_url"] = request.build_absolute_uri(
            reverse("assessments:volume_file", args=[assessment.pk, "heatmap"]))
    analysed, skipped = assessment.analysed_series, assessment.skipped_series
    if analysed or skipped:
        result["series"] = {"analysed": series_json(analysed) if analysed else None,
                            "skipped": [series_json(one) for one in skipped]}
    return result


def series_json(one):
    """A series of a DICOM series upload: what kind it is and, when skipped, why (a code of ScanSeries.Skipped)."""
    result = {"description": one.description, "weighting": one.weighting or None, "plane": one.plane or None,
              "slices": one.slice_count}
    if one.analysed:
        result["missing_slices"] = one.missing_slices
    else:
        result["reason"] = one.skipped_because
    return result


def regions_json(assessment, request):
    """One class's region shares (``?regions_class=<class name>``, else the predicted class), or None.

    ``{"class": name, "tissue": {...}, "side": {...}, "half": {...}}``: each grouping's shares sum to 1.
    """
    name = request.GET.get("regions_class") or assessment.prediction
    scores = assessment.regions_of(name)
    if not scores:
        return None
    # In regions.GROUPINGS' order, whatever order the database kept the stored keys in.
    return {"class": name, **{grouping: {region: round(float(scores[grouping][region]), 6) for region in names}
                              for grouping, names in GROUPINGS.items()}}


def slice_json(assessment, one, request):
    """One slice of a volume's band, in the same shape as a result plus its axial position.

    Every slice of the band is listed. ``counted`` says whether the volume's result includes it and
    ``reason`` why not (a code of ``AssessmentSlice.LeftOut``, else None): a slice a check refused was never
    analysed, so its result keys are None; one the detector refused was analysed but is not counted.
    """
    overlay = reverse("assessments:slice_file", args=[assessment.pk, one.position, "overlay"])
    analysed = one.analysed
    return {
        "position": one.position,
        "prediction": one.prediction if analysed else None,
        "confidence": round(float(one.confidence), 6) if analysed else None,
        "class_probabilities": one.probabilities_as_percentages() if analysed else None,
        "any_impairment": round(one.any_impairment, 6) if analysed else None,
        "heatmap_url": request.build_absolute_uri(overlay) if one.overlay else None,
        "representative": one.representative,
        "outside_training": one.outside_training,
        "counted": one.counted,
        "reason": one.left_out or None,
    }


class AssessmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Assessment
        fields = ["id", "created_at"]

    def to_representation(self, instance):
        request = self.context["request"]
        return {
            **super().to_representation(instance),
            **result_json(instance, request),
            "reviews": [reviews.patient_json(review) for review in instance.reviews.all()],
            "url": request.build_absolute_uri(instance.get_absolute_url()),
        }


@extend_schema(request={"multipart/form-data": PredictRequestSerializer},
               responses={200: ResultSerializer, **ERRORS},
               description="Analyse and store a scan like the web form. A refused file answers 400 with its "
                           "reason; the rate per user is PREDICT_RATE.")
@api_view(["POST"])
@parser_classes([MultiPartParser, FormParser])
@throttle_classes([PredictThrottle])
def predict(request):
    patient = services.patient_of(request.user)
    uploads = request.FILES.getlist("file")
    if not uploads:
        return error("missing_file", "Send the scan as a multipart form field named 'file'.")
    try:
        assessment = intake.assess_upload(patient, upload_contents(uploads))
    except ScanRejected as rejected:
        return error(rejected.code, rejected.message)
    audit.record(request, AuditAction.API_PREDICT, patient.pk, assessment.pk)
    return Response(result_json(assessment, request))


class AssessmentList(generics.ListAPIView):
    """The caller's own assessments, newest first, a page at a time; listing them is a read of their data,
    recorded like any other."""

    serializer_class = AssessmentSerializer

    def get_queryset(self):
        return Assessment.objects.for_user(self.request.user).prefetch_related("slices", "series", "reviews__author")

    @extend_schema(responses={200: AssessmentResultSerializer(many=True), 404: ErrorSerializer, **ERRORS})
    def get(self, request, *args, **kwargs):
        unknown = unknown_regions_class(request)
        if unknown:
            return unknown
        patient = getattr(request.user, "patient", None)
        if patient is not None:
            audit.record(request, AuditAction.API_LIST, patient.pk)
        return super().get(request, *args, **kwargs)


@extend_schema(responses={200: AssessmentResultSerializer, 404: ErrorSerializer, **ERRORS})
@api_view(["GET"])
def assessment(request, pk):
    """One assessment the caller may open (their own; their patients' for a doctor), else 404."""
    unknown = unknown_regions_class(request)
    if unknown:
        return unknown
    found = open_assessment(request, pk, AuditAction.API_DETAIL)
    return Response(AssessmentSerializer(found, context={"request": request}).data)


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
