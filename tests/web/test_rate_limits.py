"""Brute force: wrong passwords lock an account and an address out (django-axes); the token, password-reset and
predict endpoints are limited in rate (DRF throttles, rates in settings)."""

from unittest import mock

from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from accounts.throttles import PredictThrottle
from audit.models import AuditEntry
from tests.base import PASSWORD, AlzAwareTestCase, upload

LIMIT = settings.AXES_FAILURE_LIMIT


def rates(**changed):
    """The throttles' rates as the *_RATE environment variables would set them."""
    return mock.patch.dict(PredictThrottle.THROTTLE_RATES, changed)


class LoginLockoutTests(AlzAwareTestCase):
    def log_in(self, email, password, address="10.0.0.1"):
        return self.client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address)

    def test_twelve_wrong_passwords_for_one_email_end_in_429_before_the_twelfth(self):
        statuses = [self.log_in("ada@example.com", f"wrong-{i}").status_code for i in range(12)]
        self.assertLess(LIMIT, 12)
        self.assertEqual(statuses[:LIMIT - 1], [200] * (LIMIT - 1))  # the form again, with its error
        self.assertEqual(statuses[LIMIT - 1:], [429] * (12 - LIMIT + 1))

    def test_a_locked_account_is_refused_even_with_the_right_password_and_says_why(self):
        for i in range(LIMIT):
            self.log_in("ada@example.com", f"wrong-{i}")
        response = self.log_in("ada@example.com", PASSWORD)
        self.assertContains(response, "Please wait", status_code=429)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_the_account_is_locked_whatever_address_the_guesses_come_from(self):
        for i in range(LIMIT):
            self.log_in("Ada@Example.com", f"wrong-{i}", address=f"10.0.1.{i}")
        self.assertEqual(self.log_in("ada@example.com", PASSWORD, address="10.0.2.1").status_code, 429)

    def test_an_address_is_locked_whatever_accounts_it_guesses(self):
        for i in range(LIMIT):
            self.log_in(f"someone{i}@example.com", "wrong", address="10.0.3.1")
        self.assertEqual(self.log_in("bob@example.com", PASSWORD, address="10.0.3.1").status_code, 429)
        # Bob himself, from his own address, is not locked out by someone else's guesses.
        self.assertEqual(self.log_in("bob@example.com", PASSWORD, address="10.0.4.1").status_code, 302)

    def test_guesses_at_other_accounts_from_other_addresses_do_not_lock_anyone_else_out(self):
        for i in range(LIMIT):
            self.log_in(f"someone{i}@example.com", "wrong", address=f"10.0.7.{i}")
        self.assertEqual(self.log_in("ada@example.com", PASSWORD, address="10.0.8.1").status_code, 302)

    def test_the_admin_login_is_locked_out_too(self):
        for i in range(LIMIT):
            self.client.post(reverse("admin:login"), {"username": "dr.who@example.com", "password": f"wrong-{i}"})
        response = self.client.post(reverse("admin:login"), {"username": "dr.who@example.com", "password": PASSWORD})
        self.assertEqual(response.status_code, 429)


class TokenLimitTests(AlzAwareTestCase):
    def ask(self, password, email="ada@example.com"):
        return self.client.post(reverse("api-token"), {"email": email, "password": password},
                                content_type="application/json")

    def test_twelve_wrong_passwords_for_a_token_end_in_a_json_429_before_the_twelfth(self):
        answers = [self.ask(f"wrong-{i}") for i in range(12)]
        statuses = [answer.status_code for answer in answers]
        self.assertEqual(statuses[:LIMIT - 1], [400] * (LIMIT - 1))
        self.assertEqual(statuses[LIMIT - 1:], [429] * (12 - LIMIT + 1))
        self.assertEqual(answers[-1].json()["error"], "too_many_attempts")
        self.assertEqual(self.ask(PASSWORD).status_code, 429)

    def test_tokens_for_one_email_are_limited_in_rate(self):
        with rates(token_email="2/hour"):
            statuses = [self.ask(PASSWORD).status_code for _ in range(3)]
            self.assertEqual(statuses, [200, 200, 429])
            self.assertEqual(self.ask(PASSWORD).json()["error"], "throttled")
            # Another account from the same address is not held up by Ada's rate.
            self.assertEqual(self.ask(PASSWORD, email="bob@example.com").status_code, 200)


class PasswordResetLimitTests(AlzAwareTestCase):
    def reset(self, email, address="10.0.5.1"):
        return self.client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address)

    def test_reset_emails_for_one_address_are_limited_in_rate(self):
        from django.core import mail

        with rates(reset_email="3/hour"):
            statuses = [self.reset("ada@example.com", address=f"10.0.6.{i}").status_code for i in range(4)]
        self.assertEqual(statuses, [302, 302, 302, 429])
        self.assertEqual(len(mail.outbox), 3)

    def test_reset_requests_from_one_client_address_are_limited_in_rate(self):
        with rates(reset_address="2/hour"):
            statuses = [self.reset(f"person{i}@example.com").status_code for i in range(3)]
            self.assertEqual(statuses, [302, 302, 429])
            response = self.reset("ada@example.com")
        self.assertContains(response, "Please wait", status_code=429)
        self.assertGreater(int(response["Retry-After"]), 0)

    def test_the_wait_is_said_in_whole_minutes_rounded_up(self):
        with rates(reset_address="1/min"):
            self.reset("person@example.com")
            response = self.reset("ada@example.com")
        self.assertContains(response, "Please try again in about 1 minute. If", status_code=429)
        with rates(reset_address="1/hour"):
            self.reset("person@example.com")
            response = self.reset("ada@example.com")
        self.assertContains(response, "Please try again in about 60 minutes.", status_code=429)


class PredictLimitTests(AlzAwareTestCase):
    def predict(self, user):
        self.client.force_login(user)
        return self.client.post(reverse("api-predict"), {"file": upload(b"not a scan at all")})

    def test_predict_is_limited_per_user(self):
        with rates(predict="2/hour"):
            statuses = [self.predict(self.patient.user).status_code for _ in range(3)]
            self.assertEqual(statuses, [400, 400, 429])
            self.assertEqual(self.predict(self.patient.user).json()["error"], "throttled")
            self.assertEqual(self.predict(self.other_patient.user).status_code, 400)

    def test_predictions_at_once_are_counted_one_by_one(self):
        """Eight threads, as a gunicorn worker's, asking 35 times in all: exactly the rate gets through."""
        import threading
        import types

        request = types.SimpleNamespace(user=self.patient.user, META={"REMOTE_ADDR": "10.0.0.1"})
        allowed, barrier = [], threading.Barrier(8)

        def ask(times):
            barrier.wait()
            allowed.extend(PredictThrottle().allow_request(request, None) for _ in range(times))

        with rates(predict="30/hour"):
            threads = [threading.Thread(target=ask, args=(5 if i < 3 else 4,)) for i in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        self.assertEqual((len(allowed), sum(allowed)), (35, 30))

    def test_the_counts_are_shared_by_every_server_process(self):
        """A count another process (another gunicorn worker) wrote is read here: one limit for all of them."""
        import os
        import subprocess
        import sys

        from django.core.cache import cache

        # The settings alone, as a worker's cache sees them: loading the apps would import the model's libraries.
        code = ("import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'alzaware.settings'; "
                "from django.core.cache import cache; cache.set('throttle_predict_7', [1.0, 2.0], 60)")
        env = {**os.environ, "DEBUG": "1", "CACHE_LOCATION": settings.CACHES["default"]["LOCATION"]}
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                              cwd=settings.BASE_DIR)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(cache.get("throttle_predict_7"), [1.0, 2.0])

    def test_the_predict_rate_is_set_by_the_environment(self):
        import os
        import subprocess
        import sys

        # The settings module alone: loading the apps would import the model's libraries too, for seconds.
        code = ("import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'alzaware.settings'; "
                "from django.conf import settings; print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['predict'])")
        env = {**os.environ, "PREDICT_RATE": "7/minute", "DEBUG": "1"}
        shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                               cwd=settings.BASE_DIR)
        self.assertEqual(shown.stdout.strip(), "7/minute", shown.stderr)


@override_settings(NUM_PROXIES=1)
class BehindAProxyTests(AlzAwareTestCase):
    """Every request comes from the proxy's address; the client is the proxy's last X-Forwarded-For entry."""

    PROXY = "10.9.0.1"

    def log_in(self, email, password, client, forwarded=None):
        return self.client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=self.PROXY,
                                HTTP_X_FORWARDED_FOR=forwarded or client)

    def test_six_guesses_from_one_client_leave_another_clients_right_password_working(self):
        statuses = [self.log_in(f"nobody{i}@example.com", "wrong", "203.0.113.5").status_code for i in range(6)]
        self.assertEqual(statuses[-1], 429)
        self.assertEqual(self.log_in("bob@example.com", PASSWORD, "198.51.100.7").status_code, 302)

    def test_the_guessing_client_stays_locked_out_whatever_it_writes_into_the_header(self):
        for i in range(LIMIT):
            self.log_in(f"nobody{i}@example.com", "wrong", "203.0.113.5")
        # The client's own entries come first; the proxy appends the address it saw, and only that one counts.
        answer = self.log_in("bob@example.com", PASSWORD, "203.0.113.5", forwarded="198.51.100.7, 203.0.113.5")
        self.assertEqual(answer.status_code, 429)

    def test_password_reset_requests_are_counted_per_client_not_per_proxy(self):
        def reset(email, client):
            return self.client.post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=self.PROXY,
                                    HTTP_X_FORWARDED_FOR=client).status_code

        with rates(reset_address="2/hour"):
            self.assertEqual([reset(f"person{i}@example.com", "203.0.113.5") for i in range(3)], [302, 302, 429])
            self.assertEqual(reset("ada@example.com", "198.51.100.7"), 302)

    def test_the_read_audit_records_the_clients_address(self):
        self.client.force_login(self.patient.user)
        self.client.get(reverse("assessments:timeline"), REMOTE_ADDR=self.PROXY, HTTP_X_FORWARDED_FOR="203.0.113.5")
        self.assertEqual(list(AuditEntry.objects.values_list("address", flat=True)), ["203.0.113.5"])


class EmailCaseTests(AlzAwareTestCase):
    def test_it_signs_in_whatever_the_case_of_the_email_and_counts_no_failure(self):
        from axes.models import AccessAttempt

        answer = self.client.post(reverse("login"), {"username": " Ada@Example.COM", "password": PASSWORD})
        self.assertEqual(answer.status_code, 302)
        self.assertEqual(AccessAttempt.objects.count(), 0)

    def test_a_token_is_issued_whatever_the_case_of_the_email(self):
        answer = self.client.post(reverse("api-token"), {"email": "ADA@example.com", "password": PASSWORD},
                                  content_type="application/json")
        self.assertEqual(answer.status_code, 200)


class SignedInPasswordLimitTests(AlzAwareTestCase):
    def test_password_guesses_on_the_change_form_are_limited(self):
        self.login(self.patient.user)
        new = "An0ther-long-phrase"
        form = {"old_password": "a-guess", "new_password1": new, "new_password2": new}
        with rates(password_check="3/hour"):
            statuses = [self.client.post(reverse("password_change"), form).status_code for _ in range(4)]
        self.assertEqual(statuses, [200, 200, 200, 429])

    def test_password_guesses_on_the_close_account_form_are_limited(self):
        self.login(self.patient.user)
        with rates(password_check="3/hour"):
            statuses = [self.client.post(reverse("delete_account"), {"password": "a-guess"}).status_code
                        for _ in range(4)]
            self.assertEqual(statuses, [400, 400, 400, 429])
            # The limit is the account's: another patient's form is not held up.
            self.login(self.other_patient.user)
            self.assertEqual(self.client.post(reverse("delete_account"), {"password": "a-guess"}).status_code, 400)


class SignupLimitTests(AlzAwareTestCase):
    def test_sign_ups_from_one_client_address_are_limited(self):
        def sign_up(i):
            return self.client.post(reverse("signup"), {"email": f"new{i}@example.com"}, REMOTE_ADDR="10.0.9.1")

        with rates(signup_address="2/hour"):
            self.assertEqual([sign_up(i).status_code for i in range(3)], [200, 200, 429])
