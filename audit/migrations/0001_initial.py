"""AuditEntry moves from accounts into this app without touching a row: the model is created here in Django's
state only, on the table accounts made (accounts.0004), whose rows and ids stay as they are; accounts.0006 drops
it from accounts' state. The admin's permissions on it follow, by moving their content type here."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="audit", model="auditentry").exists():
        ContentType.objects.filter(app_label="accounts", model="auditentry").update(app_label="audit")


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="accounts", model="auditentry").exists():
        ContentType.objects.filter(app_label="audit", model="auditentry").update(app_label="accounts")


ACTIONS = [
    ("result_page", "a result page"), ("scan_image", "a scan image"), ("overlay_image", "a heatmap image"),
    ("slice_image", "a slice image of a volume"), ("class_map", "a heatmap of one grade"),
    ("volume", "a 3-D scan or heatmap volume"), ("timeline", "the timeline of results"), ("report", "a PDF report"),
    ("export", "all the data, as a download"), ("api_list", "the list of results, through the API"),
    ("api_detail", "a result, through the API"), ("api_predict", "a new result, through the API"),
    ("admin_assessment", "a result, in the doctors' review pages"),
    ("admin_patient", "the patient record, in the doctors' review pages"),
]


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("accounts", "0005_audit_volume_timeline_report"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEntry",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ("assessment_id", models.PositiveBigIntegerField(blank=True, db_index=True, null=True)),
                        ("action", models.CharField(choices=ACTIONS, max_length=20)),
                        ("address", models.GenericIPAddressField(blank=True, help_text="The client's address.",
                                                                 null=True)),
                        ("actor", models.ForeignKey(db_constraint=False, help_text="Who read the data.", null=True,
                                                    on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                                                    to=settings.AUTH_USER_MODEL)),
                        ("patient", models.ForeignKey(db_constraint=False, help_text="Whose data was read.",
                                                      on_delete=django.db.models.deletion.DO_NOTHING,
                                                      related_name="+", to="accounts.patient")),
                    ],
                    options={
                        "verbose_name_plural": "audit entries",
                        "ordering": ["-at", "-pk"],
                        "db_table": "accounts_auditentry",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
