"""The moved table takes this app's name (accounts_auditentry -> audit_auditentry), its rows and ids unchanged."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0001_initial"),
        # accounts has let go of the model first, so no state ever holds two models on one table.
        ("accounts", "0006_auditentry_moved_to_audit"),
    ]

    operations = [
        migrations.AlterModelTable(name="auditentry", table=None),
    ]
