"""AuditEntry now lives in the audit app (audit.0001 took it over, table and rows as they were): accounts only
forgets it. Nothing happens in the database."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0005_audit_volume_timeline_report"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEntry")],
            database_operations=[],
        ),
    ]
