"""Doctors' reviews of assessments: who may write one, what a patient is shown of it, and the agreement between
doctors and the model."""

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from audit import trail
from audit.models import AuditAction

from .models import CANNOT_TELL, Review
from .review_statistics import agreement


def review_of(assessment, user):
    """``user``'s own review of ``assessment``, or a new, undecided one (nothing chosen for them)."""
    return (Review.objects.filter(assessment=assessment, author=user).first()
            or Review(assessment=assessment, author=user))


# What a doctor's form changes in a review (the rest is set when it is first saved).
EDITABLE = ["verdict", "grade", "cannot_tell_reason", "model_grade", "source_format", "note", "sharing", "updated_at"]


def save_review(review, user, request=None):
    """Save ``review`` as ``user``'s: a new one becomes theirs, an existing one only its author may change.
    Only a doctor writes reviews; with ``request`` the save is written to the audit (who reviewed what)."""
    if not user.is_doctor:
        raise PermissionDenied("Only doctors review assessments.")
    if review.pk is None:
        review.author = user
    elif review.author_id != user.pk:
        raise PermissionDenied("Only the doctor who wrote a review can change it.")
    review.full_clean(exclude=["author"])
    with transaction.atomic():
        store(review, user)
        if request is not None:
            trail.record(request, AuditAction.REVIEW, review.assessment.patient_id, review.assessment_id)
    return review


def store(review, user):
    if review.pk is not None:
        review.save()
        return
    try:
        with transaction.atomic():
            review.save()
    except IntegrityError:
        # Two forms for the same assessment sent at once (two tabs, a double click): the second finds the
        # first's review saved and changes it, as if it had been sent from the page that shows it.
        review.pk = Review.objects.get(assessment_id=review.assessment_id, author=user).pk
        review.save(update_fields=EDITABLE)


def patient_json(review):
    """What a patient is told of a review, on the page, through the API and in their export."""
    return {
        "reviewer": review.reviewer_name,
        "reviewed_at": review.created_at.isoformat(),
        "verdict": review.verdict,
        "grade": review.grade,
        "cannot_tell_reason": review.get_cannot_tell_reason_display() if review.cannot_tell else None,
        "note": review.shared_note or None,
    }


def reviews_for_statistics(user, doctor=None, since=None, until=None, source_format=None):
    """The reviews ``user`` may count (a doctor's own stay counted after the patient left), filtered."""
    reviews = Review.objects.visible_to(user)
    if doctor is not None:
        reviews = reviews.filter(author=doctor)
    if since is not None:
        reviews = reviews.filter(created_at__date__gte=since)
    if until is not None:
        reviews = reviews.filter(created_at__date__lte=until)
    if source_format:
        reviews = reviews.filter(source_format=source_format)
    return reviews


def agreement_for(user, **filters):
    """Model against doctor over the reviews ``user`` may count (all of them for a superuser)."""
    return agreement(reviews_for_statistics(user, **filters).values_list("model_grade", "grade"), CANNOT_TELL)


def cases_of(user, model_grade, doctor_grade, **filters):
    """The reviews behind one cell of the confusion table, newest first, with what the list shows of each."""
    reviews = reviews_for_statistics(user, **filters).filter(model_grade=model_grade, grade=doctor_grade)
    return reviews.select_related("author", "assessment__patient__user").order_by("-created_at", "-pk")
