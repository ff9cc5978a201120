from django.contrib import admin

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The whole read log, for superusers only, and read-only: it is append-only everywhere."""

    list_display = ["at", "actor", "patient_id", "assessment_id", "action", "address"]
    list_filter = ["action", "at", ("actor", admin.RelatedOnlyFieldListFilter)]
    # A patient's id or a viewer's e-mail; ?assessment_id=N or ?address=A in the address narrow further.
    search_fields = ["=patient__id", "actor__email"]
    date_hierarchy = "at"
    list_select_related = ["actor"]
    fields = list_display
    readonly_fields = fields

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
