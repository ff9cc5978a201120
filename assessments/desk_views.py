"""The doctor's desk in the admin: the worklist, the review of one assessment, and the agreement statistics.

Wrapped by the admin site (alzaware.admin_site), which makes them staff-only; each view checks the rest.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from audit.models import AuditAction
from mri import CLASSES

from . import review_page, reviews, worklist
from .access import open_assessment
from .desk_forms import AgreementFilters, ReviewForm, WorklistFilters
from .models import CANNOT_TELL, Assessment
from .review_statistics import BOOTSTRAP_RESAMPLES

# The worklist shows this many of the oldest cases; "Save and next" walks them all.
WORKLIST_LENGTH = 200


def desk_page(request, template, title, status=200, **context):
    return render(request, template, {**admin.site.each_context(request), "title": title, **context}, status=status)


def worklist_page(request):
    """The doctor's home: their patients' assessments nobody has reviewed yet, oldest first."""
    filters_form = WorklistFilters(request.user, request.GET or None)
    filters = filters_form.filters()
    found = worklist.cases(request.user, **filters)
    rows = [worklist.row(one) for one in found[:WORKLIST_LENGTH]]
    return desk_page(request, "admin/desk/worklist.html", "Worklist", filters_form=filters_form, rows=rows,
                     total=found.count() if len(rows) == WORKLIST_LENGTH else len(rows),
                     query=worklist.query_string(filters))


def review_url(assessment, query):
    url = reverse("admin:assessments_assessment_change", args=[assessment.pk])
    return f"{url}?{query}" if query else url


def after_saving(request, assessment, filters, query):
    """Where "Save" and "Save and next" lead: this case again, the worklist's next one, or the worklist."""
    if "_next" not in request.POST:
        return redirect(review_url(assessment, query))
    following = worklist.next_case(request.user, assessment, **filters)
    if following is None:
        messages.info(request, "That was the last case in your worklist.")
        url = reverse("admin:worklist")
        return redirect(f"{url}?{query}" if query else url)
    return redirect(review_url(following, query))


def review_assessment(request, pk):
    """One assessment as a doctor reviews it; any other staff member sees it without the form."""
    assessment = open_assessment(request, pk, AuditAction.ADMIN_ASSESSMENT)
    filters = WorklistFilters(request.user, request.GET or None).filters()
    query = worklist.query_string(filters)
    form = None
    if request.user.is_doctor:
        form = ReviewForm(request.POST or None, instance=reviews.review_of(assessment, request.user))
    elif request.method == "POST":
        raise PermissionDenied("Only doctors review assessments.")
    if request.method == "POST" and form.is_valid():
        reviews.save_review(form.save(commit=False), request.user, request)
        messages.success(request, "Review saved")
        return after_saving(request, assessment, filters, query)
    return desk_page(request, "admin/desk/review.html", f"Review: {assessment.patient}", form=form, query=query,
                     worklist_url=reverse("admin:worklist") + (f"?{query}" if query else ""),
                     status=400 if form is not None and form.errors else 200,
                     **review_page.review_context(assessment))


def agreement_page(request):
    """How the model's grades compare with the doctors' reviews that ``request.user`` may count."""
    filters_form = AgreementFilters(request.user, request.GET or None)
    filters = filters_form.filters()
    query = worklist.query_string(filters)
    return desk_page(request, "admin/desk/agreement.html", "Agreement between the program and the doctors",
                     filters_form=filters_form, query=query, agreement=reviews.agreement_for(request.user, **filters),
                     resamples=BOOTSTRAP_RESAMPLES)


def agreement_cases(request):
    """The reviews behind one cell of the confusion table."""
    model_grade, doctor_grade = request.GET.get("model"), request.GET.get("doctor_grade")
    if model_grade not in CLASSES or doctor_grade not in (*CLASSES, CANNOT_TELL):
        raise Http404("No such cell.")
    filters_form = AgreementFilters(request.user, request.GET)
    filters = filters_form.filters()
    found = list(reviews.cases_of(request.user, model_grade, doctor_grade, **filters))
    # A doctor's own review stays counted after the patient moved to another doctor: listed, not linked.
    linked = Assessment.objects.visible_to(request.user).filter(pk__in=[one.assessment_id for one in found])
    return desk_page(request, "admin/desk/agreement_cases.html", f"Program: {model_grade}; doctor: {doctor_grade}",
                     cases=found, linked=set(linked.values_list("pk", flat=True)),
                     back=reverse("admin:agreement") + "?" + worklist.query_string(filters))
