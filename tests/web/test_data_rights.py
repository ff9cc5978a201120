"""A patient's data rights: a ZIP of everything we hold, and closing the account with every file it owned."""

import io
import json
import os
import zipfile

from axes.models import AccessAttempt
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from accounts.confirmation import send_confirmation
from accounts.models import Invitation, Patient, User
from assessments import intake
from assessments.models import Assessment, AssessmentSlice, ScanSeries
from assessments.notifications import notify_review
from assessments.tasks import draw_volume_heatmap
from audit.models import AuditAction, AuditEntry
from tests.base import PASSWORD, AlzAwareTestCase, drawn_brain_slice, image_bytes, stored_assessment, stored_review
from tests.fixtures import scan_files
from tests.smtp import run_task_worker


def owned_files(assessments):
    """Every stored file name the assessments and their slices refer to."""
    names = set()
    for assessment in assessments:
        names |= {f.name for f in (assessment.scan, assessment.overlay, assessment.maps, assessment.scan_volume,
                                    assessment.heatmap_volume, assessment.pending_band) if f}
        for one in assessment.slices.all():
            names |= {f.name for f in (one.scan, one.overlay) if f}
    return names


class ExportTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        self.image = intake.assess_upload(self.patient, image_bytes(drawn_brain_slice(61)))
        self.volume = intake.assess_upload(self.patient, scan_files.mni_nifti_bytes(2))
        # The slice images and 3-D files the task worker draws after the upload are the patient's too.
        self.assertTrue(draw_volume_heatmap.call(self.volume.pk))
        intake.assess_upload(self.other_patient, image_bytes(drawn_brain_slice(62)))
        stored_review(self.image, self.doctor, note="Shared with you.", sharing="verdict_and_note")
        stored_review(self.volume, self.doctor, note="Kept among doctors.")
        self.login(self.patient.user)

    def export(self):
        response = self.client.get(reverse("export"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/zip")
        self.assertEqual(response["Cache-Control"], "private, no-store")
        return zipfile.ZipFile(io.BytesIO(response.content))

    def test_the_zip_holds_the_profile_assessments_probabilities_and_reviews_as_json(self):
        data = json.loads(self.export().read("data.json"))
        self.assertEqual(data["profile"]["email"], "ada@example.com")
        self.assertEqual(data["profile"]["date_of_birth"], "1948-05-17")
        self.assertEqual(data["profile"]["doctors"], ["Dr Gregory House"])
        self.assertEqual([one["id"] for one in data["assessments"]], [self.image.pk, self.volume.pk])
        first = data["assessments"][0]
        self.assertEqual(first["prediction"], self.image.prediction)
        self.assertEqual(first["probabilities"], dict(self.image.ordered_probabilities()))
        self.assertEqual([r["note"] for r in first["reviews"]], ["Shared with you."])
        self.assertEqual([r["note"] for r in data["assessments"][1]["reviews"]], [None])
        self.assertEqual(len(data["assessments"][1]["slices"]), self.volume.slices.count())

    def test_the_zip_holds_every_stored_scan_and_overlay_byte_for_byte_and_nothing_of_others(self):
        bundle = self.export()
        data = json.loads(bundle.read("data.json"))
        named = {}
        for one in data["assessments"]:
            assessment = Assessment.objects.get(pk=one["id"])
            named[one["scan_file"]] = assessment.scan
            named[one["overlay_file"]] = assessment.overlay
            named[one["maps_file"]] = assessment.maps
            if assessment.scan_volume:
                named[one["scan_volume_file"]] = assessment.scan_volume
                named[one["heatmap_volume_file"]] = assessment.heatmap_volume
            for piece, stored in zip(one["slices"], assessment.slices.all()):
                named[piece["scan_file"]] = stored.scan
                if stored.overlay:
                    named[piece["overlay_file"]] = stored.overlay
        images = {f.name for f in [*named.values()]}
        self.assertEqual(set(bundle.namelist()) - {"data.json"}, set(named))
        for path, stored in named.items():
            with stored.open("rb") as fh:
                self.assertEqual(bundle.read(path), fh.read(), path)
        other = owned_files(Assessment.objects.filter(patient=self.other_patient))
        self.assertFalse(images & other)

    def test_the_zip_holds_the_raw_maps_the_series_record_who_viewed_the_data_and_the_doctors_grades(self):
        ScanSeries.objects.create(assessment=self.volume, description="T1 MPRAGE", weighting="T1", plane="axial",
                                  slice_count=95, analysed=True)
        AuditEntry.objects.create(actor=self.doctor, patient=self.patient, action=AuditAction.ADMIN_PATIENT,
                                  address="198.51.100.7")
        bundle = self.export()
        data = json.loads(bundle.read("data.json"))
        image, volume = data["assessments"]
        self.assertEqual(bundle.read(image["maps_file"]), self.image.maps.open("rb").read())
        self.assertEqual([(one["description"], one["slice_count"], one["analysed"]) for one in volume["series"]],
                         [("T1 MPRAGE", 95, True)])
        self.assertEqual([(r["doctor_grade"], r["doctor_agrees_with_the_model"]) for r in image["reviews"]],
                         [(self.image.prediction, True)])
        views = [(view["viewer"], view["what"]) for view in data["views_of_my_data"]]
        self.assertEqual(views, [("You", "all the data, as a download"),
                                 ("Dr Gregory House", "the patient record, in the doctors' review pages")])
        self.assertNotIn("198.51.100.7", json.dumps(data))

    def test_the_export_is_recorded_in_the_audit(self):
        self.export()
        self.assertEqual(list(AuditEntry.objects.values_list("actor", "patient", "action")),
                         [(self.patient.user.pk, self.patient.pk, AuditAction.EXPORT)])

    def test_a_doctor_has_no_export_of_their_own(self):
        self.login(self.doctor)
        self.assertEqual(self.client.get(reverse("export")).status_code, 404)


class DeleteAccountTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        intake.assess_upload(self.patient, image_bytes(drawn_brain_slice(63)))
        volume = intake.assess_upload(self.patient, scan_files.mni_nifti_bytes(2))
        self.assertTrue(draw_volume_heatmap.call(volume.pk))  # with the files the task worker draws
        intake.assess_upload(self.other_patient, image_bytes(drawn_brain_slice(64)))
        self.mine = owned_files(Assessment.objects.filter(patient=self.patient))
        self.others = owned_files(Assessment.objects.filter(patient=self.other_patient))
        self.login(self.patient.user)

    def delete(self, password):
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(reverse("delete_account"), {"password": password})

    def test_the_page_asks_for_the_password(self):
        page = self.client.get(reverse("delete_account"))
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, 'name="password"')

    def test_a_wrong_password_deletes_nothing(self):
        response = self.delete("not-my-password")
        self.assertEqual(response.status_code, 400)
        self.assertTrue(User.objects.filter(email="ada@example.com").exists())
        self.assertEqual(set(self.stored_files()), self.mine | self.others)

    def test_deleting_the_account_removes_it_every_assessment_and_every_file_it_owned(self):
        # Scans, overlays and maps of both assessments, and the volume's per-slice scans and overlays.
        self.assertEqual(set(self.stored_files()), self.mine | self.others)
        self.assertGreater(len(self.mine), 3 + 3)
        response = self.delete(PASSWORD)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Your account is deleted")
        self.assertFalse(User.objects.filter(email="ada@example.com").exists())
        self.assertEqual(Assessment.objects.filter(patient_id=self.patient.pk).count(), 0)
        self.assertEqual(AssessmentSlice.objects.filter(assessment__patient_id=self.patient.pk).count(), 0)
        self.assertEqual(set(self.stored_files()), self.others)
        self.assertEqual(self.client.get(reverse("assessments:history")).status_code, 302)


    def test_erasure_leaves_no_name_in_the_admin_log_and_no_task_session_or_failed_login_of_the_account(self):
        patient_kind = ContentType.objects.get_for_model(Patient)
        LogEntry.objects.create(user=self.doctor, content_type=patient_kind, object_id=str(self.patient.pk),
                                object_repr=str(self.patient), action_flag=CHANGE,
                                change_message='[{"changed": {"fields": ["Doctors"]}}]')
        other_browser = Client()
        other_browser.post(reverse("login"), {"username": "ada@example.com", "password": "wrong"})
        other_browser.force_login(self.patient.user)
        mine = list(Assessment.objects.filter(patient=self.patient).values_list("pk", flat=True))
        # Per upload its faithfulness score and its doctors' e-mail; the volume's 3-D heatmap besides.
        self.assertEqual(DBTaskResult.objects.filter(args_kwargs__args__0__in=mine).count(), 5)
        self.assertEqual(self.delete(PASSWORD).status_code, 200)
        entry = LogEntry.objects.get()
        self.assertEqual((entry.object_repr, entry.change_message), (f"patient {self.patient.pk} (erased)", ""))
        self.assertEqual((entry.user, entry.object_id), (self.doctor, str(self.patient.pk)))
        self.assertEqual(DBTaskResult.objects.filter(args_kwargs__args__0__in=mine).count(), 0)
        self.assertEqual(DBTaskResult.objects.count(), 2)  # the other patient's score and e-mail
        self.assertEqual([s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id")], [])
        self.assertEqual(AccessAttempt.objects.count(), 0)
        self.assertEqual(other_browser.get(reverse("assessments:history")).status_code, 302)


class AdminDeleteTests(AlzAwareTestCase):
    def test_deleting_an_assessment_in_the_admin_removes_its_files(self):
        kept = intake.assess_upload(self.patient, image_bytes(drawn_brain_slice(65)))
        gone = intake.assess_upload(self.patient, scan_files.mni_nifti_bytes(2))
        removed, remaining = owned_files([gone]), owned_files([kept])
        self.assertEqual(set(self.stored_files()), removed | remaining)
        self.login(User.objects.create_superuser(email="root@example.com", password=PASSWORD))
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(reverse("admin:assessments_assessment_delete", args=[gone.pk]),
                                        {"post": "yes"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(set(self.stored_files()), remaining)
        self.assertTrue(all(os.path.exists(os.path.join(self.media_root, name)) for name in remaining))


class QueuedEmailErasureTests(AlzAwareTestCase):
    """Closing an account takes the e-mails still queued to or about that person with it: none is sent after."""

    def queue_emails_of(self, patient):
        """A confirmation to the patient, their invitation to a doctor and the notice of a doctor's review."""
        send_confirmation(patient.user)
        self.login(patient.user)
        self.client.post(reverse("sharing"), {"invite-email": "dr.who@example.com"})
        stored_review(stored_assessment(patient, seed=patient.pk), self.doctor, note="Seen.")

    def test_closing_an_account_removes_its_queued_e_mails_and_keeps_everyone_elses(self):
        self.queue_emails_of(self.patient)
        self.queue_emails_of(self.other_patient)
        self.assertEqual(DBTaskResult.objects.filter(task_path=notify_review.module_path).count(), 2)
        self.login(self.patient.user)
        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(self.client.post(reverse("delete_account"), {"password": PASSWORD}).status_code, 200)
        run_task_worker()
        self.assertEqual(sorted(message.to[0] for message in mail.outbox),
                         ["bob@example.com", "bob@example.com", "dr.who@example.com"])
        invitation = Invitation.objects.get(patient=self.other_patient)
        self.assertIn(invitation.token, next(m.body for m in mail.outbox if m.to == ["dr.who@example.com"]))
        # Nor do the finished tasks keep the closed account's address.
        self.assertFalse(DBTaskResult.objects.filter(args_kwargs__args__0="ada@example.com").exists())
