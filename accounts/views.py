from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .forms import PreferencesForm, SignupForm
from .tokens import revoke_tokens


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("assessments:new")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def preferences(request):
    """A patient's settings: the colour map of their heatmaps."""
    patient = getattr(request.user, "patient", None)
    if patient is None:
        raise Http404("Only patients have these settings.")
    form = PreferencesForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your settings are saved.")
        return redirect("preferences")
    return render(request, "registration/preferences.html", {"form": form})


@require_POST
@login_required
def sign_out_of_api(request):
    """Revoke every API token of this account: programs using one must sign in again."""
    revoke_tokens(request.user)
    messages.success(request, "Programs using your API token are signed out. They must sign in again.")
    return redirect("preferences" if getattr(request.user, "patient", None) else "home")
