"""Sign-up that tells no one whether an e-mail address already has an account.

A form that said "this address already exists" let anyone test whether a person uses AlzAware, which for a
memory clinic's app says something about their health. So a valid sign-up gets the same answer either way
(the same redirect to "check your e-mail"), and the e-mail says the rest, to the address's owner only:
- a new address gets its account and the confirmation link (accounts.confirmation);
- an address that has an account gets no second one; its owner is told that someone tried, and how to log in
  or reset the password if it was them, at most once in mailer.QUIET_TIME: sign-up is limited per client
  address, so without it anyone with many addresses could fill a person's inbox with these notes.
Both paths hash the password once, the slow part of either, so that the answer's time does not tell either.
"""

from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import IntegrityError, transaction

from .confirmation import send_confirmation
from .mailer import QUIET_TIME, queue_email
from .models import User

# The session's note of the address just signed up with, for the "check your e-mail" page.
SIGNED_UP_EMAIL = "signed_up_email"


def sign_up(form):
    """Act on a valid :class:`accounts.forms.SignupForm`; the caller answers the same whatever happened."""
    owner = User.objects.filter(email__iexact=form.cleaned_data["email"]).first()
    if owner is None:
        try:
            with transaction.atomic():
                send_confirmation(form.save())
            return
        except IntegrityError:  # the same address signed up by another request a moment ago
            owner = User.objects.get(email__iexact=form.cleaned_data["email"])
    # The hash is thrown away: it only costs the time that making the account would have cost.
    make_password(form.cleaned_data["password1"])
    # In the shared cache, as the request rates are, not as an EmailNotice (those are about a patient, kept by the
    # worker): add() is one atomic step in the request, and its mark expires by itself when the time is over.
    if cache.add(f"signup-owner-told:{owner.pk}", True, timeout=QUIET_TIME.total_seconds()):
        queue_email(owner.email, "emails/account_exists", {"user": owner})
