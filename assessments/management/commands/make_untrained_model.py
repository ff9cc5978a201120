from django.core.management.base import BaseCommand
import torch

from assessments.ml.checkpoint import build_model, save_checkpoint
from assessments.ml.preprocess import DEFAULT_PREPROCESSING


class Command(BaseCommand):
    help = ("Write a randomly initialised ResNet50 checkpoint (metadata trained=False): a test fixture, and a way "
            "to try the app without the trained model. Every result it gives says the model is untrained.")
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="where to write it (tests make one in a temporary folder)")
        parser.add_argument("--input-size", type=int, default=224)

    def handle(self, *args, out, input_size, **options):
        torch.manual_seed(0)
        model = build_model()
        # A random head is wildly over-confident; shrinking it keeps the stand-in's
        # probabilities near a uniform 25% while its Grad-CAM maps stay non-zero.
        with torch.no_grad():
            model.fc.weight.mul_(1e-3)
            model.fc.bias.zero_()
        path = save_checkpoint(
            model, out, input_size=input_size, preprocessing=DEFAULT_PREPROCESSING,
            metadata={"trained": False, "description": "randomly initialised stand-in, not trained"},
        )
        self.stdout.write(f"Wrote untrained stand-in model {path}")
