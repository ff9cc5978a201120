from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from . import services
from .forms import UploadForm
from .models import Assessment
from .scans import ScanRejected


@login_required
def history(request):
    assessments = Assessment.objects.for_user(request.user)
    return render(request, "assessments/history.html", {"assessments": assessments})


@login_required
def new(request):
    patient = services.patient_of(request.user)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            assessment = services.create_assessment(patient, form.cleaned_data["scan"].read())
        except ScanRejected as rejected:
            form.add_error("scan", rejected.message)
        else:
            return redirect(assessment)
    status = 400 if form.errors else 200
    return render(request, "assessments/new.html", {"form": form}, status=status)


@login_required
def detail(request, pk):
    assessment = services.get_visible_assessment(request.user, pk)
    return render(request, "assessments/detail.html", {"assessment": assessment})


@require_GET
@login_required
def scan_file(request, pk, kind):
    """Scans and overlays are private: served only after the same check as the assessment page."""
    assessment = services.get_visible_assessment(request.user, pk)
    stored = {"scan": assessment.scan, "overlay": assessment.overlay}[kind]
    if not stored:
        raise Http404("No such image.")
    response = FileResponse(stored.open("rb"), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response
