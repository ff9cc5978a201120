"""Confirming a patient's e-mail address with Django's own token machinery, before their first upload.

Why not django-allauth: it would bring its own account, e-mail-address and social-login models, URL set and
templates beside the sign-up, login, lockout (django-axes) and password-reset pages this project already has,
to do one thing here: mail a signed link and check it. Django's PasswordResetTokenGenerator does that in a
few lines, with no new dependency and no second user model to keep in step. The token is bound to the
address and to the confirmation state, so it confirms once only, stops working when the address changes, and
expires after PASSWORD_RESET_TIMEOUT (three days by default). It confirms and never signs in: sign-up makes an
account for an address whose owner has not yet shown they read it, so a link that signed in would put whoever
follows it into an account whose password the person who signed up chose (perhaps a stranger, accounts.signup).
"""

import copy

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from .mailer import queue_email
from .models import User


class ConfirmationTokens(PasswordResetTokenGenerator):
    key_salt = "accounts.confirmation.ConfirmationTokens"

    def _make_hash_value(self, user, timestamp):
        return f"{user.pk}{user.email}{user.email_confirmed_at}{timestamp}"


tokens = ConfirmationTokens()


class EmailUnconfirmed(PermissionDenied):
    """An upload by a patient who has not yet followed the link of their confirmation e-mail."""

    def __init__(self):
        super().__init__("Please confirm your e-mail address first: follow the link in the e-mail we sent you.")


def require_confirmed(user):
    if user.email_confirmed_at is None:
        raise EmailUnconfirmed()


def confirmation_path(user):
    """The link's path (the e-mail prefixes the site's address)."""
    return reverse("confirm_email", args=[urlsafe_base64_encode(force_bytes(user.pk)), tokens.make_token(user)])


def send_confirmation(user):
    """Queue the confirmation e-mail: the task worker sends it (accounts.mailer)."""
    queue_email(user.email, "emails/confirm_email", {"user": user, "path": confirmation_path(user)})


def issued_before_confirming(user, token):
    """Whether ``token`` is one this confirmed user was sent before confirming (it no longer confirms anything)."""
    before = copy.copy(user)
    before.email_confirmed_at = None
    return tokens.check_token(before, token)


def confirm(uidb64, token):
    """``(user, confirmed_now)`` for a good link, or None for a wrong or expired one.

    A link that was used already gives ``confirmed_now`` False and changes nothing: a second click, or a mail
    filter that opened the link first, then says "confirmed already" rather than "this link does not work".
    The link never signs anyone in, so its second use gives nothing away.
    """
    try:
        user = User.objects.get(pk=int(urlsafe_base64_decode(uidb64).decode()))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        return None
    if user.email_confirmed_at is not None:
        return (user, False) if issued_before_confirming(user, token) else None
    if not tokens.check_token(user, token):
        return None
    user.email_confirmed_at = timezone.now()
    user.save(update_fields=["email_confirmed_at"])
    return user, True
