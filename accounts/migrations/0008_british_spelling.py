# The colour map's fields in British spelling (issue 24); the data stays, only the names change.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_consent_confirmation_sharing_notices")]

    operations = [
        migrations.RenameField("patient", "colormap", "colour_map"),
    ]
