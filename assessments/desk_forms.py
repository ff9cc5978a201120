"""The doctor's desk forms: the review, the worklist's filters and the agreement page's filters."""

from django import forms

from accounts.models import Patient, User
from mri import CLASSES
from mri.io import FORMAT_NAMES

from . import worklist
from .models import Review


class ReviewForm(forms.ModelForm):
    """A review with nothing chosen for the doctor: every choice starts empty, whatever the model said."""

    verdict = forms.ChoiceField(label="Your verdict", choices=Review.Verdict.choices, widget=forms.RadioSelect)
    grade = forms.ChoiceField(label="Your grade", required=False, choices=[(name, name) for name in CLASSES],
                              widget=forms.RadioSelect)
    cannot_tell_reason = forms.ChoiceField(label="Why you cannot tell", required=False,
                                           choices=Review.Reason.choices, widget=forms.RadioSelect)
    note = forms.CharField(label="Note (optional)", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    sharing = forms.ChoiceField(label="What the patient sees", choices=Review.Sharing.choices,
                                widget=forms.RadioSelect)

    class Meta:
        model = Review
        fields = ["verdict", "grade", "cannot_tell_reason", "note", "sharing"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The program's grade is no choice for "another grade"; the radios carry the shortcut keys' targets.
        prediction = self.instance.assessment.prediction
        self.fields["grade"].choices = [(name, name) for name in CLASSES if name != prediction]
        if not self.instance.differs:
            self.initial["grade"] = ""


DATE_INPUT = forms.DateInput(attrs={"type": "date"})


class WorklistFilters(forms.Form):
    """The worklist's filters; with none given it is the doctor's home: what nobody has reviewed yet."""

    STATUSES = [(worklist.TO_REVIEW, "Not reviewed yet"), (worklist.REVIEWED, "Reviewed"), ("all", "All")]

    patient = forms.ModelChoiceField(label="Patient", required=False, queryset=Patient.objects.none(),
                                     empty_label="All my patients")
    status = forms.ChoiceField(label="Status", required=False, choices=STATUSES)
    since = forms.DateField(label="Scans from", required=False, widget=DATE_INPUT)
    until = forms.DateField(label="Scans until", required=False, widget=DATE_INPUT)

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = Patient.objects.visible_to(user).select_related("user")

    def filters(self):
        """The valid filters as keyword arguments of worklist.cases (the bad ones left out, never a 500)."""
        data = self.cleaned_data if self.is_valid() else {}
        return {"patient": data.get("patient"), "status": data.get("status") or worklist.TO_REVIEW,
                "since": data.get("since"), "until": data.get("until")}


class AgreementFilters(forms.Form):
    doctor = forms.ModelChoiceField(label="Doctor", required=False, queryset=User.objects.none(),
                                    empty_label="Every doctor")
    since = forms.DateField(label="Reviewed from", required=False, widget=DATE_INPUT)
    until = forms.DateField(label="Reviewed until", required=False, widget=DATE_INPUT)
    source_format = forms.ChoiceField(label="File format", required=False,
                                      choices=[("", "Every format"), *FORMAT_NAMES.items()])

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        authors = Review.objects.visible_to(user).exclude(author=None).values("author")
        self.fields["doctor"].queryset = User.objects.filter(pk__in=authors)

    def filters(self):
        data = self.cleaned_data if self.is_valid() else {}
        return {"doctor": data.get("doctor"), "since": data.get("since"), "until": data.get("until"),
                "source_format": data.get("source_format") or None}
