"""A patient shares with their doctor (by e-mail or the doctor's code) and withdraws it; both hear by e-mail,
from the task worker, through a real SMTP server."""

import re
from datetime import timedelta
from unittest import mock

from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.mailer import MAX_ATTEMPTS
from accounts.models import EmailNotice, Invitation
from assessments import intake
from assessments.models import Review
from audit.models import AuditAction, AuditEntry
from mri import CLASSES
from tests.base import AlzAwareTestCase, drawn_brain_slice, everything_said, image_bytes, upload
from tests.smtp import RealSMTP, body_of, free_port, run_task_worker

DOCTOR_MAIL = "dr.who@example.com"


class SharingTests(RealSMTP, AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        # The shared base's doctor, not yet chosen by this patient (the base assigns them as an admin would).
        self.patient.doctors.clear()

    def invite(self, email=DOCTOR_MAIL):
        self.login(self.patient.user)
        return self.client.post(reverse("sharing"), {"invite-email": email})

    def sharing_actions(self):
        return list(AuditEntry.objects.filter(patient=self.patient).order_by("pk").values_list("action", "doctor"))

    def link_in(self, message):
        return re.search(r"https://alzaware\.example(/\S+)", body_of(message)).group(1)

    def test_a_patient_invites_a_doctor_who_accepts_through_the_e_mailed_link(self):
        self.assertRedirects(self.invite(), reverse("sharing"))
        self.assertEqual(self.inbox.messages, [])  # written in the request, sent by the worker
        run_task_worker()
        [message] = self.inbox.to(DOCTOR_MAIL)
        self.assertNotIn("Lovelace", body_of(message))
        link = self.link_in(message)
        self.login(self.doctor)
        self.assertContains(self.client.get(link), "Ada Lovelace")
        self.assertRedirects(self.client.post(link), reverse("doctor_sharing"))
        self.assertEqual(list(self.patient.doctors.all()), [self.doctor])
        self.assertEqual(self.sharing_actions(), [(AuditAction.DOCTOR_INVITED, None),
                                                  (AuditAction.DOCTOR_ACCEPTED, self.doctor.pk)])
        self.assertEqual(self.client.get(link).status_code, 404)  # used

    def test_only_a_doctors_account_accepts(self):
        self.invite()
        token = Invitation.objects.get().token
        self.login(self.other_patient.user)
        self.assertEqual(self.client.post(reverse("accept_invitation", args=[token])).status_code, 403)
        self.assertEqual(list(self.patient.doctors.all()), [])

    def test_a_doctors_code_shares_at_once_and_a_wrong_code_says_so(self):
        self.login(self.doctor)
        code = self.client.get(reverse("doctor_sharing")).context["code"]
        self.login(self.patient.user)
        wrong = self.client.post(reverse("sharing"), {"code-code": "AAAA-AAAA"})
        self.assertContains(wrong, "No doctor has this code", status_code=400)
        spaced = f"{code[:4].lower()}-{code[4:]}"
        self.assertRedirects(self.client.post(reverse("sharing"), {"code-code": spaced}), reverse("sharing"))
        self.assertEqual(list(self.patient.doctors.all()), [self.doctor])
        self.assertEqual(self.sharing_actions(), [(AuditAction.DOCTOR_CODE, self.doctor.pk)])

    def test_the_patient_sees_who_can_see_and_withdraws_access(self):
        self.login(self.patient.user)
        page = self.client.get(reverse("sharing"))
        self.assertContains(page, "No doctor can see your results yet")
        self.patient.doctors.add(self.doctor)
        self.assertContains(self.client.get(reverse("sharing")), "Dr Gregory House")
        self.login(self.other_patient.user)
        self.assertEqual(self.client.post(reverse("withdraw_access", args=[self.doctor.pk])).status_code, 404)
        self.login(self.patient.user)
        self.assertRedirects(self.client.post(reverse("withdraw_access", args=[self.doctor.pk])), reverse("sharing"))
        self.assertEqual(list(self.patient.doctors.all()), [])
        self.assertEqual(self.sharing_actions(), [(AuditAction.ACCESS_WITHDRAWN, self.doctor.pk)])
        self.login(self.doctor)
        assessment = intake.assess_upload(self.patient, image_bytes(drawn_brain_slice(3)))
        self.assertEqual(self.client.get(assessment.get_absolute_url()).status_code, 404)

    def test_an_open_invitation_can_be_withdrawn(self):
        self.invite()
        invitation = Invitation.objects.get()
        self.client.post(reverse("cancel_invitation", args=[invitation.pk]))
        self.login(self.doctor)
        self.assertEqual(self.client.get(reverse("accept_invitation", args=[invitation.token])).status_code, 404)

    def test_sharing_changes_are_not_listed_as_reads_of_the_data(self):
        self.invite()
        self.assertEqual(self.client.get(reverse("preferences")).context["views"], [])


class NotificationTests(RealSMTP, AlzAwareTestCase):
    def upload_scan(self, seed):
        self.login(self.patient.user)
        self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(drawn_brain_slice(seed)))})

    def test_the_doctor_hears_of_a_new_result_once_an_hour_with_only_a_link(self):
        self.upload_scan(1)
        self.assertEqual(self.inbox.messages, [])  # never sent in the request
        run_task_worker()
        [message] = self.inbox.to(DOCTOR_MAIL)
        body = body_of(message)
        for health_data in (*CLASSES, "Lovelace", "Ada", "%"):
            self.assertNotIn(health_data, body + message["Subject"])
        self.assertIn("https://alzaware.example/admin/assessments/assessment/", body)
        self.upload_scan(2)
        run_task_worker()
        self.assertEqual(len(self.inbox.to(DOCTOR_MAIL)), 1)
        EmailNotice.objects.update(sent_at=timezone.now() - timedelta(hours=1, minutes=1))
        self.upload_scan(3)
        run_task_worker()
        self.assertEqual(len(self.inbox.to(DOCTOR_MAIL)), 2)

    def test_the_patient_hears_when_a_doctor_reviews_a_result(self):
        assessment = intake.assess_upload(self.patient, image_bytes(drawn_brain_slice(4)))
        run_task_worker()
        Review.objects.create(assessment=assessment, author=self.doctor, agrees=True, grade=assessment.prediction,
                              note="Looks stable to me.", share_note=True)
        run_task_worker()
        [message] = self.inbox.to("ada@example.com")
        body = body_of(message)
        self.assertIn(f"https://alzaware.example{assessment.get_absolute_url()}", body)
        for health_data in (*CLASSES, "stable", "House"):
            self.assertNotIn(health_data, body + message["Subject"])

    def test_each_person_can_turn_the_e_mails_off(self):
        self.login(self.doctor)
        self.assertRedirects(self.client.post(reverse("notifications"), {}), reverse("notifications"))
        self.login(self.patient.user)
        self.client.post(reverse("notifications"), {})
        assessment = intake.assess_upload(self.patient, image_bytes(drawn_brain_slice(5)))
        Review.objects.create(assessment=assessment, author=self.doctor, agrees=True, grade=assessment.prediction)
        run_task_worker()
        self.assertEqual(self.inbox.messages, [])

    def test_a_failed_send_is_logged_and_queued_again_until_it_is_given_up(self):
        intake.assess_upload(self.patient, image_bytes(drawn_brain_slice(6)))
        # Nothing listens on this port: every connection is refused, as with a mail server that is down.
        with override_settings(EMAIL_PORT=free_port()), everything_said() as said:
            for _ in range(MAX_ATTEMPTS):
                run_task_worker()
                self.assertFalse(DBTaskResult.objects.ready().exists())  # the retry waits a little
                DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
        self.assertIn("could not be sent: ConnectionRefusedError", said.text)
        self.assertIn(f"given up after {MAX_ATTEMPTS} attempts", said.text)
        attempts = DBTaskResult.objects.filter(task_path="assessments.notifications.notify_new_result")
        self.assertEqual(attempts.count(), MAX_ATTEMPTS)
        self.assertNotIn(DOCTOR_MAIL, said.text)
        self.assertEqual(EmailNotice.objects.count(), 0)

    def test_a_send_that_fails_once_is_delivered_on_the_next_attempt(self):
        intake.assess_upload(self.patient, image_bytes(drawn_brain_slice(7)))
        with mock.patch("accounts.mailer.send_mail", side_effect=OSError("connection reset")):
            run_task_worker()
        self.assertEqual(self.inbox.messages, [])
        retry = DBTaskResult.objects.get(task_path="assessments.notifications.notify_new_result", status="READY")
        self.assertGreater(retry.run_after, timezone.now())
        DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
        run_task_worker()
        self.assertEqual(len(self.inbox.to(DOCTOR_MAIL)), 1)
