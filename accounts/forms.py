import datetime

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .consent import PRIVACY_VERSION
from .models import Patient, User

# A plain text box, not the browser's date picker: the picker's own order (often mm/dd/yyyy) cannot be told
# in a hint, while "day, month, year" can be typed the way people write their birthday.
BIRTH_DATE_FORMATS = ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %m %Y", "%Y-%m-%d"]


class SignupForm(UserCreationForm):
    first_name = forms.CharField(max_length=150, widget=forms.TextInput(
        attrs={"autofocus": True, "autocomplete": "given-name"}))
    last_name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"}))
    date_of_birth = forms.DateField(
        label="Date of birth", input_formats=BIRTH_DATE_FORMATS,
        widget=forms.DateInput(format="%d/%m/%Y", attrs={"autocomplete": "bday"}),
        help_text="Day, month and year, for example 21/03/1950. Why we ask: the brain changes with age, so your "
                  "doctor needs your age to read a result. The program itself does not use it.",
    )
    sex = forms.ChoiceField(choices=[("", "Choose…"), *Patient.Sex.choices], help_text=(
        "Why we ask: your doctor reads a result with this in mind. The program itself does not use it. "
        "You may choose “prefer not to say”."))
    consent = forms.BooleanField(required=True, error_messages={
        "required": "Please tick the box to agree, or you cannot create an account."})
    # The order a person fills in: who they are, then how they will log in, then what they agree to.
    field_order = ["first_name", "last_name", "date_of_birth", "sex", "email", "password1", "password2", "consent"]

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("first_name", "last_name", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # UserCreationForm puts the cursor in the e-mail field; it starts in the first field instead.
        self.fields["email"].widget.attrs.pop("autofocus", None)
        self.fields["email"].help_text = "We send a link to this address. Follow it before you send your first scan."
        self.fields["consent"].label = format_html(
            'I have read <a href="{}">how AlzAware keeps and shares my data</a>, and I agree to it.', reverse("privacy"))

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def validate_unique(self):
        """Nothing: the address is the only unique field, and whether it has an account is never said on this
        form (accounts.signup). The database still refuses a second account for it."""

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        if not datetime.date(1900, 1, 1) <= born <= datetime.date.today():
            raise forms.ValidationError("Please enter your real date of birth.")
        return born

    @transaction.atomic
    def save(self, commit=True):
        user = super().save(commit=True)
        Patient.objects.create(
            user=user, date_of_birth=self.cleaned_data["date_of_birth"], sex=self.cleaned_data["sex"],
            consent_at=timezone.now(), consent_version=PRIVACY_VERSION,
        )
        return user


class NotificationsForm(forms.ModelForm):
    """Whether the site e-mails this person when something happens (anyone: patient or doctor)."""

    class Meta:
        model = User
        fields = ("email_notifications",)


class PreferencesForm(forms.ModelForm):
    """What a patient can set about how results look."""

    class Meta:
        model = Patient
        fields = ("colour_map",)
        widgets = {"colour_map": forms.RadioSelect}
        help_texts = {"colour_map": "Used for the heatmaps of the scans you submit from now on. Viridis, inferno "
                                  "and cividis stay readable with colour blindness."}


class DeleteAccountForm(forms.Form):
    """Closing an account asks for the password, so that a borrowed, logged-in browser cannot do it."""

    password = forms.CharField(label="Your password", strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "current-password"}))

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("This is not your password.")
        return password
