"""Reviews decide: a verdict chosen with nothing pre-selected (agree / another grade / cannot tell, why), and what
the patient sees chosen explicitly; and they outlive the patient's account as de-identified records, carrying the
program's grade and the format they were made on."""

from django.db import migrations, models

import assessments.review_model

CANNOT_TELL = "Cannot tell"


def verdicts_from_the_old_fields(apps, schema_editor):
    """``agrees`` and ``share_note`` said what ``verdict`` and ``sharing`` say now. Old reviews were all shown to
    the patient ("Reviewed by Dr X"), so their verdict is shared, their note as before."""
    Review = apps.get_model("assessments", "Review")
    for review in Review.objects.select_related("assessment"):
        if review.agrees:
            review.verdict = "agree"
        elif review.grade == CANNOT_TELL:
            review.verdict, review.cannot_tell_reason = "cannot_tell", "other"
        else:
            review.verdict = "other_grade"
        review.model_grade = review.assessment.prediction
        review.source_format = review.assessment.source_format
        review.sharing = "verdict_and_note" if review.share_note else "verdict"
        review.save(update_fields=["verdict", "cannot_tell_reason", "model_grade", "source_format", "sharing"])


class Migration(migrations.Migration):

    dependencies = [
        ("assessments", "0011_scan_date_pending_band"),
    ]

    operations = [
        migrations.AddField(model_name="review", name="verdict", preserve_default=False,
                            field=models.CharField(default="", max_length=20, choices=[
                                ("agree", "I agree with the program's grade"),
                                ("other_grade", "I grade it differently"),
                                ("cannot_tell", "I cannot tell from this scan")])),
        migrations.AddField(model_name="review", name="cannot_tell_reason",
                            field=models.CharField(blank=True, max_length=20, verbose_name="why the doctor cannot tell",
                                                   choices=assessments.review_model.CannotTellReason.choices)),
        migrations.AddField(model_name="review", name="model_grade", preserve_default=False,
                            field=models.CharField(default="", max_length=40, verbose_name="the program's grade",
                                                   choices=assessments.review_model.DoctorGrade.choices[:-1])),
        migrations.AddField(model_name="review", name="source_format",
                            field=models.CharField(blank=True, max_length=20)),
        migrations.AddField(model_name="review", name="sharing", preserve_default=False,
                            field=models.CharField(default="", max_length=20, verbose_name="what the patient sees",
                                                   choices=assessments.review_model.Sharing.choices)),
        migrations.RunPython(verdicts_from_the_old_fields, migrations.RunPython.noop),
        migrations.RemoveField(model_name="review", name="agrees"),
        migrations.RemoveField(model_name="review", name="share_note"),
        migrations.AlterField(model_name="review", name="grade",
                              field=models.CharField(max_length=40, verbose_name="doctor's grade",
                                                     choices=assessments.review_model.DoctorGrade.choices,
                                                     help_text="The model's grade when the doctor agrees; “Cannot "
                                                               "tell” when they cannot.")),
        migrations.AlterField(model_name="review", name="assessment",
                              field=models.ForeignKey(blank=True, null=True, related_name="reviews",
                                                      on_delete=assessments.review_model.deidentify,
                                                      to="assessments.assessment")),
        migrations.AlterField(model_name="review", name="created_at",
                              field=models.DateTimeField(auto_now_add=True, db_index=True)),
    ]
