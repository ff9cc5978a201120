import re

from django.core import mail
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import Patient, User
from tests.base import PASSWORD, AlzAwareTestCase


class SignupAndLoginTests(AlzAwareTestCase):
    def signup(self, **overrides):
        data = {
            "first_name": "Grace", "last_name": "Hopper", "email": "Grace@Example.com",
            "date_of_birth": "1946-12-09", "sex": "F", "password1": PASSWORD, "password2": PASSWORD, "consent": "on",
        }
        data.update(overrides)
        return self.client.post(reverse("signup"), data)

    def test_it_signs_up_a_patient_who_then_logs_in(self):
        response = self.signup()
        self.assertRedirects(response, reverse("confirm_email_sent"))
        user = User.objects.get(email="grace@example.com")
        self.assertEqual(user.get_full_name(), "Grace Hopper")
        self.assertEqual(str(user.patient.date_of_birth), "1946-12-09")
        self.assertEqual(user.patient.sex, Patient.Sex.FEMALE)
        self.assertFalse(user.is_staff)
        self.assertNotIn("_auth_user_id", self.client.session)
        self.client.post(reverse("login"), {"username": "grace@example.com", "password": PASSWORD})
        self.assertEqual(self.client.get(reverse("assessments:history")).status_code, 200)

    def test_it_makes_no_second_account_for_the_same_email_and_does_not_say_so(self):
        response = self.signup(email="ADA@example.com")
        self.assertRedirects(response, reverse("confirm_email_sent"))
        self.assertEqual(User.objects.filter(email__iexact="ada@example.com").count(), 1)
        self.assertNotContains(self.client.get(response["Location"]), "already exists")

    def test_it_refuses_a_birth_date_in_the_future(self):
        response = self.signup(date_of_birth="2999-01-01")
        self.assertContains(response, "real date of birth")
        self.assertFalse(User.objects.filter(email="grace@example.com").exists())

    def test_it_logs_in_with_email_and_out_again(self):
        response = self.client.post(reverse("login"), {"username": "ada@example.com", "password": PASSWORD})
        self.assertRedirects(response, reverse("assessments:history"))
        self.client.post(reverse("logout"))
        response = self.client.get(reverse("assessments:history"))
        self.assertRedirects(response, f"{reverse('login')}?next={reverse('assessments:history')}")

    def test_it_refuses_a_wrong_password(self):
        response = self.client.post(reverse("login"), {"username": "ada@example.com", "password": "nope"})
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_it_changes_the_password(self):
        self.login(self.patient.user)
        response = self.client.post(reverse("password_change"), {
            "old_password": PASSWORD, "new_password1": "Another-long-phrase-7", "new_password2": "Another-long-phrase-7",
        })
        self.assertRedirects(response, reverse("password_change_done"))
        self.patient.user.refresh_from_db()
        self.assertTrue(self.patient.user.check_password("Another-long-phrase-7"))

    def test_it_resets_a_forgotten_password_by_email(self):
        response = self.client.post(reverse("password_reset"), {"email": "ada@example.com"})
        self.assertRedirects(response, reverse("password_reset_done"))
        self.assertEqual(len(mail.outbox), 1)
        link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
        form_page = self.client.get(link, follow=True)
        response = self.client.post(form_page.redirect_chain[-1][0], {
            "new_password1": "Brand-new-phrase-99", "new_password2": "Brand-new-phrase-99",
        })
        self.assertRedirects(response, reverse("password_reset_complete"))
        self.assertTrue(self.client.login(request=HttpRequest(), email="ada@example.com", password="Brand-new-phrase-99"))
