import uuid
from pathlib import PurePosixPath

from django.db import models
from django.urls import reverse

from accounts.models import Patient
from mri import CLASSES, any_impairment, percentages
from mri import headline as headlines
from mri.headline import Headline
from mri.inference import ood
from mri.io import FORMAT_NAMES, VOLUME_FORMATS, is_volume_format, series
from mri.io.quality import CHECKS

from .review_model import CANNOT_TELL, DoctorGrade, Review  # noqa: F401 (the app's models live here)


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

    def by_scan_date(self):
        """Newest scan first, by the day it was taken (assessments.scan_dates), then by upload."""
        return self.order_by("-scan_date", "-created_at", "-pk")

    def with_review_state(self):
        """Each with ``reviewed``: whether any doctor has reviewed it yet."""
        return self.annotate(reviewed=models.Exists(Review.objects.filter(assessment=models.OuterRef("pk"))))


class TrainingMatch(models.TextChoices):
    """``ood_status``: the out-of-distribution detector's verdict (its values are mri.inference.ood's)."""

    IN = ood.IN, "like the training slices"
    UNSURE = ood.UNSURE, "OUTSIDE what the model was trained on"
    # A volume's slices only: analysed and listed, but left out of the volume's result.
    OUT = ood.OUT, "OUTSIDE what the model was trained on, not counted"
    NOT_CHECKED = "", "not checked (model without a detector)"


class FaithfulnessCheck(models.TextChoices):
    """Where the heatmap's faithfulness score stands: worked out after the response (assessments.tasks)."""

    PENDING = "pending", "being worked out"
    DONE = "done", "done"
    FAILED = "failed", "could not be worked out"
    NOT_MADE = "", "not made (no heatmap)"


class ScanDateSource(models.TextChoices):
    """Where an assessment's ``scan_date`` came from: the scan's own header, the patient, or the upload."""

    DICOM = "dicom", "from the scan's DICOM header"
    ENTERED = "entered", "as you entered it"
    UPLOAD = "upload", "the upload date: the scan's own date is not known"


class StoredResult:
    """Reading a stored result, shared by an assessment and each slice of a volume."""

    @property
    def outside_training(self):
        return self.ood_status in (TrainingMatch.UNSURE, TrainingMatch.OUT)

    def ordered_probabilities(self):
        """``[(class name, probability)]`` in the model's class order."""
        return [(name, float(self.probabilities.get(name, 0.0))) for name in CLASSES]

    def probabilities_as_percentages(self):
        return percentages(self.probabilities)


# The headline when the reading does not support one grade (mri.headline): page, PDF, admin and history.
CANNOT_TELL_WORDS = "The program cannot tell"
HeadlineKind = models.TextChoices("HeadlineKind", [("GRADE", (headlines.GRADE, "A grade")),
                                                   ("CANNOT_TELL", (headlines.CANNOT_TELL, CANNOT_TELL_WORDS))])
HeadlineReason = models.TextChoices("HeadlineReason", [(reason.upper(), (reason, reason))
                                                       for reason in headlines.REASONS])


class Assessment(StoredResult, models.Model):
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
    # The raw (un-normalised) Grad-CAM maps of every class, so
    # the result page can show any class in any colour map without re-running the model.
    maps = models.FileField(upload_to="heatmaps/", max_length=200, blank=True)
    overlay_colour_map = models.CharField(max_length=20, blank=True, default="jet",
                                        help_text="Colour map the stored overlay was drawn with.")
    faithfulness = models.FloatField(
        null=True, blank=True,
        help_text="Drop in the predicted class's probability when the hottest 20% of its map is blurred, "
                  "divided by the mean drop for random regions of the same area (1 = no better than random).",
    )
    faithfulness_check = models.CharField(max_length=10, blank=True, choices=FaithfulnessCheck.choices,
                                          default=FaithfulnessCheck.NOT_MADE)
    # What was uploaded: format and the few non-identifying acquisition fields
    # (never a DICOM header's personal fields), and for a NIfTI volume the
    # slices that were analysed (AssessmentSlice); the result above is then the volume's.
    source_format = models.CharField(max_length=20, blank=True)
    acquisition = models.JSONField(default=dict, blank=True)
    ood_status = models.CharField(max_length=10, blank=True, choices=TrainingMatch.choices)
    ood_distance = models.FloatField(null=True, blank=True)
    # A NIfTI volume's scan (8-bit, fresh header) and its predicted class's heatmap through the whole band,
    # both on the uploaded file's voxel grid (assessments.volumes); blank for a single slice.
    scan_volume = models.FileField(upload_to="scans/", max_length=200, blank=True)
    heatmap_volume = models.FileField(upload_to="heatmaps/", max_length=200, blank=True)
    # When the scan was taken (assessments.scan_dates): what the timeline orders and plots by.
    scan_date = models.DateField(null=True, blank=True)
    scan_date_source = models.CharField(max_length=10, choices=ScanDateSource.choices, default=ScanDateSource.UPLOAD)
    # A volume's band and its analysed slices' maps (numbers only: no header), kept until the task worker has
    # drawn the slices' images and the 3-D heatmap (assessments.tasks.draw_volume_heatmap); blank once done.
    pending_band = models.FileField(upload_to="pending/", max_length=200, blank=True)
    region_shares = models.JSONField(
        default=dict, blank=True,
        help_text="Share (0..1) of each class's Grad-CAM mass in each region of the slice, by grouping "
                  "(tissue, side, half): {class: {grouping: {region: share}}}; see mri.explain.regions.",
    )
    # The reading beside the grade (assessments.interpretation), worked out once at upload.
    any_impairment = models.FloatField(
        null=True, blank=True,
        help_text="P(any grade above No Impairment), 0..1: the network's, or stacked with the atrophy measures "
                  "where the checkpoint has that model (mri.combined).",
    )
    measures = models.JSONField(
        default=dict, blank=True,
        help_text="Atrophy measures of the counted slices with the training people's ranges: "
                  "{key: {value, reference: {group: {q1, median, q3, ...}}}}; see mri.measures.",
    )
    headline_kind = models.CharField(max_length=20, blank=True, choices=HeadlineKind.choices)
    headline_grade = models.CharField(max_length=40, blank=True, choices=Prediction.choices)
    headline_reason = models.CharField(max_length=20, blank=True, choices=HeadlineReason.choices)

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.patient} · {self.created_at:%Y-%m-%d %H:%M} · {self.prediction}"

    def get_absolute_url(self):
        return reverse("assessments:detail", args=[self.pk])

    def save(self, *args, **kwargs):
        # A row made without the upload's interpretation (older code paths, tests) still gets an honest
        # headline, from the network's own any-impairment and the default rule.
        if self.any_impairment is None:
            self.any_impairment = any_impairment(self.probabilities)
        if not self.headline_kind:
            self.headline = headlines.headline(dict(self.ordered_probabilities()), self.any_impairment)
        super().save(*args, **kwargs)

    @property
    def headline(self):
        return Headline(self.headline_kind, self.headline_grade or None, self.headline_reason)

    @headline.setter
    def headline(self, value):
        self.headline_kind, self.headline_grade, self.headline_reason = value.kind, value.grade or "", value.reason

    @property
    def says_cannot_tell(self):
        return self.headline_kind == HeadlineKind.CANNOT_TELL

    @property
    def headline_words(self):
        """The headline as every place shows it: the grade, or that the program cannot tell."""
        return CANNOT_TELL_WORDS if self.says_cannot_tell else self.headline_grade

    def age_at_scan(self):
        return self.patient.age_on(self.created_at.date())

    @property
    def is_volume(self):
        return is_volume_format(self.source_format)

    def previous_of_same_kind(self):
        """The patient's latest earlier assessment of the same kind (a volume beside a volume, a slice beside a
        slice), or None: what a doctor compares this one with."""
        kind = models.Q(source_format__in=VOLUME_FORMATS)
        earlier = Assessment.objects.filter(patient_id=self.patient_id, created_at__lt=self.created_at)
        earlier = earlier.filter(kind) if self.is_volume else earlier.exclude(kind)
        return earlier.order_by("-created_at", "-pk").first()

    def shared_reviews(self):
        """The reviews the patient is told of: the shared ones (one kept among doctors is not told)."""
        return [one for one in self.reviews.all() if one.is_shared]

    def shared_review(self):
        """The latest review a doctor shared with the patient, or None (no doctor has looked yet, for them)."""
        return max(self.shared_reviews(), key=lambda one: one.updated_at, default=None)

    @property
    def scan_day(self):
        """The date the scan was taken, or the upload's day where that is unknown (``scan_date_source`` says)."""
        return self.scan_date or self.created_at.date()

    @property
    def scan_date_known(self):
        return self.scan_date is not None and self.scan_date_source != ScanDateSource.UPLOAD

    @property
    def volume_pending(self):
        """The slice images and the 3-D heatmap are still being drawn by the task worker."""
        return bool(self.pending_band)

    @property
    def slice_images_pending(self):
        """Some of a volume's slices still wait for their images from the task worker."""
        return self.volume_pending and any(not one.scan for one in self.slices.all())

    @property
    def analysed_series(self):
        """The series of a DICOM series upload that was analysed, or None."""
        return next((one for one in self.series.all() if one.analysed), None)

    @property
    def skipped_series(self):
        return [one for one in self.series.all() if not one.analysed]

    @property
    def counted_slice_count(self):
        """How many of a volume's slices its result is the mean of."""
        return sum(one.counted for one in self.slices.all())

    @property
    def left_out_slice_count(self):
        """How many of a volume's band slices are listed but not counted (refused by a check or the detector)."""
        return sum(not one.counted for one in self.slices.all())

    ACQUISITION_LABELS = {"modality": "Modality", "field_strength_tesla": "Field strength (tesla)",
                          "sequence": "Sequence", "scanning_sequence": "Scanning sequence",
                          "slice_thickness_mm": "Slice thickness (mm)"}

    def file_details(self):
        """``[(label, value)]`` for the page: the format and the stored acquisition fields, nothing else."""
        details = [("Format", FORMAT_NAMES.get(self.source_format, self.source_format))]
        for key, label in self.ACQUISITION_LABELS.items():
            if key in (self.acquisition or {}):
                details.append((label, self.acquisition[key]))
        return details

    def regions_of(self, class_name=None):
        """``{grouping: {region: share}}`` of one class's map (the predicted class by default), or None."""
        return (self.region_shares or {}).get(class_name or self.prediction)

    FAITHFULNESS_WORDS = {
        "strongly": "strongly",
        "weakly": "weakly",
        "not": "not more than a random region",
    }

    # The same verdicts as a patient reads them on the result page.
    FAITHFULNESS_PLAIN_WORDS = {
        "strongly": "The coloured parts really did matter for this result.",
        "weakly": "The coloured parts mattered a bit for this result.",
        "not": "The coloured parts mattered no more than other parts of the scan. So do not read much into them.",
    }

    @property
    def faithfulness_pending(self):
        return self.faithfulness_check == FaithfulnessCheck.PENDING

    def faithfulness_verdict(self):
        """How much the highlighted region matters, in words: strongly / weakly / not more than a random region."""
        # Imported here: the thresholds live with the score, and that module needs torch.
        from mri.explain.faithfulness import verdict

        return self.FAITHFULNESS_WORDS.get(verdict(self.faithfulness))

    def faithfulness_in_plain_words(self):
        from mri.explain.faithfulness import verdict

        return self.FAITHFULNESS_PLAIN_WORDS.get(verdict(self.faithfulness))


# Why a slice of a volume's band is not counted in the volume's result: one of the checks of
# mri.io.quality refused it (it is listed, not analysed), or the model's out-of-distribution
# detector did (analysed and listed, not counted). The one vocabulary of the page, the API's ``reason``,
# the admin and `manage.py analyze`.
LeftOut = models.TextChoices("LeftOut", [(name.upper(), (name, text)) for name, text in {
    **CHECKS, "outside_training": "unlike the slices the model was trained on"}.items()])


class AssessmentSlice(StoredResult, models.Model):
    """One slice of a volume's band: analysed (the assessment's result is the mean of those counted), or
    left out by a check, with the reason."""

    LeftOut = LeftOut

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="slices")
    position = models.PositiveIntegerField(help_text="Axial slice index in the reoriented (RAS) volume.")
    scan = models.FileField(upload_to="scans/", max_length=200)
    overlay = models.FileField(upload_to="heatmaps/", max_length=200, blank=True)
    # Blank, None and {} for a slice the checks left out: it was never analysed.
    prediction = models.CharField(max_length=40, choices=Assessment.Prediction.choices, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    probabilities = models.JSONField(default=dict, blank=True)
    ood_status = models.CharField(max_length=10, blank=True, choices=TrainingMatch.choices)
    ood_distance = models.FloatField(null=True, blank=True)
    representative = models.BooleanField(default=False, help_text="The slice shown for the whole volume.")
    left_out = models.CharField(max_length=20, blank=True, choices=LeftOut.choices,
                                help_text="Why the slice is not counted in the volume's result; blank if it is.")

    class Meta:
        ordering = ["position"]

    def __str__(self):
        return f"slice {self.position} of assessment {self.assessment_id}"

    @property
    def any_impairment(self):
        """The slice's own P(any grade above No Impairment), from the network alone."""
        return any_impairment(self.probabilities)

    @property
    def analysed(self):
        """False for a slice the checks refused before the model saw it."""
        return bool(self.prediction)

    @property
    def counted(self):
        # A slice the detector refused has the reason outside_training (intake.store_slices, migration 0004).
        return not self.left_out

    @property
    def reason(self):
        """Why it is not counted, in words ('' when it is)."""
        return self.get_left_out_display() if self.left_out else ""


class ScanSeries(models.Model):
    """One series found in a DICOM series upload: the one analysed, or one skipped with the reason.

    Only what says what kind of series it is: the sequence words of its description (never the rest of it,
    which is free text typed at the scanner), its weighting and plane, and how many slices it has.
    """

    Skipped = models.TextChoices("Skipped", [(name.upper(), (name, text)) for name, text in series.SKIPPED.items()])

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="series")
    description = models.CharField(max_length=80, blank=True,
                                   help_text="The sequence words of the series description (T1, MPRAGE, AX...).")
    weighting = models.CharField(max_length=10, blank=True, help_text="T1, T2, FLAIR, PD, DWI, or blank if unknown.")
    plane = models.CharField(max_length=20, blank=True, help_text="axial, sagittal, coronal or several planes.")
    slice_count = models.PositiveIntegerField()
    analysed = models.BooleanField(default=False)
    skipped_because = models.CharField(max_length=20, blank=True, choices=Skipped.choices)
    missing_slices = models.PositiveIntegerField(default=0, help_text="Slices missing from the series, filled in "
                                                                      "from their neighbours.")

    class Meta:
        ordering = ["-analysed", "pk"]

    def __str__(self):
        return f"{self.summary} of assessment {self.assessment_id}"

    @property
    def summary(self):
        """In words: 'T1 MPRAGE (axial, T1-weighted), 95 slices'."""
        kind = ", ".join(part for part in (self.plane, f"{self.weighting}-weighted" if self.weighting else "") if part)
        name = self.description or "A series without a description"
        return f"{name}{f' ({kind})' if kind else ''}, {self.slice_count} slice{'s' if self.slice_count != 1 else ''}"

    @classmethod
    def record(cls, assessment, found):
        """Store the series of a scan (scans.series.SeriesInfo); nothing for other uploads."""
        return cls.objects.bulk_create([cls(assessment=assessment, **vars(info)) for info in found])
