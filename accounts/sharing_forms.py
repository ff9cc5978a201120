from django import forms


class InviteForm(forms.Form):
    email = forms.EmailField(label="Your doctor's e-mail address", widget=forms.EmailInput(
        attrs={"autocomplete": "off"}), help_text="We send your doctor a link. The e-mail does not hold your "
                                                  "name or any result.")


class CodeForm(forms.Form):
    code = forms.CharField(label="The code your doctor gave you", max_length=20, widget=forms.TextInput(
        attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
        help_text="8 letters and numbers, for example K7QM-3XPA.")
