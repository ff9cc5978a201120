from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime

from assessments.presentation.chart import timeline_svg
from mri.explain.overlay import DEFAULT_COLOUR_MAP
from mri.io import FORMAT_NAMES

from .desk_views import review_assessment
from .models import Assessment, HeadlineReason, TrainingMatch
from .templatetags.results import percent


def scan_pair(assessment, size=120):
    """Original and overlay side by side (through the access-checked file view), the overlay's colour bar and
    the class its map is of: a heatmap without its scale and class cannot be read."""
    if not assessment.pk:
        return "-"
    figure = '<figure><img src="{}" width="{}" height="{}" alt="{}"><figcaption>{}</figcaption></figure>'
    images = [format_html(figure, reverse("assessments:file", args=[assessment.pk, "scan"]), size, size,
                          "Original MRI", "Original")]
    if assessment.overlay:
        images.append(format_html(figure, reverse("assessments:file", args=[assessment.pk, "overlay"]), size, size,
                                  f"Heatmap of {assessment.prediction}", f"Heatmap: {assessment.prediction}"))
        images.append(format_html(
            '<figure class="admin-colour-bar"><img src="{}" width="12" height="{}" alt="{}">'
            "<figcaption><span>most</span><span>least</span></figcaption></figure>",
            reverse("assessments:colour_bar", args=[assessment.overlay_colour_map or DEFAULT_COLOUR_MAP]), size,
            "Colour bar: top most important, bottom least"))
    return format_html('<div class="admin-scan-pair">{}</div>', format_html_join("", "{}", ((one,) for one in images)))


def timeline_chart(patient):
    """The patient's timeline chart, as the patient sees it on their timeline page."""
    # Our own SVG: every text in it is escaped where it is drawn (assessments.presentation.chart).
    return mark_safe(timeline_svg(patient.assessments.all(), title=f"Results of {patient} over time")) or "-"


def training_match_text(result):
    return result.get_ood_status_display()


# The reason in a few words, for narrow columns; the assessment's own page gives it in full.
SHORT_REASONS = {HeadlineReason.CLOSE: "grades too close", HeadlineReason.DISAGREE: "grade and any impairment disagree"}


def headline_in_short(assessment):
    if assessment.says_cannot_tell:
        return f"{assessment.headline_words} ({SHORT_REASONS.get(assessment.headline_reason, '')})"
    return assessment.headline_words


class ResultColumns:
    """The columns an assessment shows both on its patient's page and in the list of assessments."""

    @admin.display(description="Training match", ordering="ood_status")
    def training_match(self, obj):
        return training_match_text(obj)

    @admin.display(description="Model", ordering="model_trained")
    def model_state(self, obj):
        # Said in words: a red cross with the alt text "False" told a doctor nothing.
        return "Trained" if obj.model_trained else "UNTRAINED: random answers, ignore this result"

    @admin.display(description="Headline", ordering="headline_kind")
    def headline_short(self, obj):
        return headline_in_short(obj)


# A patient page shows this many of their latest assessments, and links to the full list: every assessment
# inline made the page grow without end.
LATEST_ON_PATIENT_PAGE = 5


def latest_assessments(patient):
    """The patient's latest assessments as a table, and a link to all of them."""
    mine = Assessment.objects.filter(patient=patient).order_by("-created_at")
    rows = [(
        reverse("admin:assessments_assessment_change", args=[one.pk]), f"{localtime(one.created_at):%d %b %Y %H:%M}",
        scan_pair(one, size=96), headline_in_short(one), percent(one.confidence),
        training_match_text(one),
        ResultColumns.model_state(None, one),
    ) for one in mine[:LATEST_ON_PATIENT_PAGE]]
    if not rows:
        return "No assessments yet"
    total = mine.count()
    every = reverse("admin:assessments_assessment_changelist") + f"?patient__id__exact={patient.pk}"
    return format_html(
        '<table class="latest-assessments"><thead><tr><th scope="col">Date</th><th scope="col">Images</th>'
        '<th scope="col">Result</th><th scope="col">Confidence</th><th scope="col">Training match</th>'
        '<th scope="col">Model</th></tr></thead><tbody>{}</tbody></table><p><a href="{}">All {} assessment{} of '
        "this patient</a></p>",
        format_html_join("", '<tr><td><a href="{}">{}</a></td>' + "<td>{}</td>" * 5 + "</tr>", rows), every, total,
        "" if total == 1 else "s")


class NamedChoicesFilter(admin.SimpleListFilter):
    """A field's values by name, the blank one included: Django's own filter showed a blank value as a link
    with no text (axe: link-name)."""

    named: list[tuple[str, str]] = []  # [(stored value, words)]; "" is the blank value

    def lookups(self, request, model_admin):
        return [(value or "none", label) for value, label in self.named]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(**{self.parameter_name: "" if self.value() == "none" else self.value()})


class TrainingMatchFilter(NamedChoicesFilter):
    title = "match with the training scans"
    parameter_name = "ood_status"
    named = TrainingMatch.choices


class FileFormatFilter(NamedChoicesFilter):
    title = "file format"
    parameter_name = "source_format"
    named = [*FORMAT_NAMES.items(), ("", "not recorded (older results)")]


class ReviewedFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "reviewed"

    def lookups(self, request, model_admin):
        return [("no", "Not reviewed yet"), ("yes", "Reviewed")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(reviewed=self.value() == "yes")
        return queryset


class DateSafeChangeList(ChangeList):
    """Django turns a bad date in the date hierarchy (?created_at__year=abc) into its "?e=1" page, but a year
    too large for a C integer raises OverflowError instead: the same answer for both, never a 500."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except OverflowError as problem:
            raise IncorrectLookupParameters(problem) from problem


@admin.register(Assessment)
class AssessmentAdmin(ResultColumns, admin.ModelAdmin):
    """Every assessment a user may open; one assessment's page is the doctor's review (assessments.desk_views).
    Six columns, so that the list fits 1280 px: the rest is on each assessment's page."""

    list_display = ["created_at", "thumbnails", "patient", "is_reviewed", "headline_short", "training_match"]
    list_filter = [ReviewedFilter, "headline_kind", "prediction", TrainingMatchFilter, FileFormatFilter, "created_at"]
    list_per_page = 25
    search_fields = ["patient__user__first_name", "patient__user__last_name", "patient__user__email"]
    date_hierarchy = "created_at"
    list_select_related = ["patient__user"]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The doctor's review page, which records the read in the audit as this page did.
        return review_assessment(request, object_id)

    @admin.display(description="Reviewed", ordering="reviewed")
    def is_reviewed(self, obj):
        # Words, not the admin's red cross (its alt text was "False").
        return "Yes" if obj.reviewed else "Not yet"

    def get_ordering(self, request):
        # The doctor's work list: what nobody has reviewed yet comes first, newest first within each.
        return ["reviewed", "-created_at"]

    def get_queryset(self, request):
        return Assessment.objects.visible_to(request.user).with_review_state().select_related("patient__user")

    def get_changelist(self, request, **kwargs):
        return DateSafeChangeList

    def has_add_permission(self, request):
        return False

    @admin.display(description="Images")
    def thumbnails(self, obj):
        return scan_pair(obj, size=64)
