"""The front door, sign-up with consent, and the e-mail confirmation that an upload waits for."""

import re
import time
from unittest import mock

from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from accounts.consent import PRIVACY_VERSION
from accounts.mailer import QUIET_TIME
from accounts.models import User
from assessments.models import Assessment
from tests.base import PASSWORD, AlzAwareTestCase, drawn_brain_slice, image_bytes, make_patient, upload
from tests.smtp import RealSMTP, body_of, run_task_worker

SIGNUP = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com", "date_of_birth": "09/12/1946",
          "sex": "F", "password1": PASSWORD, "password2": PASSWORD, "consent": "on"}


class FrontDoorTests(AlzAwareTestCase):
    def test_a_visitor_sees_the_front_door_not_a_login_redirect(self):
        page = self.client.get("/")
        self.assertEqual(page.status_code, 200)
        self.assertTemplateUsed(page, "front_door.html")
        for said in ("What AlzAware does", "What it does not do", "It does not diagnose", "Who it is for",
                     "How your scans are kept, and who sees them"):
            self.assertContains(page, said)
        self.assertContains(page, f'href="{reverse("signup")}"')
        self.assertContains(page, f'href="{reverse("login")}"')
        self.assertContains(page, f'href="{reverse("privacy")}"')

    def test_a_logged_in_patient_goes_to_their_results_and_a_doctor_to_the_review_pages(self):
        self.login(self.patient.user)
        self.assertRedirects(self.client.get("/"), reverse("assessments:history"))
        self.login(self.doctor)
        self.assertRedirects(self.client.get("/"), reverse("admin:index"), target_status_code=302)

    def test_the_privacy_page_names_its_version(self):
        page = self.client.get(reverse("privacy"))
        self.assertContains(page, f"Version {PRIVACY_VERSION}.")


class SignupConsentTests(AlzAwareTestCase):
    def test_the_form_says_why_it_asks_for_birth_date_and_sex(self):
        page = self.client.get(reverse("signup"))
        self.assertContains(page, "Why we ask: the brain changes with age")
        self.assertContains(page, "Why we ask: your doctor reads a result with this in mind")
        self.assertContains(page, f'<a href="{reverse("privacy")}">how AlzAware keeps and shares my data</a>')

    def test_it_refuses_a_sign_up_without_consent(self):
        response = self.client.post(reverse("signup"), {**SIGNUP, "consent": ""})
        self.assertContains(response, "Please tick the box to agree", status_code=200)
        self.assertFalse(User.objects.filter(email="grace@example.com").exists())

    def test_it_records_the_consent_with_its_date_and_version_and_queues_a_confirmation(self):
        response = self.client.post(reverse("signup"), SIGNUP)
        self.assertRedirects(response, reverse("confirm_email_sent"))
        user = User.objects.get(email="grace@example.com")
        self.assertEqual(user.patient.consent_version, PRIVACY_VERSION)
        self.assertEqual(user.patient.consent_at.date(), user.date_joined.date())
        self.assertIsNone(user.email_confirmed_at)
        queued = DBTaskResult.objects.get()
        self.assertEqual(queued.task_path, "accounts.mailer.send_email")
        self.assertEqual(queued.args_kwargs["args"][0], "grace@example.com")


class SignupTellsNoOneTests(RealSMTP, AlzAwareTestCase):
    """Whether an address has an account shows only in the e-mail to that address (accounts.signup)."""

    def test_a_new_and_a_taken_address_get_the_same_answer(self):
        new = self.client.post(reverse("signup"), SIGNUP)
        new_page = self.client.get(new["Location"])
        self.client = self.client_class()
        taken = self.client.post(reverse("signup"), {**SIGNUP, "email": "GRACE@example.com", "first_name": "Mallory"})
        taken_page = self.client.get(taken["Location"])
        self.assertEqual((new.status_code, new["Location"]), (302, reverse("confirm_email_sent")))
        self.assertEqual((taken.status_code, taken["Location"]), (new.status_code, new["Location"]))
        self.assertEqual(new.content, taken.content)
        self.assertEqual(taken_page.status_code, 200)
        self.assertEqual(taken_page.content.decode(), new_page.content.decode())
        self.assertContains(taken_page, "We sent an e-mail to <strong>grace@example.com</strong>")

    def test_a_taken_address_makes_no_second_account_and_its_owner_is_told(self):
        response = self.client.post(reverse("signup"), {**SIGNUP, "email": "Ada@Example.com"})
        self.assertRedirects(response, reverse("confirm_email_sent"))
        self.assertEqual(User.objects.filter(email__iexact="ada@example.com").count(), 1)
        self.assertFalse(User.objects.filter(first_name="Grace").exists())
        self.patient.user.refresh_from_db()
        self.assertTrue(self.patient.user.check_password(PASSWORD))
        self.assertEqual(DBTaskResult.objects.get().args_kwargs["args"][0], "ada@example.com")
        run_task_worker()
        [message] = self.inbox.to("ada@example.com")
        self.assertEqual(message["Subject"], "Someone tried to create an AlzAware account with your e-mail address")
        body = " ".join(body_of(message).split())
        self.assertIn("Hello Ada,", body)
        self.assertIn("You already have an account, so no new account was made", body)
        self.assertIn("https://alzaware.example/accounts/login/", body)
        self.assertIn("https://alzaware.example/accounts/password_reset/", body)
        # What the stranger typed is not passed on, and no health data is in it.
        for absent in ("Grace", "Hopper", "1946", "result", "scan"):
            self.assertNotIn(absent, body)

    def test_the_owner_is_told_once_an_hour_however_many_addresses_try(self):
        for i in range(3):
            self.client.post(reverse("signup"), {**SIGNUP, "email": "ada@example.com"}, REMOTE_ADDR=f"10.9.0.{i}")
        self.assertEqual(DBTaskResult.objects.count(), 1)
        run_task_worker()
        self.assertEqual(len(self.inbox.to("ada@example.com")), 1)
        # An hour later by the clock the cache reads.
        with mock.patch("time.time", return_value=time.time() + QUIET_TIME.total_seconds() + 1):
            self.client.post(reverse("signup"), {**SIGNUP, "email": "ada@example.com"}, REMOTE_ADDR="10.9.1.1")
        self.assertEqual(DBTaskResult.objects.count(), 2)

    def test_a_sign_up_logs_no_one_in(self):
        self.client.post(reverse("signup"), SIGNUP)
        self.assertNotIn("_auth_user_id", self.client.session)
        self.assertRedirects(self.client.get(reverse("assessments:history")),
                             f"{reverse('login')}?next={reverse('assessments:history')}")
        self.client.post(reverse("signup"), {**SIGNUP, "email": "ada@example.com"})
        self.assertNotIn("_auth_user_id", self.client.session)


class ConfirmationTests(RealSMTP, AlzAwareTestCase):
    def signed_up(self):
        self.client.post(reverse("signup"), SIGNUP)
        run_task_worker()
        [message] = self.inbox.to("grace@example.com")
        link = re.search(r"https://alzaware\.example(/accounts/confirm/\S+/)", body_of(message)).group(1)
        return User.objects.get(email="grace@example.com"), link

    def log_in(self):
        return self.client.post(f"{reverse('login')}?next={reverse('assessments:new')}",
                                {"username": "grace@example.com", "password": PASSWORD})

    def test_an_unconfirmed_account_cannot_upload(self):
        self.signed_up()
        self.log_in()
        self.assertRedirects(self.client.get(reverse("assessments:new")), reverse("confirm_email_sent"))
        response = self.client.post(reverse("assessments:new"), {"scan": upload(image_bytes(drawn_brain_slice(1)))})
        self.assertRedirects(response, reverse("confirm_email_sent"))
        api = self.client.post(reverse("api-predict"), {"file": upload(image_bytes(drawn_brain_slice(1)))})
        self.assertEqual(api.status_code, 403)
        self.assertEqual(api.json()["error"], "permission_denied")
        self.assertEqual(Assessment.objects.count(), 0)

    def test_the_link_confirms_the_address_then_the_patient_logs_in_and_uploads(self):
        user, link = self.signed_up()
        to_log_in = f"{reverse('login')}?next={reverse('assessments:new')}"
        page = self.client.get(link, follow=True)
        self.assertRedirects(page, to_log_in)
        self.assertContains(page, "Thank you: your e-mail address is confirmed. Now log in")
        self.assertNotIn("_auth_user_id", self.client.session)
        user.refresh_from_db()
        self.assertIsNotNone(user.email_confirmed_at)
        self.assertRedirects(self.log_in(), reverse("assessments:new"))
        self.assertEqual(self.client.get(reverse("assessments:new")).status_code, 200)

    def test_the_link_confirms_once_and_a_second_click_changes_nothing(self):
        user, link = self.signed_up()
        self.client.get(link)
        user.refresh_from_db()
        confirmed_at = user.email_confirmed_at
        again = self.client.get(link, follow=True)
        self.assertContains(again, "Your e-mail address is confirmed already.")
        self.assertNotIn("_auth_user_id", self.client.session)
        user.refresh_from_db()
        self.assertEqual(user.email_confirmed_at, confirmed_at)

    def test_a_logged_in_patient_goes_from_the_link_to_the_upload(self):
        _, link = self.signed_up()
        self.log_in()
        self.assertRedirects(self.client.get(link), reverse("assessments:new"))

    def test_a_wrong_link_confirms_nothing(self):
        user, link = self.signed_up()
        response = self.client.get(link[:-3] + "xx/")
        self.assertContains(response, "This link does not work", status_code=400)
        user.refresh_from_db()
        self.assertIsNone(user.email_confirmed_at)

    def test_a_link_for_another_address_confirms_nothing(self):
        user, link = self.signed_up()
        User.objects.filter(pk=user.pk).update(email="grace.new@example.com")
        self.assertContains(self.client.get(link), "This link does not work", status_code=400)
        user.refresh_from_db()
        self.assertIsNone(user.email_confirmed_at)

    def test_a_new_link_can_be_asked_for(self):
        self.signed_up()
        self.log_in()
        self.client.post(reverse("resend_confirmation"))
        run_task_worker()
        self.assertEqual(len(self.inbox.to("grace@example.com")), 2)

    def test_existing_confirmed_accounts_upload_as_before(self):
        patient = make_patient("old@example.com", "Olive", "Old")
        self.login(patient.user)
        self.assertEqual(self.client.get(reverse("assessments:new")).status_code, 200)
