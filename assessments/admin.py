from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from .chart import timeline_svg

from .models import Assessment
from .templatetags.results import percent


def scan_pair(assessment, size=120):
    """Original and overlay side by side, through the access-checked file view."""
    if not assessment.pk:
        return "-"
    images = [format_html(
        '<figure style="display:inline-block;margin:0 8px 0 0;text-align:center">'
        '<img src="{}" width="{}" alt="{}"><figcaption>{}</figcaption></figure>',
        reverse("assessments:file", args=[assessment.pk, "scan"]), size, "Original MRI", "Original",
    )]
    if assessment.overlay:
        images.append(format_html(
            '<figure style="display:inline-block;margin:0;text-align:center">'
            '<img src="{}" width="{}" alt="{}"><figcaption>{}</figcaption></figure>',
            reverse("assessments:file", args=[assessment.pk, "overlay"]), size, "Heatmap overlay", "Overlay",
        ))
    return format_html("".join(["{}"] * len(images)), *images)


def timeline_chart(patient):
    """The patient's timeline chart, as the patient sees it on their timeline page."""
    # Our own SVG: every text in it is escaped where it is drawn (assessments.chart).
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
    rows = [format_html(
        "<tr><td>{}{}</td><td><img src=\"{}\" width=\"64\" alt=\"slice\"></td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>",
        one.position, " (shown)" if one.representative else "",
        reverse("assessments:slice_file", args=[assessment.pk, one.position, "scan"]),
        one.prediction if one.analysed else "-", percent(one.confidence) if one.analysed else "-",
        training_match_text(one) if one.analysed else "-",
        "yes" if one.counted else f"no: {one.reason} ({one.left_out})",
    ) for one in assessment.slices.all()]
    if not rows:
        return "-"
    return format_html("<table><tr><th>Slice</th><th>Scan</th><th>Prediction</th><th>Confidence</th>"
                       "<th>Training match</th><th>Counted</th></tr>{}</table>",
                       format_html("".join(["{}"] * len(rows)), *rows))


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


class AssessmentInline(ResultColumns, admin.TabularInline):
    model = Assessment
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["created_at", "images", "prediction", "confidence_percent", "any_impairment_percent",
              "training_match", "explanation_faithfulness", "model_trained"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Original and overlay")
    def images(self, obj):
        return scan_pair(obj)


@admin.register(Assessment)
class AssessmentAdmin(ResultColumns, admin.ModelAdmin):
    list_display = ["created_at", "patient", "prediction", "confidence_percent", "any_impairment_percent",
                    "training_match", "explanation_faithfulness", "thumbnails"]
    list_filter = ["prediction", "ood_status", "source_format", "created_at"]
    search_fields = ["patient__user__first_name", "patient__user__last_name", "patient__user__email"]
    date_hierarchy = "created_at"
    list_select_related = ["patient__user"]
    fields = ["patient", "created_at", "images", "prediction", "confidence_percent", "any_impairment_percent",
              "probabilities",
              "training_match", "source_format", "acquisition", "slice_results",
              "explanation_faithfulness", "model_trained", "model_sha256"]
    readonly_fields = fields

    @admin.display(description="Slices of the volume")
    def slice_results(self, obj):
        return slice_table(obj)

    def get_queryset(self, request):
        return Assessment.objects.visible_to(request.user).select_related("patient__user")

    def has_add_permission(self, request):
        return False

    @admin.display(description="Original and overlay")
    def images(self, obj):
        return scan_pair(obj, size=256)

    @admin.display(description="Images")
    def thumbnails(self, obj):
        return scan_pair(obj, size=64)
