"""A doctor's review of an assessment: the doctor's own verdict, what of it the patient sees, and what is kept
of it as a medical record after the patient closes their account.

Its own module (re-exported by assessments.models) so that the assessment's module stays readable; it names
the assessment by string, never importing it, so the two modules import in one direction only.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from accounts.models import Patient
from mri import CLASSES
from mri.io import FORMAT_NAMES

# A doctor's own grade: one of the model's classes, or that the scan does not let them tell.
CANNOT_TELL = "Cannot tell"
DoctorGrade = models.TextChoices("DoctorGrade", [(name.upper().replace(" ", "_"), (name, name)) for name in CLASSES]
                                 + [("CANNOT_TELL", (CANNOT_TELL, CANNOT_TELL))])


class Verdict(models.TextChoices):
    """What the doctor decides. No default anywhere: a pre-ticked "agree" nudged doctors to go along."""

    AGREE = "agree", "I agree with the program's grade"
    OTHER_GRADE = "other_grade", "I grade it differently"
    CANNOT_TELL = "cannot_tell", "I cannot tell from this scan"


class CannotTellReason(models.TextChoices):
    IMAGE_QUALITY = "image_quality", "the image quality is too poor"
    WRONG_KIND = "wrong_kind", "it is not the kind of scan needed"
    NEEDS_MORE = "needs_more", "a scan alone is not enough (history, tests, an earlier scan)"
    OTHER = "other", "another reason (in the note)"


class Sharing(models.TextChoices):
    """What the patient is shown of the review: chosen every time, never assumed."""

    # Off the patient's pages, the API and the PDFs; their data export still lists every review of their scans
    # (their right of access: assessments.export).
    NOT_YET = "not_yet", "Nothing yet: keep it off the patient's pages"
    VERDICT = "verdict", "My verdict, without the note"
    VERDICT_AND_NOTE = "verdict_and_note", "My verdict and my note"


def deidentify(collector, field, sub_objs, using):
    """``on_delete`` of a review's assessment: when the patient's data goes, the review stays as a medical
    record without them. The link and the free-text note (it may name the patient) are cleared; the two
    grades, the verdict, the format, the doctor and the date stay, so the agreement statistics stay true."""
    # The link last: ``sub_objs`` may be a query on it, which finds nothing once it is cleared.
    collector.add_field_update(field.model._meta.get_field("note"), "", sub_objs)
    collector.add_field_update(field.model._meta.get_field("sharing"), Sharing.NOT_YET, sub_objs)
    collector.add_field_update(field, None, sub_objs)


# Django reads this flag off the callable, as off SET_NULL: call it even before the reviews are fetched.
deidentify.lazy_sub_objs = True  # type: ignore[attr-defined]


class ReviewQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Reviews of the assessments a user may open, and a doctor's own (kept when the patient left)."""
        if user.is_superuser:
            return self.all()
        mine = models.Q(author=user) if user.is_staff else models.Q(pk__in=[])
        return self.filter(mine | models.Q(assessment__patient__in=Patient.objects.visible_to(user)))

    def shared(self):
        return self.exclude(sharing=Sharing.NOT_YET)


class Review(models.Model):
    """A doctor's sign-off on one assessment: one per doctor and assessment, changed only by its author."""

    Grade = DoctorGrade
    Verdict = Verdict
    Reason = CannotTellReason
    Sharing = Sharing

    # Null once the patient closed their account: the review is then a de-identified record (see deidentify).
    assessment = models.ForeignKey("assessments.Assessment", on_delete=deidentify, null=True, blank=True,
                                   related_name="reviews")
    # Kept if the doctor's account goes: the patient's record still says it was reviewed.
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                               related_name="reviews")
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    grade = models.CharField("doctor's grade", max_length=40, choices=DoctorGrade.choices,
                             help_text="The model's grade when the doctor agrees; “Cannot tell” when they cannot.")
    cannot_tell_reason = models.CharField("why the doctor cannot tell", max_length=20, blank=True,
                                          choices=CannotTellReason.choices)
    # Copied from the assessment when the review is saved, so that the record outlives it.
    model_grade = models.CharField("the program's grade", max_length=40, choices=DoctorGrade.choices[:-1])
    source_format = models.CharField(max_length=20, blank=True)
    note = models.TextField(blank=True)
    sharing = models.CharField("what the patient sees", max_length=20, choices=Sharing.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["assessment", "author"], name="one_review_per_doctor")]

    def __str__(self):
        return f"review of assessment {self.assessment_id} by {self.reviewer_name}"

    def settle(self):
        """Copy the program's grade and the format from the assessment, and set the grade the verdict implies."""
        if self.assessment_id is not None:
            self.model_grade = self.assessment.prediction
            self.source_format = self.assessment.source_format
        if self.verdict == Verdict.AGREE:
            self.grade, self.cannot_tell_reason = self.model_grade, ""
        elif self.verdict == Verdict.CANNOT_TELL:
            self.grade = CANNOT_TELL
        elif self.verdict == Verdict.OTHER_GRADE:
            self.cannot_tell_reason = ""

    def clean_fields(self, exclude=None):
        self.settle()
        super().clean_fields(exclude=exclude)

    def clean(self):
        """The verdict, the grade and the reason must say the same thing."""
        if self.verdict == Verdict.CANNOT_TELL and not self.cannot_tell_reason:
            raise ValidationError({"cannot_tell_reason": "Say why you cannot tell."})
        if self.verdict == Verdict.OTHER_GRADE:
            if self.grade not in CLASSES:
                raise ValidationError({"grade": "Choose your grade."})
            if self.grade == self.model_grade:
                raise ValidationError({"grade": "This is the program's grade: choose “I agree” instead."})

    @property
    def agrees(self):
        return self.verdict == Verdict.AGREE

    @property
    def differs(self):
        return self.verdict == Verdict.OTHER_GRADE

    @property
    def cannot_tell(self):
        return self.verdict == Verdict.CANNOT_TELL

    @property
    def is_shared(self):
        return self.sharing in (Sharing.VERDICT, Sharing.VERDICT_AND_NOTE)

    @property
    def format_name(self):
        return FORMAT_NAMES.get(self.source_format, self.source_format or "not recorded")

    @property
    def reviewer_name(self):
        if self.author is None:
            return "a doctor whose account was closed"
        return self.author.professional_name

    @property
    def shared_note(self):
        """The note as the patient may read it: '' unless the doctor shared it."""
        return self.note if self.sharing == Sharing.VERDICT_AND_NOTE else ""

    def in_words(self):
        """The verdict as the patient reads it, after "Reviewed by Dr X on <date>."."""
        if self.differs:
            return f"Your doctor's grade: {self.grade}. The program's grade was {self.model_grade}."
        if self.cannot_tell:
            return (f"Your doctor could not tell the grade from this scan: {self.get_cannot_tell_reason_display()}. "
                    "This is not an agreement with the program's result.")
        return f"Your doctor agrees with the program's grade: {self.grade}."
