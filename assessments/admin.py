from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime

from assessments.presentation.chart import timeline_svg
from assessments.presentation.measures import doctors_table
from audit.models import AuditAction
from audit.trail import AuditedChangeView
from mri.explain.overlay import DEFAULT_COLORMAP
from mri.io import FORMAT_NAMES

from .models import Assessment, HeadlineReason, Review, TrainingMatch
from .reviews import save_review
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
            reverse("assessments:colour_bar", args=[assessment.overlay_colormap or DEFAULT_COLORMAP]), size,
            "Colour bar: top most important, bottom least"))
    return format_html('<div class="admin-scan-pair">{}</div>', format_html_join("", "{}", ((one,) for one in images)))


def timeline_chart(patient):
    """The patient's timeline chart, as the patient sees it on their timeline page."""
    # Our own SVG: every text in it is escaped where it is drawn (assessments.presentation.chart).
    return mark_safe(timeline_svg(patient.assessments.all(), title=f"Results of {patient} over time")) or "-"


def faithfulness_text(assessment):
    """The score and what it means, for doctors: 1.0 is what a randomly placed region would do."""
    if assessment.faithfulness is None:
        return assessment.get_faithfulness_check_display() if assessment.faithfulness_check else "-"
    return f"{assessment.faithfulness:.2f}× random: {assessment.faithfulness_verdict()}"


def training_match_text(result):
    return result.get_ood_status_display()


def slice_table(assessment):
    """Every slice of a volume's band with a thumbnail, through the access-checked slice view: its result, or
    the check that left it out."""
    rows = [(
        one.position, " (shown)" if one.representative else "",
        reverse("assessments:slice_file", args=[assessment.pk, one.position, "scan"]),
        one.prediction if one.analysed else "-", percent(one.confidence) if one.analysed else "-",
        training_match_text(one) if one.analysed else "-",
        "yes" if one.counted else f"no: {one.reason} ({one.left_out})",
    ) for one in assessment.slices.all()]
    if not rows:
        return "-"
    row = ("<tr><td>{}{}</td><td><img src=\"{}\" width=\"64\" alt=\"slice\"></td><td>{}</td><td>{}</td><td>{}</td>"
           "<td>{}</td></tr>")
    return format_html("<table><tr><th>Slice</th><th>Scan</th><th>Prediction</th><th>Confidence</th>"
                       "<th>Training match</th><th>Counted</th></tr>{}</table>", format_html_join("", row, rows))


# The reason in a few words, for narrow columns; the assessment's own page gives it in full.
SHORT_REASONS = {HeadlineReason.CLOSE: "grades too close", HeadlineReason.DISAGREE: "grade and any impairment disagree"}


def headline_in_short(assessment):
    if assessment.says_cannot_tell:
        return f"{assessment.headline_words} ({SHORT_REASONS.get(assessment.headline_reason, '')})"
    return assessment.headline_words


class ResultColumns:
    """The columns an assessment shows both inline on its patient and on its own page."""

    @admin.display(description="Confidence", ordering="confidence")
    def confidence_percent(self, obj):
        return percent(obj.confidence)

    @admin.display(description="Any impairment")
    def any_impairment_percent(self, obj):
        return percent(obj.any_impairment)

    @admin.display(description="Training match", ordering="ood_status")
    def training_match(self, obj):
        return training_match_text(obj)

    @admin.display(description="Heatmap faithfulness", ordering="faithfulness")
    def explanation_faithfulness(self, obj):
        return faithfulness_text(obj)

    @admin.display(description="Model", ordering="model_trained")
    def model_state(self, obj):
        # Said in words: a red cross with the alt text "False" told a doctor nothing.
        return "Trained" if obj.model_trained else "UNTRAINED: random answers, ignore this result"

    @admin.display(description="Headline", ordering="headline_kind")
    def headline_text(self, obj):
        # The same headline as the patient's page: a grade only when the reading supports one.
        if obj.says_cannot_tell:
            return f"{obj.headline_words}: {obj.headline.text}"
        return obj.headline_words

    @admin.display(description="Headline", ordering="headline_kind")
    def headline_short(self, obj):
        return headline_in_short(obj)

    @admin.display(description="Atrophy measures")
    def atrophy_measures(self, obj):
        return doctors_table(obj)

    @admin.display(description="Probabilities")
    def probabilities_percent(self, obj):
        rows = ((name, percent(value)) for name, value in obj.ordered_probabilities())
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", rows))


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


def review_list(assessment):
    """Every review of an assessment, for the record (each doctor edits their own in the form below)."""
    rows = [(review.reviewer_name, f"{localtime(review.created_at):%Y-%m-%d %H:%M}",
             "agrees" if review.agrees else "disagrees", review.grade,
             format_html(" Note: {}", review.note) if review.note else "",
             " (note shown to the patient)" if review.share_note else "")
            for review in assessment.reviews.select_related("author")]
    if not rows:
        return "Not reviewed yet"
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{} on {}: {}; grade {}.{}{}</li>", rows))


class ReviewInline(admin.StackedInline):
    """The doctor's own review of the assessment, and only theirs: other doctors' are read-only above."""

    model = Review
    fields = ["agrees", "grade", "note", "share_note"]
    extra = 1
    max_num = 1
    can_delete = False
    verbose_name = "your review"
    verbose_name_plural = "your review"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(author=request.user)

    def has_view_permission(self, request, obj=None):
        return True

    def has_add_permission(self, request, obj=None):
        return request.user.is_doctor

    def has_change_permission(self, request, obj=None):
        return request.user.is_doctor

    def has_delete_permission(self, request, obj=None):
        return False


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
class AssessmentAdmin(AuditedChangeView, ResultColumns, admin.ModelAdmin):
    audit_action = AuditAction.ADMIN_ASSESSMENT
    # The images second: the columns after them scroll inside the list's box on narrower screens.
    list_display = ["created_at", "thumbnails", "patient", "is_reviewed", "headline_short", "confidence_percent",
                    "any_impairment_percent", "training_match", "model_state", "explanation_faithfulness"]
    list_filter = [ReviewedFilter, "headline_kind", "prediction", TrainingMatchFilter, FileFormatFilter, "created_at"]
    list_per_page = 25
    search_fields = ["patient__user__first_name", "patient__user__last_name", "patient__user__email"]
    date_hierarchy = "created_at"
    list_select_related = ["patient__user"]
    fields = ["patient", "created_at", "images", "headline_text", "prediction", "confidence_percent",
              "any_impairment_percent", "probabilities_percent", "atrophy_measures",
              "training_match", "source_format", "acquisition", "series_found", "slice_results",
              "explanation_faithfulness", "model_state", "model_sha256", "review_record"]
    readonly_fields = fields
    inlines = [ReviewInline]

    def audit_target(self, obj):
        return obj.patient_id, obj.pk

    @admin.display(description="Reviews")
    def review_record(self, obj):
        return review_list(obj)

    @admin.display(description="Reviewed", ordering="reviewed")
    def is_reviewed(self, obj):
        # Words, not the admin's red cross (its alt text was "False").
        return "Yes" if obj.reviewed else "Not yet"

    def get_ordering(self, request):
        # The doctor's work list: what nobody has reviewed yet comes first, newest first within each.
        return ["reviewed", "-created_at"]

    def has_change_permission(self, request, obj=None):
        # Every field of an assessment is read-only: "change" only lets a doctor save their review below.
        return request.user.is_doctor or super().has_change_permission(request, obj)

    def save_formset(self, request, form, formset, change):
        for review in formset.save(commit=False):
            save_review(review, request.user)

    @admin.display(description="Slices of the volume")
    def slice_results(self, obj):
        return slice_table(obj)

    @admin.display(description="Series in the upload")
    def series_found(self, obj):
        """A DICOM series upload's series: the one analysed, and each skipped with the reason."""
        rows = [(one.summary, "analysed" if one.analysed else f"skipped, {one.get_skipped_because_display()}")
                for one in obj.series.all()]
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", rows)) if rows else "-"

    def get_queryset(self, request):
        return Assessment.objects.visible_to(request.user).with_review_state().select_related("patient__user")

    def get_changelist(self, request, **kwargs):
        return DateSafeChangeList

    def has_add_permission(self, request):
        return False

    @admin.display(description="Original and overlay")
    def images(self, obj):
        return scan_pair(obj, size=256)

    @admin.display(description="Images")
    def thumbnails(self, obj):
        return scan_pair(obj, size=64)
