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
