"""Doctors' reviews of assessments: who may write one, what a patient is shown of it, and the agreement page."""

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from assessments.review_statistics import agreement

from .models import CANNOT_TELL, Review

# What a doctor's form changes in a review (the rest is set when it is first saved).
EDITABLE = ["agrees", "grade", "note", "share_note", "updated_at"]


def save_review(review, user):
    """Save ``review`` as ``user``'s: a new one becomes theirs, an existing one only its author may change."""
    if review.pk is None:
        review.author = user
        try:
            with transaction.atomic():
                review.save()
            return review
        except IntegrityError:
            # Two forms for the same assessment sent at once (two tabs, a double click): the second finds the
            # first's review saved and changes it, as if it had been sent from the page that shows it.
            review.pk = Review.objects.get(assessment_id=review.assessment_id, author=user).pk
            review.save(update_fields=EDITABLE)
            return review
    if review.author_id != user.pk:
        raise PermissionDenied("Only the doctor who wrote a review can change it.")
    review.save()
    return review


def patient_json(review):
    """What a patient is told of a review, on the page, through the API and in their export."""
    return {
        "reviewer": review.reviewer_name,
        "reviewed_at": review.created_at.isoformat(),
        "note": review.shared_note or None,
    }


def agreement_for(user):
    """Model against doctor over the reviews of the assessments ``user`` may open (all of them for a superuser)."""
    pairs = Review.objects.visible_to(user).values_list("assessment__prediction", "grade")
    return agreement(pairs, CANNOT_TELL)
