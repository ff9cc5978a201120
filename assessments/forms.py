from django import forms
from django.conf import settings
from django.utils.functional import lazy

from mri.io import errors, log_refusal, registry

from .scan_dates import check_entered


class MultipleFileInput(forms.ClearableFileInput):
    # A DICOM series is one file per slice: a patient may pick the whole folder's files at once.
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """One file or several; ``cleaned_data`` is always a list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data]
        if not files:
            # No file at all (an empty list from the multiple widget): the field's own "required" message.
            files = [None]
        return [super(MultipleFileField, self).clean(one, initial) for one in files]


def upload_contents(files):
    """The uploaded files' bytes (one file's bytes, or a list for several), refused as too large before any is
    read when together they pass the upload limit."""
    total = sum(one.size or 0 for one in files)
    if total > settings.MAX_UPLOAD_BYTES:
        refused = errors.too_large(settings.MAX_UPLOAD_BYTES).because("too_large", total, settings.MAX_UPLOAD_BYTES)
        log_refusal(refused)
        raise refused
    contents = [one.read() for one in files]
    return contents[0] if len(contents) == 1 else contents


def upload_help():
    """The formats from the reader registry (read when the form is shown: every registered format is named)."""
    return f"{registry.upload_help()} Up to {settings.MAX_UPLOAD_BYTES // (1024 * 1024)} MB."


# The day of a scan as people write it (the same formats as the sign-up's date of birth).
DATE_FORMATS = ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %m %Y", "%Y-%m-%d"]


class UploadForm(forms.Form):
    scan = MultipleFileField(
        error_messages={
            "required": "Please choose your scan first: use the button below “Your brain MRI scan” to pick the "
                        "file, or all the files of the scan's folder.",
            "empty": errors.empty().message,
        },
        label="Your brain MRI scan",
        help_text=lazy(upload_help, str)(),
        # No accept filter on DICOM's many extensions (often none at all): the content decides.
    )
    scan_date = forms.DateField(
        label="When was this scan taken? (optional)", required=False, input_formats=DATE_FORMATS,
        widget=forms.DateInput(format="%d/%m/%Y"), validators=[check_entered],
        help_text="Day, month and year, for example 21/03/2025. A hospital's DICOM files say it themselves. "
                  "Without a date, your results over time use the day you send the scan.",
    )


class ExplanationForm(forms.Form):
    """Which class's map and which colour map the result page shows (a GET form: nothing is re-run)."""

    klass = forms.TypedChoiceField(label="Show the map for", coerce=int)
    colour_map = forms.ChoiceField(label="Colours")
    scale = forms.ChoiceField(
        label="Scale",
        choices=[("relative", "This scan's own range"), ("absolute", "The same for all my scans")],
        required=False,
    )

    def __init__(self, data, classes, colour_maps):
        super().__init__(data)
        self.fields["klass"].choices = list(enumerate(classes))
        self.fields["colour_map"].choices = colour_maps


class VisitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"Scan of {obj.scan_day:%d %b %Y}, sent {obj.created_at:%d %b %Y %H:%M}: {obj.prediction}"


class CompareForm(forms.Form):
    """Two of the patient's own visits and one class: their maps side by side on one shared scale (a GET form)."""

    first = VisitChoiceField(label="First visit", queryset=None)
    second = VisitChoiceField(label="Second visit", queryset=None)
    klass = forms.TypedChoiceField(label="Map of", coerce=int)

    def __init__(self, data, visits, classes):
        super().__init__(data)
        # Only the patient's own visits are choices: another's id is simply not valid.
        self.fields["first"].queryset = visits
        self.fields["second"].queryset = visits
        self.fields["klass"].choices = list(enumerate(classes))
