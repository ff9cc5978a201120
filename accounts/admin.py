from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from assessments.admin import latest_assessments, timeline_chart
from audit.models import AuditAction
from audit.trail import AuditedChangeView

from . import invitations
from .models import Patient, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_superuser"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["first_name", "last_name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


@admin.register(Patient)
class PatientAdmin(AuditedChangeView, admin.ModelAdmin):
    audit_action = AuditAction.ADMIN_PATIENT
    list_display = ["name", "email", "date_of_birth", "sex", "assessment_count", "latest_prediction"]
    list_filter = ["assessments__prediction", "assessments__created_at", "sex"]
    search_fields = ["user__first_name", "user__last_name", "user__email"]
    fields = ["name", "email", "date_of_birth", "sex", "doctors", "latest", "timeline"]
    filter_horizontal = ["doctors"]
    list_per_page = 25

    def get_queryset(self, request):
        return Patient.objects.visible_to(request.user).select_related("user").prefetch_related("assessments")

    def get_readonly_fields(self, request, obj=None):
        # Superusers assign doctors; nobody edits a patient's identity here.
        if request.user.is_superuser:
            return ["name", "email", "latest", "timeline"]
        return ["name", "email", "date_of_birth", "sex", "doctors", "latest", "timeline"]

    @admin.display(description="Latest assessments")
    def latest(self, obj):
        # Whoever may open a patient's page may open each of their assessments (``visible_to`` on both).
        return latest_assessments(obj) if obj.pk else "-"

    def has_add_permission(self, request):
        return False

    def save_related(self, request, form, formsets, change):
        # Who may see the results changes here as through the patient's sharing page: audited as such.
        patient = form.instance
        before = set(patient.doctors.all())
        super().save_related(request, form, formsets, change)
        invitations.record_assignment(request, patient, before, set(patient.doctors.all()))

    def audit_target(self, obj):
        return obj.pk, None

    @admin.display(description="Name", ordering="user__last_name")
    def name(self, obj):
        return obj.user.get_full_name()

    @admin.display(description="Results over time")
    def timeline(self, obj):
        return timeline_chart(obj)

    @admin.display(description="E-mail", ordering="user__email")
    def email(self, obj):
        return obj.user.email

    @admin.display(description="Assessments")
    def assessment_count(self, obj):
        return len(obj.assessments.all())

    @admin.display(description="Latest result")
    def latest_prediction(self, obj):
        latest = next(iter(obj.assessments.all()), None)
        return f"{latest.prediction} ({latest.confidence:.0%})" if latest else "-"
