from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found

from accounts.confirmation import EmailUnconfirmed
from accounts.roles import acting_patient
from accounts.tokens import login_or_token_required
from assessments import intake, services
from assessments.presentation import heatmaps, measures, reports, timeline
from audit import trail
from audit.models import AuditAction
from mri import CLASSES
from mri.explain.overlay import COLOUR_MAPS
from mri.io import ScanRejected
from mri.io.errors import error_body

from .access import open_assessment
from .forms import UploadForm, upload_contents
from .models import Assessment


@login_required
def history(request):
    assessments = Assessment.objects.for_user(request.user).by_scan_date().prefetch_related("reviews__author")
    return render(request, "assessments/history.html", {"assessments": assessments})


@login_required
def timeline_view(request):
    patient = acting_patient(request.user, "keep a timeline of their results")
    trail.record(request, AuditAction.TIMELINE, patient.pk)
    return render(request, "assessments/timeline.html", timeline.timeline_page(patient, request.GET))


@login_required
def new(request):
    try:
        patient = services.uploader_of(request.user)
    except EmailUnconfirmed:
        return redirect("confirm_email_sent")
    # Bound on any POST: one with no file at all must say so, not show the empty form again.
    posted = request.method == "POST"
    form = UploadForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        try:
            assessment = intake.assess_upload(patient, upload_contents(form.cleaned_data["scan"]),
                                              form.cleaned_data["scan_date"])
        except ScanRejected as rejected:
            form.add_error("scan", rejected.message)
        else:
            if request.headers.get("X-Requested-With") == "XMLHttpRequest":
                # The upload page's script (static/js/upload-progress.js) goes there itself: one page load.
                return JsonResponse({"location": assessment.get_absolute_url()})
            return redirect(assessment)
    status = 400 if form.errors else 200
    return render(request, "assessments/new.html", {"form": form}, status=status)


@login_required
def detail(request, pk):
    assessment = open_assessment(request, pk, AuditAction.RESULT_PAGE)
    return render(request, "assessments/detail.html",
                  {"assessment": assessment, **services.track_records(assessment),
                   **heatmaps.explanation_choice(assessment, request.GET), **measures.page_context(assessment)})


@require_GET
@login_required
def volume_state(request, pk):
    """Whether a volume's 3-D heatmap and slice images are ready (the result page asks while it waits). Not a read
    of the data: only the state of a background task, after the same access check."""
    assessment = services.get_visible_assessment(request.user, pk)
    return JsonResponse({"ready": bool(assessment.heatmap_volume), "pending": assessment.volume_pending,
                         "slice_images_pending": assessment.slice_images_pending})


def private_png(stored):
    """A stored image (never cached: alzaware.middleware.private_by_default); 404 when there is none."""
    if not stored:
        raise Http404("No such image.")
    return FileResponse(stored.open("rb"), content_type="image/png")


IMAGE_READS = {"scan": AuditAction.SCAN_IMAGE, "overlay": AuditAction.OVERLAY_IMAGE}


@require_GET
@login_or_token_required
def scan_file(request, pk, kind):
    """Scans and overlays are private: served only after the same check as the assessment page."""
    assessment = open_assessment(request, pk, IMAGE_READS[kind])
    return private_png({"scan": assessment.scan, "overlay": assessment.overlay}[kind])


@require_GET
@login_or_token_required
def volume_file(request, pk, kind):
    """A volume's scan or heatmap as NIfTI (the 3-D viewer loads both): the same check as the assessment."""
    assessment = open_assessment(request, pk, AuditAction.VOLUME)
    stored = {"scan": assessment.scan_volume, "heatmap": assessment.heatmap_volume}[kind]
    if not stored:
        raise Http404("No volume is stored for this assessment.")
    # As a file: a gzip Content-Encoding would have the browser inflate it before the viewer reads it.
    return FileResponse(stored.open("rb"), content_type="application/octet-stream", as_attachment=True,
                        filename=f"{kind}.nii.gz")


@require_GET
@login_or_token_required
def slice_file(request, pk, position, kind):
    """One slice of a volume: the same access check as its assessment, then the slice's own image."""
    assessment = open_assessment(request, pk, AuditAction.SLICE_IMAGE)
    one = assessment.slices.filter(position=position).first()
    return private_png({"scan": one.scan, "overlay": one.overlay}[kind] if one else None)


def pdf_response(pdf, filename):
    """A report to download (private like every answer). The file name carries a date, never a name."""
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@login_required
def assessment_report(request, pk):
    """One assessment as a PDF, after the same check as its page."""
    assessment = open_assessment(request, pk, AuditAction.REPORT)
    return pdf_response(reports.assessment_pdf(assessment, **services.track_records(assessment)),
                        f"alzaware-result-{assessment.created_at:%Y-%m-%d}.pdf")


@require_GET
@login_required
def history_report(request):
    """The patient's own history with the timeline chart, as a PDF."""
    patient = acting_patient(request.user, "keep a timeline of their results")
    trail.record(request, AuditAction.REPORT, patient.pk)
    return pdf_response(reports.history_pdf(patient, Assessment.objects.for_user(request.user)
                                                 .prefetch_related("reviews__author")),
                        "alzaware-results.pdf")


@require_GET
@login_or_token_required
def class_overlay(request, pk, class_index, colour_map):
    """Any class's map in any colour map, drawn from the stored maps after the same access check."""
    if colour_map not in COLOUR_MAPS or class_index >= len(CLASSES):
        raise Http404("No such map.")
    assessment = open_assessment(request, pk, AuditAction.CLASS_MAP)
    png = heatmaps.render_class_overlay(assessment, class_index, colour_map,
                                        absolute=request.GET.get("scale") == "absolute")
    if png is None:
        raise Http404("No maps are stored for this assessment.")
    return HttpResponse(png, content_type="image/png")


@require_GET
@login_required
def colour_bar(request, colour_map):
    if colour_map not in COLOUR_MAPS:
        raise Http404("No such colour map.")
    response = HttpResponse(heatmaps.colour_bar_png(colour_map), content_type="image/png")
    # The same picture for everyone, and no patient data in it.
    response["Cache-Control"] = "max-age=86400"
    return response


@require_GET
def model_card(request):
    """The model card, so that anyone reading a result can check what the model was measured to do."""
    return render(request, "assessments/model_card.html", {"card": services.model_card_html()})


@require_GET
def healthz(request):
    """For load balancers and orchestrators: 200 when an upload could be analysed now, else 503. No login."""
    healthy, details = services.health()
    response = JsonResponse({"status": "ok" if healthy else "unavailable", **details}, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response


def not_found(request, exception):
    """Django's 404 page, except under /api/, where programs get the API's one error shape."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", "There is nothing at this address."), status=404)
    return page_not_found(request, exception)
