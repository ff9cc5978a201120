"""The read audit: every look at a patient's data leaves an append-only entry, shown to the patient and, in full,
to superusers."""

import json

from django.core import serializers
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TransactionTestCase
from django.urls import reverse

from accounts.models import User
from assessments import intake
from audit.models import AuditAction, AuditEntry
from mri import CLASSES
from tests.base import PASSWORD, AlzAwareTestCase, drawn_brain_slice, image_bytes, upload
from tests.fixtures import scan_files


class AuditTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        self.assessment = intake.assess_upload(self.patient, image_bytes(drawn_brain_slice(51)))

    def entries(self):
        return list(AuditEntry.objects.order_by("pk").values_list("actor", "patient", "assessment_id", "action",
                                                                  "address"))

    def test_each_read_by_the_doctor_writes_one_entry_naming_who_whose_what_and_from_where(self):
        self.login(self.doctor)
        pk = self.assessment.pk
        reads = [
            (self.assessment.get_absolute_url(), AuditAction.RESULT_PAGE),
            (reverse("assessments:file", args=[pk, "scan"]), AuditAction.SCAN_IMAGE),
            (reverse("assessments:file", args=[pk, "overlay"]), AuditAction.OVERLAY_IMAGE),
            (reverse("assessments:class_overlay", args=[pk, 1, "viridis"]), AuditAction.CLASS_MAP),
            (reverse("api-assessment", args=[pk]), AuditAction.API_DETAIL),
            (reverse("admin:assessments_assessment_change", args=[pk]), AuditAction.ADMIN_ASSESSMENT),
        ]
        for url, _ in reads:
            self.assertEqual(self.client.get(url).status_code, 200, url)
        self.assertEqual(self.entries(), [(self.doctor.pk, self.patient.pk, pk, action, "127.0.0.1")
                                          for _, action in reads])

    def test_the_admin_view_of_a_patient_is_recorded_without_an_assessment(self):
        self.login(self.doctor)
        self.client.get(reverse("admin:accounts_patient_change", args=[self.patient.pk]))
        self.assertEqual(self.entries(), [(self.doctor.pk, self.patient.pk, None, AuditAction.ADMIN_PATIENT,
                                           "127.0.0.1")])

    def test_the_api_list_and_predict_are_recorded_for_the_patient(self):
        self.login(self.patient.user)
        self.client.get(reverse("api-assessments"))
        response = self.client.post(reverse("api-predict"), {"file": upload(image_bytes(drawn_brain_slice(52)))})
        self.assertEqual(response.status_code, 200)
        newest = self.patient.assessments.first().pk
        self.assertEqual(self.entries(), [
            (self.patient.user.pk, self.patient.pk, None, AuditAction.API_LIST, "127.0.0.1"),
            (self.patient.user.pk, self.patient.pk, newest, AuditAction.API_PREDICT, "127.0.0.1"),
        ])

    def test_a_refused_read_writes_nothing(self):
        self.login(self.other_patient.user)
        self.assertEqual(self.client.get(self.assessment.get_absolute_url()).status_code, 404)
        self.assertEqual(self.client.get(reverse("api-assessment", args=[self.assessment.pk])).status_code, 404)
        self.assertEqual(self.entries(), [])

    def test_a_doctors_admin_view_of_an_assessment_appears_in_the_patients_list(self):
        self.login(self.doctor)
        self.client.get(reverse("admin:assessments_assessment_change", args=[self.assessment.pk]))
        self.login(self.patient.user)
        page = self.client.get(reverse("preferences"))
        self.assertEqual([(who, entry.action) for entry, who in page.context["views"]],
                         [("Dr Gregory House", AuditAction.ADMIN_ASSESSMENT)])
        self.assertContains(page, "<td>Dr Gregory House</td><td>a result, in the doctors&#x27; review pages: "
                                  f'<a href="{self.assessment.get_absolute_url()}">the result of the scan of '
                                  f'{self.assessment.scan_date:%-d %b %Y}</a></td>', html=True)

    def test_the_patients_own_reads_are_listed_as_theirs_and_another_patients_are_not(self):
        self.login(self.other_patient.user)
        self.client.get(reverse("api-assessments"))
        self.login(self.patient.user)
        self.client.get(self.assessment.get_absolute_url())
        page = self.client.get(reverse("preferences"))
        self.assertEqual([(who, entry.action) for entry, who in page.context["views"]],
                         [("You", AuditAction.RESULT_PAGE)])

    def test_an_entry_holds_no_patient_data(self):
        self.login(self.doctor)
        self.client.get(self.assessment.get_absolute_url())
        stored = json.dumps(json.loads(serializers.serialize("json", AuditEntry.objects.all())))
        user = self.patient.user
        for personal in (user.first_name, user.last_name, user.email, str(self.patient.date_of_birth),
                         self.assessment.scan.name, self.assessment.overlay.name, *CLASSES):
            self.assertNotIn(personal, stored)

    def test_the_log_is_append_only(self):
        self.login(self.doctor)
        self.client.get(self.assessment.get_absolute_url())
        entry = AuditEntry.objects.get()
        entry.address = "10.0.0.1"
        for change in (entry.save, entry.delete, AuditEntry.objects.all().delete,
                       lambda: AuditEntry.objects.update(address="10.0.0.1")):
            with self.assertRaises(PermissionError):
                change()
        self.assertEqual(AuditEntry.objects.get().address, "127.0.0.1")

    def test_entries_outlive_the_accounts_they_name(self):
        self.login(self.doctor)
        self.client.get(self.assessment.get_absolute_url())
        self.doctor.delete()
        self.login(self.patient.user)
        page = self.client.get(reverse("preferences"))
        self.assertEqual([who for _, who in page.context["views"]], ["an account that has since been closed"])


class AuditAdminTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        self.assessment = intake.assess_upload(self.patient, image_bytes(drawn_brain_slice(53)))
        self.login(self.doctor)
        self.client.get(self.assessment.get_absolute_url())
        self.client.get(reverse("admin:accounts_patient_change", args=[self.patient.pk]))
        self.superuser = User.objects.create_superuser(email="root@example.com", password=PASSWORD)

    def listed(self, **params):
        self.login(self.superuser)
        response = self.client.get(reverse("admin:audit_auditentry_changelist"), params)
        self.assertEqual(response.status_code, 200)
        return [entry.action for entry in response.context["cl"].result_list]

    def test_a_superuser_filters_the_whole_log(self):
        self.assertEqual(self.listed(), [AuditAction.ADMIN_PATIENT, AuditAction.RESULT_PAGE])
        self.assertEqual(self.listed(action=AuditAction.RESULT_PAGE), [AuditAction.RESULT_PAGE])
        self.assertEqual(self.listed(q=str(self.other_patient.pk)), [])
        self.assertEqual(len(self.listed(q=str(self.patient.pk))), 2)
        self.assertEqual(len(self.listed(q="dr.who@example.com")), 2)
        self.assertEqual(self.listed(q="someone.else"), [])
        self.assertEqual(self.listed(assessment_id=self.assessment.pk), [AuditAction.RESULT_PAGE])
        self.assertEqual(len(self.listed(address="127.0.0.1")), 2)

    def test_the_log_is_read_only_in_the_admin(self):
        self.login(self.superuser)
        entry = AuditEntry.objects.first()
        page = self.client.get(reverse("admin:audit_auditentry_change", args=[entry.pk]))
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, 'name="_save"')
        self.assertEqual(self.client.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]),
                                          {"post": "yes"}).status_code, 403)
        self.assertEqual(AuditEntry.objects.count(), 2)

    def test_a_doctor_cannot_open_the_log(self):
        self.login(self.doctor)
        self.assertEqual(self.client.get(reverse("admin:audit_auditentry_changelist")).status_code, 403)


class VolumeAuditTests(AlzAwareTestCase):
    def test_a_slice_image_of_a_volume_is_recorded(self):
        assessment = intake.assess_upload(self.patient, scan_files.mni_nifti_bytes(2))
        one = assessment.slices.first()
        self.login(self.doctor)
        url = reverse("assessments:slice_file", args=[assessment.pk, one.position, "scan"])
        self.assertEqual(self.client.get(url).status_code, 200)
        self.assertEqual(list(AuditEntry.objects.values_list("actor", "assessment_id", "action")),
                         [(self.doctor.pk, assessment.pk, AuditAction.SLICE_IMAGE)])


class AuditMoveMigrationTests(TransactionTestCase):
    """AuditEntry moved from accounts to the audit app (audit.0001-0002, accounts.0006) keeping every row."""

    before = [("accounts", "0005_audit_volume_timeline_report"), ("audit", None)]

    def test_the_entries_written_before_the_move_are_there_after_it_with_their_ids(self):
        executor = MigrationExecutor(connection)
        executor.migrate(self.before)
        old = executor.loader.project_state(self.before[:1]).apps
        user = old.get_model("accounts", "User").objects.create(email="old@example.com", password="-")
        patient = old.get_model("accounts", "Patient").objects.create(user=user, date_of_birth="1950-01-01", sex="F")
        entry = old.get_model("accounts", "AuditEntry").objects.create(patient=patient, actor=user,
                                                                       action="export", address="10.0.0.9")
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        self.assertEqual(list(AuditEntry.objects.values_list("pk", "patient_id", "actor_id", "action", "address")),
                         [(entry.pk, patient.pk, user.pk, AuditAction.EXPORT, "10.0.0.9")])
        self.assertEqual(AuditEntry._meta.db_table, "audit_auditentry")
