from django import forms


class UploadForm(forms.Form):
    scan = forms.FileField(
        label="Your brain MRI scan",
        help_text="A single MRI slice as a PNG or JPEG file, up to 20 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
    )
