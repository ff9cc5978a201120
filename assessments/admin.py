from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from .models import Assessment


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


def faithfulness_text(assessment):
    """The score and what it means, for doctors: 1.0 is what a randomly placed region would do."""
    if assessment.faithfulness is None:
        return "-"
    return f"{assessment.faithfulness:.2f}× random: {assessment.faithfulness_verdict()}"


class AssessmentInline(admin.TabularInline):
    model = Assessment
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["created_at", "images", "prediction", "confidence_percent", "explanation_faithfulness",
              "model_trained"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Original and overlay")
    def images(self, obj):
        return scan_pair(obj)

    @admin.display(description="Confidence")
    def confidence_percent(self, obj):
        return f"{obj.confidence:.1%}"

    @admin.display(description="Heatmap faithfulness")
    def explanation_faithfulness(self, obj):
        return faithfulness_text(obj)


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    list_display = ["created_at", "patient", "prediction", "confidence_percent", "explanation_faithfulness",
                    "thumbnails"]
    list_filter = ["prediction", "created_at"]
    search_fields = ["patient__user__first_name", "patient__user__last_name", "patient__user__email"]
    date_hierarchy = "created_at"
    list_select_related = ["patient__user"]
    fields = ["patient", "created_at", "images", "prediction", "confidence_percent", "probabilities",
              "explanation_faithfulness", "model_trained", "model_sha256"]
    readonly_fields = fields

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

    @admin.display(description="Confidence", ordering="confidence")
    def confidence_percent(self, obj):
        return f"{obj.confidence:.1%}"

    @admin.display(description="Heatmap faithfulness", ordering="faithfulness")
    def explanation_faithfulness(self, obj):
        return faithfulness_text(obj)
