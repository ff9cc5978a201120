# The colour map's fields in British spelling (issue 24); the data stays, only the names change.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("assessments", "0013_measures_headline_any_impairment")]

    operations = [
        migrations.RenameField("assessment", "overlay_colormap", "overlay_colour_map"),
    ]
