"""Request rates per e-mail address and per client address, with DRF's throttles (rates in settings).

The API's views name them in ``throttle_classes``; the password-reset form, a plain Django view, goes
through :func:`throttled`.
"""

import contextlib
import fcntl
import hashlib
import math
import tempfile
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.shortcuts import render
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

from .addresses import client_address


@contextlib.contextmanager
def one_count_at_a_time():
    """An exclusive lock, for every process of this machine, around a throttle's read-append-write of its history.

    DRF reads a client's request history from the cache, appends the request and writes it back: requests at
    once each read the same history and each write back one more, so that 70 predictions at once got 62 past a
    30/hour limit even with one shared cache (benchmarks/serve_under_faults.py predict). Serialised, exactly 30.
    The lock file sits beside the file cache (or in the temporary folder for another cache).
    """
    cache = settings.CACHES["default"]
    folder = Path(cache["LOCATION"]) if cache["BACKEND"].endswith("FileBasedCache") else Path(tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "alzaware-throttles.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class CountedOnce:
    """A throttle whose count cannot be raced (see :func:`one_count_at_a_time`)."""

    def allow_request(self, request, view):
        with one_count_at_a_time():
            return super().allow_request(request, view)


def submitted_email(request):
    data = getattr(request, "data", None) or request.POST
    return str(data.get("email") or data.get("username") or "").strip().lower()


class EmailRateThrottle(CountedOnce, SimpleRateThrottle):
    """Counts requests naming one e-mail address, whoever sends them."""

    def get_cache_key(self, request, view):
        email = submitted_email(request)
        if not email:
            return None
        # Hashed: the cache holds no e-mail addresses.
        return self.cache_format % {"scope": self.scope, "ident": hashlib.sha256(email.encode()).hexdigest()}


class AddressRateThrottle(CountedOnce, SimpleRateThrottle):
    """Counts requests from one client address (behind NUM_PROXIES trusted proxies)."""

    def get_ident(self, request):
        # The lockouts' rule (accounts.addresses), read from settings at each request.
        return client_address(request) or "unknown"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenEmailThrottle(EmailRateThrottle):
    scope = "token_email"


class TokenAddressThrottle(AddressRateThrottle):
    scope = "token_address"


class ResetEmailThrottle(EmailRateThrottle):
    scope = "reset_email"


class ResetAddressThrottle(AddressRateThrottle):
    scope = "reset_address"


class SignupAddressThrottle(AddressRateThrottle):
    """Sign-ups from one client address: accounts are not made by the hundred."""

    scope = "signup_address"


class PasswordCheckThrottle(CountedOnce, UserRateThrottle):
    """Forms of a signed-in account that check its password (change it, close the account): a borrowed,
    signed-in browser cannot guess it without limit."""

    scope = "password_check"


class PredictThrottle(CountedOnce, UserRateThrottle):
    """Per signed-in user: each call runs the network."""

    scope = "predict"


def throttled(*throttle_classes):
    """A Django view whose POSTs are limited by ``throttle_classes``: over a rate, HTTP 429 and a plain page."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method == "POST":
                for throttle in (cls() for cls in throttle_classes):
                    if not throttle.allow_request(request, None):
                        wait = int(throttle.wait() or 0) + 1
                        response = render(request, "registration/throttled.html",
                                          {"minutes": math.ceil(wait / 60)}, status=429)
                        response["Retry-After"] = str(wait)
                        return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
