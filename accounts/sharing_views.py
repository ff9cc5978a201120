"""Who sees a patient's results (accounts.invitations), and who is e-mailed when something happens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import invitations
from .forms import NotificationsForm
from .roles import own_patient
from .sharing_forms import CodeForm, InviteForm


@login_required
def sharing(request):
    """The patient's doctors, with a way to withdraw each, to invite one by e-mail, or to enter a doctor's code."""
    patient = own_patient(request.user)
    invite_form = InviteForm(request.POST if "invite-email" in request.POST else None, prefix="invite")
    code_form = CodeForm(request.POST if "code-code" in request.POST else None, prefix="code")
    if request.method == "POST":
        if done := act_on(request, patient, invite_form, code_form):
            messages.success(request, done)
            return redirect("sharing")
    context = {
        "doctors": invitations.doctors_of(patient),
        "pending": patient.invitations.open(),
        "history": invitations.sharing_history(patient, request.user),
        "invite_form": invite_form,
        "code_form": code_form,
    }
    errors = invite_form.errors or code_form.errors
    return render(request, "accounts/sharing.html", context, status=400 if errors else 200)


def act_on(request, patient, invite_form, code_form):
    """What the posted form did, in words; '' when it was not valid (its errors are shown)."""
    if invite_form.is_bound and invite_form.is_valid():
        invitation = invitations.invite(request, patient, invite_form.cleaned_data["email"])
        return f"We sent an invitation to {invitation.email}."
    if code_form.is_bound and code_form.is_valid():
        try:
            doctor = invitations.share_by_code(request, patient, code_form.cleaned_data["code"])
        except ValidationError as error:
            code_form.add_error("code", error)
            return ""
        return f"{doctor.professional_name} can now see your results."
    return ""


@require_POST
@login_required
def withdraw(request, doctor_id):
    doctor = invitations.withdraw(request, own_patient(request.user), doctor_id)
    messages.success(request, f"{doctor.professional_name} can no longer see your results.")
    return redirect("sharing")


@require_POST
@login_required
def cancel_invitation(request, invitation_id):
    invitation = invitations.cancel(request, own_patient(request.user), invitation_id)
    messages.success(request, f"The invitation to {invitation.email} is withdrawn.")
    return redirect("sharing")


@login_required
def accept(request, token):
    """A doctor opens an invitation's link: what it is, then a button to accept it."""
    invitation = invitations.open_invitation(token)
    if not request.user.is_doctor:
        raise PermissionDenied("Only a doctor's account can accept an invitation.")
    if request.method == "POST":
        invitations.accept(request, token)
        messages.success(request, f"You can now see the results of {invitation.patient}.")
        return redirect("doctor_sharing")
    return render(request, "accounts/accept_invitation.html", {"invitation": invitation})


@login_required
def doctor_sharing(request):
    """A doctor's code to give patients, and their patients."""
    if not request.user.is_doctor:
        raise PermissionDenied("Only doctors have a sharing code.")
    return render(request, "accounts/doctor_sharing.html", {
        "code": invitations.code_of(request.user), "patients": request.user.patients.select_related("user")})


@login_required
def notifications(request):
    """Anyone, patient or doctor, turns the site's e-mails on or off."""
    # An unticked box sends nothing: the form is bound on any POST, not only a non-empty one.
    form = NotificationsForm(request.POST if request.method == "POST" else None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your choice is saved.")
        return redirect("notifications")
    return render(request, "accounts/notifications.html", {"form": form})
