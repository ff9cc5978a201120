from django import forms


class UploadForm(forms.Form):
    scan = forms.FileField(
        label="Your brain MRI scan",
        help_text="An axial brain MRI slice (PNG, JPEG, TIFF, BMP or DICOM) or a brain MRI volume "
                  "(NIfTI .nii or .nii.gz), up to 20 MB.",
        # No accept filter on DICOM's many extensions (often none at all): the content decides.
        widget=forms.ClearableFileInput(),
    )


class ExplanationForm(forms.Form):
    """Which class's map and which colour map the result page shows (a GET form: nothing is re-run)."""

    klass = forms.TypedChoiceField(label="Show the map for", coerce=int)
    colormap = forms.ChoiceField(label="Colours")
    scale = forms.ChoiceField(
        label="Scale",
        choices=[("relative", "This scan's own range"), ("absolute", "The same for all my scans")],
        required=False,
    )

    def __init__(self, data, classes, colormaps):
        super().__init__(data)
        self.fields["klass"].choices = list(enumerate(classes))
        self.fields["colormap"].choices = colormaps


class VisitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.created_at:%d %b %Y, %H:%M}: {obj.prediction}"


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
