from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "assessments"

    def ready(self):
        from . import checks  # noqa: F401  registers the model checkpoint check
        from .notifications import connect_signals

        connect_signals()
