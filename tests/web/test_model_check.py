import shutil

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import SimpleTestCase, override_settings

from tests.base import temporary_folder


class ModelCheckTests(SimpleTestCase):
    """The app refuses to start with a missing or corrupt model instead of failing at the first upload."""

    def setUp(self):
        self.folder = temporary_folder(self)

    def test_a_missing_model_stops_the_start(self):
        with override_settings(ALZAWARE_MODEL_PATH=self.folder / "nope.pt"):
            with self.assertRaisesMessage(SystemCheckError, "is missing"):
                call_command("check")

    def test_a_corrupt_model_stops_the_start(self):
        model = self.folder / "model.pt"
        shutil.copy(settings.ALZAWARE_MODEL_PATH, model)
        shutil.copy(f"{settings.ALZAWARE_MODEL_PATH}.sha256", f"{model}.sha256")
        with open(model, "r+b") as fh:
            fh.seek(1000)
            fh.write(b"\x00\x01\x02\x03")
        with override_settings(ALZAWARE_MODEL_PATH=model):
            with self.assertRaisesMessage(SystemCheckError, "is corrupt"):
                call_command("check")

    def test_the_configured_model_passes(self):
        call_command("check")
