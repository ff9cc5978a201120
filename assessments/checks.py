"""Refuse to start with a missing or corrupt model, rather than fail at the first upload."""

from django.conf import settings
from django.core import checks

from mri.inference.checkpoint import CheckpointError, verify


@checks.register()
def model_checkpoint_check(app_configs, **kwargs):
    try:
        verify(settings.ALZAWARE_MODEL_PATH)
    except CheckpointError as exc:
        return [checks.Error(str(exc), id="assessments.E001")]
    return []
