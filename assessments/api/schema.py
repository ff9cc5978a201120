"""The API's answers and their OpenAPI schema (drf-spectacular), and the one error shape of every answer.

The serializers here build every answer the views give, so the schema at /api/schema/ is made from the very
code that makes the JSON: tests.web.test_api_schema walks real answers and fails on any undocumented key.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import SuspiciousOperation, TooManyFilesSent
from django.http import Http404
from django.urls import reverse
from django.utils.functional import lazy
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.exceptions import APIException
from rest_framework.views import exception_handler as drf_exception_handler

from assessments import reviews, services
from assessments.interpretation import headline_answer, measures_json
from assessments.models import Review
from assessments.scan_dates import check_entered
from mri import CLASSES, measures
from mri import headline as headlines
from mri.explain.regions import GROUPINGS
from mri.inference.ood import OUTSIDE_TRAINING
from mri.io import registry


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="A stable code, e.g. 'unreadable', 'too_large', 'throttled'.")
    detail = serializers.CharField(help_text="What went wrong, in words a person understands.")


class TooManyFiles(exceptions.APIException):
    status_code = 400
    default_code = "too_many_files"


def exception_handler(exc, context):
    """DRF's own refusals (401, 403, 404, 405, 429) in the same ``{"error", "detail"}`` shape as the API's."""
    # Django's own 404 and 403 (the ownership check raises them) become DRF's first, so they get the shape too;
    # so does Django's refusal of a body with more files than DATA_UPLOAD_MAX_NUMBER_FILES (an HTML 400 before).
    if isinstance(exc, TooManyFilesSent):
        exc = TooManyFiles(f"At most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files can be sent in one request.")
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError(str(exc) or None)
    elif isinstance(exc, Http404):
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


def scan_help():
    """The formats from the reader registry, read each time the schema is made."""
    return (f"{registry.upload_help()} A DICOM series' files may be sent as one ZIP file, or as several 'file' "
            "fields in the same request. The content decides the format, never the name.")


class PredictRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=lazy(scan_help, str)())
    scan_date = serializers.DateField(
        required=False, allow_null=True, validators=[check_entered],
        help_text="Optional: the day the scan was taken (YYYY-MM-DD), as the upload page asks \"when was this scan "
                  "taken?\". Not in the future, not before 1900 (else 400, invalid_scan_date). A DICOM file's own "
                  "date wins over it; without either, the upload day stands in (scan_date_source says which).")


def entered_scan_date(data):
    """The request's ``scan_date`` as a date, or None when not given; raises serializers.ValidationError."""
    return PredictRequestSerializer().fields["scan_date"].run_validation(data.get("scan_date") or None)


def rounded(value):
    return round(float(value), 6)


def absolute(request, name, *args):
    return request.build_absolute_uri(reverse(name, args=args))


def probabilities_field(**options):
    return serializers.DictField(child=serializers.CharField(), help_text="Each class as e.g. '81.29%'.", **options)


class Answer(serializers.Serializer):
    """A read-only answer built by its own fields (the one source of the API's JSON and of its schema): each
    ``get_<key>`` method gives a key's value, and the keys in ``omitted_when_none`` are left out when None."""

    omitted_when_none: tuple[str, ...] = ()

    def to_representation(self, instance):
        answer = super().to_representation(instance)
        return {key: value for key, value in answer.items() if not (value is None and key in self.omitted_when_none)}


class SliceSerializer(Answer):
    """One slice of a volume's band, in the same shape as a result plus its axial position.

    Every slice of the band is listed. ``counted`` says whether the volume's result includes it and ``reason`` why
    not (a code of ``AssessmentSlice.LeftOut``, else None): a slice a check refused was never analysed, so its
    result keys are None; one the detector refused was analysed but is not counted.
    """

    position = serializers.IntegerField()
    prediction = serializers.SerializerMethodField()
    confidence = serializers.SerializerMethodField()
    class_probabilities = serializers.SerializerMethodField()
    any_impairment = serializers.SerializerMethodField()
    heatmap_url = serializers.SerializerMethodField()
    representative = serializers.BooleanField()
    outside_training = serializers.BooleanField()
    counted = serializers.BooleanField()
    reason = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_prediction(self, one):
        return one.prediction if one.analysed else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_confidence(self, one):
        return rounded(one.confidence) if one.analysed else None

    @extend_schema_field(probabilities_field(allow_null=True))
    def get_class_probabilities(self, one):
        return one.probabilities_as_percentages() if one.analysed else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_any_impairment(self, one):
        return rounded(one.any_impairment) if one.analysed else None

    @extend_schema_field(serializers.URLField(allow_null=True, help_text=(
        "null for a slice never analysed, and while the task worker is still drawing the volume's slice images "
        "(the volume's volume_pending is then true).")))
    def get_heatmap_url(self, one):
        if not one.overlay:
            return None
        return absolute(self.context["request"], "assessments:slice_file", one.assessment_id, one.position, "overlay")

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="A code of AssessmentSlice.LeftOut."))
    def get_reason(self, one):
        return one.left_out or None


class RegionsSerializer(serializers.Serializer):
    """One class's share of the map in each region of each grouping (each grouping's shares sum to 1)."""

    def get_fields(self):
        # "class" is no Python name, and the groupings are regions.GROUPINGS': declared from them, not by hand.
        fields = {"class": serializers.CharField(help_text="The class whose map is scored.")}
        for grouping, names in GROUPINGS.items():
            fields[grouping] = inline_serializer(f"{grouping.capitalize()}Shares", {
                region: serializers.FloatField(help_text=label) for region, label in names.items()})
        return fields


class SeriesSerializer(Answer):
    """A series of a DICOM series upload: what kind it is and, when skipped, why (a code of ScanSeries.Skipped)."""

    omitted_when_none = ("missing_slices", "reason")

    description = serializers.CharField()
    weighting = serializers.SerializerMethodField()
    plane = serializers.SerializerMethodField()
    slices = serializers.IntegerField(source="slice_count")
    missing_slices = serializers.SerializerMethodField()
    reason = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="T1, T2, FLAIR, PD or DWI."))
    def get_weighting(self, one):
        return one.weighting or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_plane(self, one):
        return one.plane or None

    @extend_schema_field(serializers.IntegerField(required=False, help_text="Only for the analysed series."))
    def get_missing_slices(self, one):
        return one.missing_slices if one.analysed else None

    @extend_schema_field(serializers.CharField(required=False, help_text="Only for a skipped series."))
    def get_reason(self, one):
        return None if one.analysed else one.skipped_because


class SeriesUploadSerializer(serializers.Serializer):
    analysed = SeriesSerializer(allow_null=True, source="analysed_series")
    skipped = SeriesSerializer(many=True, source="skipped_series")


class ReviewSerializer(serializers.Serializer):
    """What a patient is told of a doctor's review (reviews.patient_json: the same on the page and in the export)."""

    reviewer = serializers.CharField()
    reviewed_at = serializers.DateTimeField()
    verdict = serializers.ChoiceField(choices=Review.Verdict.choices)
    grade = serializers.ChoiceField(choices=Review.Grade.choices)
    cannot_tell_reason = serializers.CharField(allow_null=True)
    note = serializers.CharField(allow_null=True)

    def to_representation(self, review):
        return reviews.patient_json(review)


class HeadlineTrackRecordSerializer(serializers.Serializer):
    people = serializers.IntegerField(help_text="People tested, each read by a model that never saw them.")
    given = serializers.IntegerField(help_text="Of them, how many got this headline.")
    right = serializers.IntegerField(allow_null=True, help_text="Of those, how many truly had that grade; null "
                                     "for 'cannot tell', which names none.")
    text = serializers.CharField(help_text="The same in words, as the result page gives it.")


class HeadlineSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=headlines.KINDS, help_text="'grade', or 'cannot_tell' when the grades "
                                   "are close or the grade and any_impairment point different ways.")
    grade = serializers.ChoiceField(choices=CLASSES, allow_null=True, help_text="The grade headlined; null when "
                                    "the program cannot tell.")
    reason = serializers.ChoiceField(choices=headlines.REASONS)
    text = serializers.CharField(help_text="The reason in words, as the result page gives it.")
    track_record = HeadlineTrackRecordSerializer(allow_null=True, help_text=(
        "How often this headline was right on people the model never saw (nested cross-validation over people); "
        "null when the model that made the result is not the one served now, or carries no such figures."))


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


class ResultSerializer(Answer):
    """An assessment's result; ``?regions_class=<class name>`` scores another class's map than the predicted one."""

    omitted_when_none = ("warning", "slices", "volume_pending", "heatmap_volume_url", "series")

    prediction = serializers.CharField()
    confidence = serializers.SerializerMethodField()
    class_probabilities = serializers.SerializerMethodField()
    any_impairment = serializers.SerializerMethodField()
    heatmap_url = serializers.SerializerMethodField()
    regions = serializers.SerializerMethodField()
    headline = serializers.SerializerMethodField()
    measures = serializers.SerializerMethodField()
    warning = serializers.SerializerMethodField()
    slices = serializers.SerializerMethodField()
    volume_pending = serializers.SerializerMethodField()
    heatmap_volume_url = serializers.SerializerMethodField()
    series = serializers.SerializerMethodField()

    @extend_schema_field(serializers.FloatField(min_value=0, max_value=1))
    def get_confidence(self, assessment):
        return rounded(assessment.confidence)

    @extend_schema_field(probabilities_field())
    def get_class_probabilities(self, assessment):
        return assessment.probabilities_as_percentages()

    @extend_schema_field(serializers.FloatField(min_value=0, max_value=1, help_text="P(any grade above No "
                                                "Impairment): the network's, or combined with the measures where "
                                                "the model carries that estimate."))
    def get_any_impairment(self, assessment):
        return rounded(assessment.any_impairment)

    @extend_schema_field(serializers.URLField(allow_null=True, help_text="Readable with the same token or session."))
    def get_heatmap_url(self, assessment):
        return absolute(self.context["request"], "assessments:file", assessment.pk, "overlay") if assessment.overlay else None

    @extend_schema_field(RegionsSerializer(allow_null=True))
    def get_regions(self, assessment):
        name = self.context["request"].GET.get("regions_class") or assessment.prediction
        scores = assessment.regions_of(name)
        if not scores:
            return None
        # In regions.GROUPINGS' order, whatever order the database kept the stored keys in.
        return {"class": name, **{grouping: {region: rounded(scores[grouping][region]) for region in names}
                                  for grouping, names in GROUPINGS.items()}}

    @extend_schema_field(HeadlineSerializer())
    def get_headline(self, assessment):
        return headline_answer(assessment.headline, services.headline_track_record(assessment))

    @extend_schema_field(MEASURES_FIELD)
    def get_measures(self, assessment):
        return measures_json(assessment.measures)

    @extend_schema_field(serializers.CharField(required=False, help_text="Only when the scan is unlike the "
                                                                          "training scans."))
    def get_warning(self, assessment):
        return OUTSIDE_TRAINING if assessment.outside_training else None

    @extend_schema_field(SliceSerializer(many=True, required=False, help_text="Only for a volume: every slice of "
                                                                               "its band."))
    def get_slices(self, assessment):
        if not assessment.is_volume:
            return None
        return SliceSerializer(assessment.slices.all(), many=True, context=self.context).data

    @extend_schema_field(serializers.BooleanField(required=False, help_text=(
        "Only for a volume: true while the task worker is still drawing its slice images and 3-D heatmap (a "
        "minute or two after the upload). Until then its slices' heatmap_url is null and heatmap_volume_url "
        "absent; ask again for them.")))
    def get_volume_pending(self, assessment):
        return assessment.volume_pending if assessment.is_volume else None

    @extend_schema_field(serializers.URLField(required=False, help_text="Only for a volume, once the task worker "
                                              "has drawn it: its heatmap as a NIfTI file, on the uploaded "
                                              "volume's own grid."))
    def get_heatmap_volume_url(self, assessment):
        if not assessment.heatmap_volume:
            return None
        return absolute(self.context["request"], "assessments:volume_file", assessment.pk, "heatmap")

    @extend_schema_field(SeriesUploadSerializer(required=False, help_text="Only for a DICOM series upload."))
    def get_series(self, assessment):
        if not (assessment.analysed_series or assessment.skipped_series):
            return None
        return SeriesUploadSerializer(assessment).data


class AssessmentResultSerializer(ResultSerializer):
    """A stored assessment: its id and time, its result, the doctors' reviews and the page to see it."""

    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    scan_date = serializers.DateField(allow_null=True, help_text="The day the scan was taken, as scan_date_source says.")
    scan_date_source = serializers.ChoiceField(choices=["dicom", "entered", "upload"], help_text=(
        "dicom: from the file's header; entered: typed at upload; upload: the upload day (the scan's is unknown)."))
    reviews = ReviewSerializer(many=True, source="shared_reviews")
    url = serializers.SerializerMethodField()

    def get_fields(self):
        # id and created_at first, then the result, reviews and url: the order the API has always answered in.
        fields = super().get_fields()
        first = {name: fields.pop(name) for name in ("id", "created_at", "scan_date", "scan_date_source")}
        return {**first, **fields}

    @extend_schema_field(serializers.URLField())
    def get_url(self, assessment):
        return self.context["request"].build_absolute_uri(assessment.get_absolute_url())


ERRORS = {code: ErrorSerializer for code in (400, 401, 403, 413, 429)}
