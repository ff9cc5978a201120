"""API tokens expire, are revoked by a password change and by "Sign out of the API", and open the images
whose URLs the API gives."""

import datetime

from django.conf import settings
from django.urls import reverse
from rest_framework.authtoken.models import Token

from tests.base import PASSWORD, AlzAwareTestCase, drawn_brain_slice, image_bytes, upload


class TokenTests(AlzAwareTestCase):
    def token(self, email="ada@example.com", password=PASSWORD):
        response = self.client.post(reverse("api-token"), {"email": email, "password": password},
                                    content_type="application/json")
        self.assertEqual(response.status_code, 200)
        return response.json()["token"]

    def listing(self, token):
        return self.client.get(reverse("api-assessments"), HTTP_AUTHORIZATION=f"Token {token}")

    def test_a_token_stops_working_after_its_lifetime_and_a_new_one_is_issued(self):
        token = self.token()
        self.assertEqual(self.listing(token).status_code, 200)
        Token.objects.filter(key=token).update(
            created=Token.objects.get(key=token).created - settings.API_TOKEN_LIFETIME - datetime.timedelta(seconds=1))
        expired = self.listing(token)
        self.assertEqual(expired.status_code, 401)
        self.assertEqual(expired.json()["error"], "authentication_failed")
        self.assertIn("expired", expired.json()["detail"])
        fresh = self.token()
        self.assertNotEqual(fresh, token)
        self.assertEqual(self.listing(fresh).status_code, 200)

    def test_asking_again_within_the_lifetime_gives_the_same_token(self):
        self.assertEqual(self.token(), self.token())

    def test_changing_the_password_revokes_the_token(self):
        token = self.token()
        self.client.force_login(self.patient.user)
        response = self.client.post(reverse("password_change"), {
            "old_password": PASSWORD, "new_password1": "Another-long-phrase-77", "new_password2": "Another-long-phrase-77"})
        self.assertEqual(response.status_code, 302)
        self.client.logout()
        self.assertEqual(self.listing(token).status_code, 401)

    def test_a_password_set_anywhere_else_revokes_it_too_but_other_saves_do_not(self):
        token = self.token()
        user = self.patient.user
        user.first_name = "Augusta"
        user.save()
        self.assertEqual(self.listing(token).status_code, 200)
        user.set_password("Yet-another-phrase-55")
        user.save()
        self.assertEqual(self.listing(token).status_code, 401)

    def test_sign_out_of_the_api_on_the_settings_page_revokes_the_token(self):
        token = self.token()
        other = self.token("bob@example.com")
        self.client.force_login(self.patient.user)
        self.assertContains(self.client.get(reverse("preferences")), "Sign out of the API")
        response = self.client.post(reverse("sign_out_of_api"), follow=True)
        self.assertContains(response, "Programs using your API token are signed out")
        self.client.logout()
        self.assertEqual(self.listing(token).status_code, 401)
        self.assertEqual(self.listing(other).status_code, 200)

    def test_logging_out_of_the_site_keeps_the_token_and_says_so(self):
        token = self.token()
        self.client.force_login(self.patient.user)
        page = self.client.post(reverse("logout"), follow=True)
        self.assertContains(page, "Programs using your API token stay signed in")
        self.assertEqual(self.listing(token).status_code, 200)

    def test_signing_out_of_the_api_needs_a_post(self):
        self.client.force_login(self.patient.user)
        self.assertEqual(self.client.get(reverse("sign_out_of_api")).status_code, 405)


class TokenImageTests(AlzAwareTestCase):
    def test_the_heatmap_url_opens_with_the_token_that_got_it(self):
        token = TokenTests.token(self)
        answer = self.client.post(reverse("api-predict"), {"file": upload(image_bytes(drawn_brain_slice(41)))},
                                  HTTP_AUTHORIZATION=f"Token {token}").json()
        image = self.client.get(answer["heatmap_url"], HTTP_AUTHORIZATION=f"Token {token}")
        self.assertEqual(image.status_code, 200)
        self.assertEqual(image["Content-Type"], "image/png")
        self.assertEqual(image["Cache-Control"], "private, no-store")
        scan = answer["heatmap_url"].replace("overlay.png", "scan.png")
        self.assertEqual(self.client.get(scan, HTTP_AUTHORIZATION=f"Token {token}").status_code, 200)

    def test_another_patients_token_gets_404_a_bad_token_401_and_none_the_login_page(self):
        token = TokenTests.token(self)
        answer = self.client.post(reverse("api-predict"), {"file": upload(image_bytes(drawn_brain_slice(42)))},
                                  HTTP_AUTHORIZATION=f"Token {token}").json()
        other = TokenTests.token(self, "bob@example.com")
        self.assertEqual(self.client.get(answer["heatmap_url"], HTTP_AUTHORIZATION=f"Token {other}").status_code, 404)
        bad = self.client.get(answer["heatmap_url"], HTTP_AUTHORIZATION="Token not-a-token")
        self.assertEqual(bad.status_code, 401)
        self.assertEqual(bad.json()["error"], "not_authenticated")
        anonymous = self.client.get(answer["heatmap_url"])
        self.assertEqual(anonymous.status_code, 302)
        self.assertTrue(anonymous["Location"].startswith(reverse("login")))
