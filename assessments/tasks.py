"""Work done after the response, so that a patient waits only for the result they see.

The faithfulness score runs the network four more times; it is queued in the
same transaction as the assessment (so a stored result always has its task, and
a refused one none) and run by ``manage.py db_worker``. Whatever happens here,
the stored result is never touched: at worst the score is marked as failed.

A volume's slice images and 3-D heatmap (the latter runs the network on every level of its band: seconds for a
1 mm volume) are drawn here from the band and maps the upload kept (``pending_band``), which is then deleted.
The result page shows the grade at once, then the slice images and the viewer once they are stored.
"""

import logging

from django_tasks import task

from assessments.presentation.heatmaps import stored_gray
from mri import CLASSES
from mri.explain import explanations

from .models import Assessment, AssessmentSlice, FaithfulnessCheck
from .services import current_engine
from .upload_files import HEATMAPS, SCANS, UploadFiles
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
    """A volume's slice images (PNGs) and its scan and heatmap as NIfTI files on its own grid, from the band and
    maps its upload kept; the band is then deleted.

    The slice images come first (no model needed: the upload's own maps): the result page waits for them soonest.
    Whatever of it fails (logged), or the 3-D files when the model changed since, is left out: the page then says
    it could not be made, and the result stands.
    """
    assessment = Assessment.objects.filter(pk=assessment_pk).exclude(pending_band="").first()
    if assessment is None:
        return False  # deleted since, or already drawn
    try:
        kept = pending_of(assessment)
        if kept is not None:
            store_slice_images(assessment, *kept)
        files = None if kept is None else volume_files_of(assessment, *kept)
    finally:
        band = assessment.pending_band.name
        Assessment.objects.filter(pk=assessment_pk).update(pending_band="")
        assessment.pending_band.storage.delete(band)
    if files is None:
        return False
    with UploadFiles() as stored:
        names = [stored.save(folder, ".nii.gz", data) for folder, data in zip((SCANS, HEATMAPS), files)]
        if not Assessment.objects.filter(pk=assessment_pk).update(scan_volume=names[0], heatmap_volume=names[1]):
            stored.delete_all()  # the assessment was deleted meanwhile
            return False
    return True


def pending_of(assessment):
    """``(band, {position: StoredMaps})`` as the upload kept them, or None (logged)."""
    try:
        with assessment.pending_band.open("rb") as stored:
            return band_from_npz(stored.read())
    except Exception:
        logger.exception("The kept band of assessment %s cannot be read; its slice images and 3-D heatmap are "
                         "not drawn", assessment.pk)
        return None


def store_slice_images(assessment, band, maps):
    """Each slice still without its images gets its scan and, when analysed, the overlay of its own grade.

    A row is named its files only while it still has none: a second run, or an erasure meanwhile, leaves no file
    behind. A failure is logged and leaves the remaining slices without images: the page says so.
    """
    grays = dict(zip(band.positions, band.slices))
    try:
        for one in assessment.slices.filter(scan=""):
            with UploadFiles() as files:
                gray = grays[one.position]
                names = {"scan": files.save_scan(gray),
                         "overlay": slice_overlay(files, gray, maps.get(one.position), assessment)}
                if not AssessmentSlice.objects.filter(pk=one.pk, scan="").update(**names):
                    files.delete_all()
    except Exception:
        logger.exception("The slice images of assessment %s failed; keeping the assessment without them",
                         assessment.pk)


def slice_overlay(files, gray, stored, assessment):
    """The stored name of a slice's overlay, '' for one never analysed (no maps) or when drawing fails (logged)."""
    if stored is None:
        return ""
    try:
        overlay_png = explanations.overlay_png(gray, stored, colour_map=assessment.overlay_colour_map)
    except Exception:
        logger.exception("A slice's heatmap of assessment %s failed; keeping the slice without it", assessment.pk)
        return ""
    return files.save(HEATMAPS, ".png", overlay_png)


def volume_files_of(assessment, band, maps):
    """``(scan bytes, heatmap bytes)`` of the assessment's kept band, or None (logged)."""
    engine = current_engine()
    if assessment.model_sha256 != engine.sha256:
        logger.warning("Assessment %s was made by another model; its 3-D heatmap is not drawn", assessment.pk)
        return None
    try:
        # The chosen slices' maps are the upload's: only the band's other levels are analysed here.
        return volume_files(engine, band, CLASSES.index(assessment.prediction), known=maps)
    except Exception:
        logger.exception("The heatmap volume of assessment %s failed; keeping the assessment without it",
                         assessment.pk)
        return None
