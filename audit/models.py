"""The read audit: every look at a patient's data leaves an :class:`AuditEntry`, which the patient can see."""

from django.db import models
from django.utils import timezone

from accounts.models import Patient, User


class AuditAction(models.TextChoices):
    """What someone looked at; the label completes "… viewed …" on the patient's account page."""

    RESULT_PAGE = "result_page", "a result page"
    SCAN_IMAGE = "scan_image", "a scan image"
    OVERLAY_IMAGE = "overlay_image", "a heatmap image"
    SLICE_IMAGE = "slice_image", "a slice image of a volume"
    CLASS_MAP = "class_map", "a heatmap of one grade"
    VOLUME = "volume", "a 3-D scan or heatmap volume"
    TIMELINE = "timeline", "the timeline of results"
    REPORT = "report", "a PDF report"
    EXPORT = "export", "all the data, as a download"
    API_LIST = "api_list", "the list of results, through the API"
    API_DETAIL = "api_detail", "a result, through the API"
    API_PREDICT = "api_predict", "a new result, through the API"
    ADMIN_ASSESSMENT = "admin_assessment", "a result, in the doctors' review pages"
    ADMIN_PATIENT = "admin_patient", "the patient record, in the doctors' review pages"
    # Who reviewed what: written each time a doctor saves a review (the review itself keeps only its author).
    REVIEW = "review", "a result, and saved a review of it"
    # Who may see the results (accounts.invitations): changes of access, in the same append-only log.
    DOCTOR_INVITED = "doctor_invited", "invited a doctor to see the results"
    DOCTOR_ACCEPTED = "doctor_accepted", "accepted to see the results"
    DOCTOR_CODE = "doctor_code", "shared the results with a doctor by their code"
    ACCESS_WITHDRAWN = "access_withdrawn", "withdrew a doctor's access to the results"
    # An administrator's assignment in the admin (its removal is ACCESS_WITHDRAWN, as the patient's own).
    DOCTOR_ASSIGNED = "doctor_assigned", "gave a doctor access to the results"


# The actions that change who may see a patient's results; every other action is a read of the data.
SHARING_ACTIONS = (AuditAction.DOCTOR_INVITED, AuditAction.DOCTOR_ACCEPTED, AuditAction.DOCTOR_CODE,
                   AuditAction.ACCESS_WITHDRAWN, AuditAction.DOCTOR_ASSIGNED)


class AppendOnly(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The audit log is append-only.")

    def delete(self):
        raise PermissionError("The audit log is append-only.")


class AuditEntry(models.Model):
    """One read of a patient's data, or one change of who may read it (SHARING_ACTIONS): who, whose, which
    assessment, what, when, from where, and nothing else.

    Append-only: rows are written once and never changed or deleted, also not when the patient or the viewer
    closes their account. So the references are plain ids without a database constraint (DO_NOTHING): an entry
    keeps saying who looked at what after either is gone, and holds no name, file or result of the patient.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(User, on_delete=models.DO_NOTHING, db_constraint=False, null=True,
                              related_name="+", help_text="Who read the data.")
    patient = models.ForeignKey(Patient, on_delete=models.DO_NOTHING, db_constraint=False,
                                related_name="+", help_text="Whose data was read.")
    assessment_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    doctor = models.ForeignKey(User, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
                               related_name="+", help_text="Whose access changed (sharing actions only).")
    address = models.GenericIPAddressField(null=True, blank=True, help_text="The client's address.")

    objects = AppendOnly.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.get_action_display()} of patient {self.patient_id} at {self.at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit log is append-only.")
