"""The pages around an account: the front door, the privacy notice and the e-mail confirmation."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .confirmation import confirm, send_confirmation
from .consent import PRIVACY_VERSION
from .signup import SIGNED_UP_EMAIL


def home_of(user):
    """Where a logged-in person starts: a patient's results, a doctor's or admin's review pages."""
    return "admin:index" if user.is_staff else settings.LOGIN_REDIRECT_URL


@require_GET
def front_door(request):
    """What AlzAware is, for a visitor; a logged-in person goes straight to their own start page."""
    if request.user.is_authenticated:
        return redirect(home_of(request.user))
    return render(request, "front_door.html")


@require_GET
def privacy(request):
    return render(request, "privacy.html", {"version": PRIVACY_VERSION})


def confirm_email_sent(request):
    """After sign-up ("check your e-mail", the same whether the address was new or had an account), or when an
    upload waits for the confirmation: then the link can be sent again."""
    if request.user.is_authenticated and request.user.email_confirmed_at is not None:
        return redirect("assessments:new")
    return render(request, "registration/confirm_email_sent.html",
                  {"signed_up_email": request.session.get(SIGNED_UP_EMAIL)})


@require_POST
@login_required
def resend_confirmation(request):
    if request.user.email_confirmed_at is None:
        send_confirmation(request.user)
        messages.success(request, f"We sent a new link to {request.user.email}.")
    return redirect("confirm_email_sent")


@require_GET
def confirm_email(request, uidb64, token):
    """Confirm the address, then log in (with the password chosen at sign-up) and send the first scan."""
    confirmed = confirm(uidb64, token)
    if confirmed is None:
        return render(request, "registration/confirm_email_failed.html", status=400)
    user, now = confirmed
    said = "Thank you: your e-mail address is confirmed." if now else "Your e-mail address is confirmed already."
    if request.user.is_authenticated and request.user.pk == user.pk:
        messages.success(request, said)
        return redirect("assessments:new")
    messages.success(request, f"{said} Now log in with your e-mail address and the password you chose. "
                              "Then you can send your first scan.")
    return redirect(f"{reverse('login')}?next={reverse('assessments:new')}")
