"""Export the configured checkpoint to ONNX for ONNX Runtime (``make`` runs this when the .onnx is missing or older).

    python manage.py export_onnx [--model models/alzaware-resnet50.pt] [--force]
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from mri.inference import onnx_model
from mri.inference.checkpoint import load_checkpoint
from mri.inference.engine import explanation_for


class Command(BaseCommand):
    help = ("Write <checkpoint>.onnx (logits, every class's map by the default explanation method, features) "
            "with the checkpoint's SHA-256 and the method's name inside.")
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--model", help="checkpoint (default: ALZAWARE_MODEL_PATH)")
        parser.add_argument("--force", action="store_true", help="export even if the .onnx is current")

    def handle(self, *args, model, force, **options):
        path = Path(model or settings.ALZAWARE_MODEL_PATH)
        target = onnx_model.path_for(path)
        if not force and onnx_model.is_current(path):
            self.stdout.write(f"{target} is current (exported from this checkpoint, with these maps)")
            target.touch()  # so make sees it newer than the checkpoint and stops asking
            return
        network, checkpoint = load_checkpoint(path)
        onnx_model.export(network, path, int(checkpoint["input_size"]), explanation_for(checkpoint))
        self.stdout.write(f"Wrote {target} from {path.name}")
