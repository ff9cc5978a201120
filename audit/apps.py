from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Who read whose data: the append-only read log (``trail.record``) and its superuser-only admin page."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "audit"
