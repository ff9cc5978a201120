import uuid
from pathlib import PurePosixPath

from django.db import models
from django.urls import reverse

from accounts.models import Patient

from .ml import CLASSES


def random_name(folder, suffix):
    # Never the client's file name: it can carry a patient's name or a path.
    return str(PurePosixPath(folder) / f"{uuid.uuid4().hex}{suffix}")


class AssessmentQuerySet(models.QuerySet):
    def for_user(self, user):
        """A patient's own assessments."""
        return self.filter(patient__user=user)

    def visible_to(self, user):
        """What a user may open: their own, their patients' if a doctor, everything if superuser."""
        return self.filter(patient__in=Patient.objects.visible_to(user))


class Assessment(models.Model):
    Prediction = models.TextChoices("Prediction", [(name, name) for name in CLASSES])

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="assessments")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    scan = models.FileField(upload_to="scans/", max_length=200)
    overlay = models.FileField(upload_to="heatmaps/", max_length=200, blank=True)
    prediction = models.CharField(max_length=40, choices=Prediction.choices)
    confidence = models.FloatField()
    probabilities = models.JSONField(help_text="Calibrated probability of each class, 0..1.")
    model_trained = models.BooleanField(default=True)
    model_sha256 = models.CharField(max_length=64, blank=True)
    # The raw (un-normalised) Grad-CAM maps of every class and their maxima, so
    # the result page can show any class in any colour map without re-running the model.
    maps = models.FileField(upload_to="heatmaps/", max_length=200, blank=True)
    overlay_colormap = models.CharField(max_length=20, blank=True, default="jet",
                                        help_text="Colour map the stored overlay was drawn with.")
    faithfulness = models.FloatField(
        null=True, blank=True,
        help_text="Drop in the predicted class's probability when the hottest 20% of its map is blurred, "
                  "divided by the mean drop for random regions of the same area (1 = no better than random).",
    )

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.patient} · {self.created_at:%Y-%m-%d %H:%M} · {self.prediction}"

    def get_absolute_url(self):
        return reverse("assessments:detail", args=[self.pk])

    def ordered_probabilities(self):
        """``[(class name, probability)]`` in the model's class order."""
        return [(name, float(self.probabilities.get(name, 0.0))) for name in CLASSES]

    FAITHFULNESS_WORDS = {
        "strongly": "strongly",
        "weakly": "weakly",
        "not": "not more than a random region",
    }

    def faithfulness_verdict(self):
        """How much the highlighted region matters, in words: strongly / weakly / not more than a random region."""
        # Imported here: the thresholds live with the score, and that module needs torch.
        from .ml.faithfulness import verdict

        return self.FAITHFULNESS_WORDS.get(verdict(self.faithfulness))

    def probabilities_as_percentages(self):
        return {name: f"{p * 100:.2f}%" for name, p in self.ordered_probabilities()}
