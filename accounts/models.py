from django.contrib.auth.models import AbstractUser, BaseUserManager, Group
from django.db import models
from django.utils import timezone

DOCTORS_GROUP = "Doctors"


class UserManager(BaseUserManager):
    """Users log in with their e-mail address; there is no separate username."""

    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, email):
        """Sign-in finds the account whatever the case of the e-mail typed: "Ada@" is "ada@" (stored lower-case)."""
        return self.get(email__iexact=str(email).strip())

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    username = None
    email = models.EmailField("e-mail address", unique=True)

    # Set when the owner followed the link of accounts.confirmation; a patient uploads only after it.
    email_confirmed_at = models.DateTimeField("e-mail confirmed", null=True, blank=True)
    # Whether news is sent by e-mail (assessments.notifications): each person may turn it off.
    email_notifications = models.BooleanField(
        "e-mail me when something happens", default=True,
        help_text="A new result of one of your patients, or a doctor's review of your result. The e-mail holds "
                  "only a link, never a result.")

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["last_name", "first_name", "email"]

    def __str__(self):
        return self.get_full_name() or self.email

    @property
    def professional_name(self):
        """How a doctor is named to patients."""
        return f"Dr {self.get_full_name() or self.email}"

    @property
    def is_doctor(self):
        return self.is_staff and self.groups.filter(name=DOCTORS_GROUP).exists()


class PatientQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Patients a user may look at: all for a superuser, their own for a doctor, themself otherwise."""
        if user.is_superuser:
            return self
        if user.is_staff:
            return self.filter(doctors=user)
        return self.filter(user=user)


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"
        OTHER = "O", "Other / prefer not to say"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="patient")
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices)
    doctors = models.ManyToManyField(
        User,
        blank=True,
        related_name="patients",
        limit_choices_to={"is_staff": True, "groups__name": DOCTORS_GROUP},
        help_text="Doctors who may review this patient's assessments.",
    )

    # The colour map new overlays are drawn with; kept here (not in ml/) as plain
    # choices so the accounts app does not import the ML stack.
    class ColourMap(models.TextChoices):
        JET = "jet", "Jet (blue = low, red = high)"
        VIRIDIS = "viridis", "Viridis (colour-blind safe)"
        INFERNO = "inferno", "Inferno (colour-blind safe)"
        CIVIDIS = "cividis", "Cividis (colour-blind safe)"

    colour_map = models.CharField("colour map", max_length=20, choices=ColourMap.choices, default=ColourMap.JET)
    # What the patient agreed to at sign-up: when, and which version of the privacy notice (accounts.consent).
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_version = models.CharField(max_length=20, blank=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["user__last_name", "user__first_name"]

    def __str__(self):
        return str(self.user)

    def age_on(self, day):
        """Whole years of age on ``day`` (a date): what the result page shows beside the atrophy measures."""
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def doctors_group():
    group, _ = Group.objects.get_or_create(name=DOCTORS_GROUP)
    return group


class InvitationQuerySet(models.QuerySet):
    def open(self):
        return self.filter(accepted_at__isnull=True, withdrawn_at__isnull=True)


class Invitation(models.Model):
    """A patient's invitation to a doctor to see their results, sent by e-mail; accepted by a doctor's account
    through the link (its token), it adds that doctor to ``Patient.doctors`` (accounts.invitations)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField("the doctor's e-mail address")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"invitation of patient {self.patient_id} to {self.email}"


class DoctorCode(models.Model):
    """The code a doctor gives their patients: entered on the patient's sharing page, it shares the results."""

    doctor = models.OneToOneField(User, on_delete=models.CASCADE, related_name="sharing_code")
    code = models.CharField(max_length=12, unique=True)

    def __str__(self):
        return f"sharing code of {self.doctor}"


class EmailNotice(models.Model):
    """One notification e-mail sent (assessments.notifications): to whom, about which patient, what kind, when. Holds no
    result; it lets the doctor's e-mails about one patient be limited to one an hour."""

    class Kind(models.TextChoices):
        NEW_RESULT = "new_result", "a patient's new result"
        REVIEW = "review", "a doctor's review of a result"

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    sent_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-sent_at"]
