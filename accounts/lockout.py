"""How django-axes names an account and answers a locked-out client (settings.AXES_*)."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

LOCKED_OUT = "too_many_attempts"


def username_of(request, credentials):
    """The e-mail address tried, lower-cased as accounts store it, so that "Ada@" and "ada@" count as one."""
    # Django's login forms and authenticate() call it "username", whatever the user model's field is.
    data = credentials or getattr(request, "POST", {}) or {}
    name = data.get("username") or data.get("email") or ""
    return str(name).strip().lower() or None


def minutes_locked():
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def lockout_response(request, original_response=None, credentials=None):
    """429 for too many wrong passwords: the API's error shape for the API, a plain page for people."""
    detail = (f"Too many wrong passwords. Please wait {minutes_locked()} minutes and try again, "
              "or reset your password.")
    if request.path.startswith("/api/"):
        return JsonResponse({"error": LOCKED_OUT, "detail": detail}, status=429)
    return render(request, "registration/locked_out.html", {"minutes": minutes_locked()}, status=429)
