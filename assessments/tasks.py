"""Work done after the response, so that a patient waits only for the result they see.

The faithfulness score runs the network four more times; it is queued in the
same transaction as the assessment (so a stored result always has its task, and
a refused one none) and run by ``manage.py db_worker``. Whatever happens here,
the stored result is never touched: at worst the score is marked as failed.
"""

import logging

from django_tasks import task

from assessments.presentation.heatmaps import stored_gray

from .models import Assessment, FaithfulnessCheck
from .services import current_engine

logger = logging.getLogger(__name__)


@task()
def score_faithfulness(assessment_pk):
    """The faithfulness score of an assessment's heatmap, from its stored slice (re-analysed: same input, same maps)."""
    assessment = Assessment.objects.filter(pk=assessment_pk, faithfulness_check=FaithfulnessCheck.PENDING).first()
    if assessment is None:
        return None  # deleted since, or already scored
    score = None
    try:
        score = faithfulness_of_stored(assessment)
    finally:
        check = FaithfulnessCheck.FAILED if score is None else FaithfulnessCheck.DONE
        Assessment.objects.filter(pk=assessment_pk).update(faithfulness=score, faithfulness_check=check)
    return score


def faithfulness_of_stored(assessment):
    engine = current_engine()
    if assessment.model_sha256 != engine.sha256:
        logger.warning("Assessment %s was made by another model; its faithfulness is not scored", assessment.pk)
        return None
    gray = stored_gray(assessment)
    if gray is None:
        logger.error("The stored scan of assessment %s cannot be decoded; its faithfulness is not scored",
                     assessment.pk)
        return None
    result = engine.faithfulness(engine.analyze(gray))
    return None if result is None else float(result.score)
