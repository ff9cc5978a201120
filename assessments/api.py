"""The JSON API: the same analysis as the web form, for programs."""

from django.contrib.auth import authenticate
from django.urls import reverse
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.decorators import api_view, authentication_classes, parser_classes, permission_classes
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from . import intake, services
from .ml import CLASSES
from .ml.ood import OUTSIDE_TRAINING
from .models import Assessment
from .scans import ScanRejected
from .scans.errors import error_body


def error(code, detail, status_code=status.HTTP_400_BAD_REQUEST):
    return Response(error_body(code, detail), status=status_code)


def result_json(assessment, request):
    """The four documented keys, ``any_impairment`` and ``regions``; a volume adds ``slices`` and
    ``heatmap_volume_url``, a doubtful input ``warning``."""
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
    if assessment.outside_training:
        result["warning"] = OUTSIDE_TRAINING
    if assessment.is_volume:
        result["slices"] = [slice_json(assessment, one, request) for one in assessment.slices.all()]
    if assessment.heatmap_volume:
        result["heatmap_volume_url"] = request.build_absolute_uri(
            reverse("assessments:volume_file", args=[assessment.pk, "heatmap"]))
    return result


def regions_json(assessment, request):
    """One class's region shares (``?regions_class=<class name>``, else the predicted class), or None.

    ``{"class": name, "tissue": {...}, "side": {...}, "half": {...}}``: each grouping's shares sum to 1.
    """
    name = request.GET.get("regions_class") or assessment.prediction
    scores = assessment.regions_of(name)
    if not scores:
        return None
    return {"class": name, **{grouping: {region: round(float(share), 6) for region, share in shares.items()}
                              for grouping, shares in scores.items()}}


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
            "url": request.build_absolute_uri(instance.get_absolute_url()),
        }


@api_view(["POST"])
@parser_classes([MultiPartParser, FormParser])
def predict(request):
    patient = services.patient_of(request.user)
    upload = request.FILES.get("file")
    if upload is None:
        return error("missing_file", "Send the scan as a multipart form field named 'file'.")
    try:
        assessment = intake.assess_upload(patient, upload.read())
    except ScanRejected as rejected:
        return error(rejected.code, rejected.message)
    return Response(result_json(assessment, request))


@api_view(["GET"])
def assessments(request):
    chosen = request.GET.get("regions_class")
    if chosen is not None and chosen not in CLASSES:
        return error("unknown_class", f"regions_class must be one of: {', '.join(CLASSES)}.")
    queryset = Assessment.objects.for_user(request.user).prefetch_related("slices")
    return Response(AssessmentSerializer(queryset, many=True, context={"request": request}).data)


@api_view(["POST"])
# The credentials are in the body; a browser's session cookie must not make this demand a CSRF token.
@authentication_classes([])
@permission_classes([AllowAny])
@parser_classes([JSONParser, FormParser, MultiPartParser])
def token(request):
    """A token for ``email`` (or DRF's usual ``username``) and ``password``."""
    email = request.data.get("email") or request.data.get("username")
    user = authenticate(request, username=email, password=request.data.get("password"))
    if user is None or not user.is_active:
        return error("invalid_credentials", "Unable to log in with the e-mail and password given.")
    issued, _ = Token.objects.get_or_create(user=user)
    return Response({"token": issued.key})
