from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LogoutView
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from assessments.export import export_zip
from audit import trail
from audit.models import AuditAction

from .data_rights import delete_account
from .forms import DeleteAccountForm, PreferencesForm, SignupForm
from .roles import own_patient
from .signup import SIGNED_UP_EMAIL, sign_up
from .tokens import revoke_tokens
from .view_log import looks_at, name_results

# How many reads of their data a patient sees on one page of their account.
VIEWS_PER_PAGE = 50


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        sign_up(form)
        # The same answer for a new address and one that has an account (accounts.signup): no one is logged in,
        # and the page names the address typed, so that a mistake in it can be seen.
        request.session[SIGNED_UP_EMAIL] = form.cleaned_data["email"]
        return redirect("confirm_email_sent")
    return render(request, "registration/signup.html", {"form": form})


class LogOut(LogoutView):
    """Django's log-out, then a word on the login page so that the patient knows it worked."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.success(request, "You have logged out. Thank you for using AlzAware. Programs using your API "
                                  "token stay signed in until it expires or you sign them out on your account page.")
        return response


@login_required
def preferences(request):
    """A patient's account: the colour map of their heatmaps, their data, and who has looked at it."""
    patient = own_patient(request.user)
    form = PreferencesForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your settings are saved.")
        return redirect("preferences")
    page = Paginator(looks_at(patient), VIEWS_PER_PAGE).get_page(request.GET.get("page"))
    views = [(look, trail.viewer_name(look.first, request.user)) for look in name_results(list(page), patient)]
    return render(request, "registration/preferences.html", {"form": form, "page": page, "views": views})


@login_required
def export(request):
    """Everything we hold about the patient, as a ZIP they can keep."""
    patient = own_patient(request.user)
    trail.record(request, AuditAction.EXPORT, patient.pk)
    response = HttpResponse(export_zip(patient), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="alzaware-my-data.zip"'
    return response


@login_required
def delete(request):
    """Closing the account, after the password: the account, every assessment and every stored file go."""
    form = DeleteAccountForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        delete_account(request.user)
        logout(request)
        return render(request, "registration/account_deleted.html")
    return render(request, "registration/delete_account.html", {"form": form}, status=400 if form.errors else 200)


@require_POST
@login_required
def sign_out_of_api(request):
    """Revoke every API token of this account: programs using one must sign in again."""
    revoke_tokens(request.user)
    messages.success(request, "Programs using your API token are signed out. They must sign in again.")
    return redirect("preferences" if getattr(request.user, "patient", None) else "home")
