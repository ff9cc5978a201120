"""Work done after the response, so that a patient waits only for the result they see.

The faithfulness score runs the network four more times; it is queued in the
same transaction as the assessment (so a stored result always has its task, and
a refused one none) and run by ``manage.py db_worker``. Whatever happens here,
the stored result is never touched: at worst the score is marked as failed.

A volume's 3-D heatmap runs the network on every level of its band (seconds for a 1 mm volume): drawn here
from the band the upload kept (``pending_band``), which is then deleted. The result page shows the grade
at once, and the viewer once the volume files are stored.
"""

import logging

from django.core.files.base import ContentFile
from django_tasks import task

from assessments.presentation.heatmaps import stored_gray
from mri import CLASSES

from .models import Assessment, FaithfulnessCheck, random_name
from .services import current_engine
from .volumes import band_from_npz, volume_files

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
    result = engine.faithfulness(engine.analyse(gray))
    return None if result is None else float(result.score)


@task()
def draw_volume_heatmap(assessment_pk):
    """A volume's scan and heatmap as NIfTI files on its own grid, from its kept band; the band is then deleted.

    Without them (logged) when the model changed since, or drawing fails: the page then says the 3-D view could
    not be made, and the result stands.
    """
    assessment = Assessment.objects.filter(pk=assessment_pk).exclude(pending_band="").first()
    if assessment is None:
        return False  # deleted since, or already drawn
    try:
        files = volume_files_of(assessment)
    finally:
        band = assessment.pending_band.name
        Assessment.objects.filter(pk=assessment_pk).update(pending_band="")
        assessment.pending_band.storage.delete(band)
    if files is None:
        return False
    storage = assessment.scan_volume.storage
    names = [storage.save(random_name(folder, ".nii.gz"), ContentFile(data))
             for folder, data in zip(("scans", "heatmaps"), files)]
    if not Assessment.objects.filter(pk=assessment_pk).update(scan_volume=names[0], heatmap_volume=names[1]):
        for name in names:  # the assessment was deleted meanwhile
            storage.delete(name)
        return False
    return True


def volume_files_of(assessment):
    """``(scan bytes, heatmap bytes)`` of the assessment's kept band, or None (logged)."""
    engine = current_engine()
    if assessment.model_sha256 != engine.sha256:
        logger.warning("Assessment %s was made by another model; its 3-D heatmap is not drawn", assessment.pk)
        return None
    try:
        with assessment.pending_band.open("rb") as stored:
            band = band_from_npz(stored.read())
        return volume_files(engine, band, CLASSES.index(assessment.prediction))
    except Exception:
        logger.exception("The heatmap volume of assessment %s failed; keeping the assessment without it",
                         assessment.pk)
        return None
