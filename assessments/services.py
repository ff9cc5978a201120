"""What the views and the API share besides the upload itself (that is :mod:`.intake`): the model in use and
the one ownership check (who is a patient is ``accounts.roles``)."""

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import Http404
from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

from accounts.confirmation import require_confirmed
from accounts.roles import acting_patient
from mri import headline as headlines
from mri.inference.engine import get_engine

from .models import Assessment
from .sweeper import queue_age_seconds

logger = logging.getLogger(__name__)


def current_engine():
    """The process-wide model, loaded at first use (wsgi.py loads it at start)."""
    return get_engine(settings.ALZAWARE_MODEL_PATH)


def track_records(assessment):
    """What the result page and its PDF quote of how the model that made ``assessment`` did on people it never
    saw, from one look-up: ``{"track_record": its checkpoint's cross-validated figures, "headline_record": how
    often this headline was right (mri.headline.TrackRecord)}``.

    Both None for an untrained model or an assessment made by an earlier model than the one loaded now; each None
    for a checkpoint without those figures.
    """
    engine = engine_that_made(assessment)
    if engine is None:
        return {"track_record": None, "headline_record": None}
    return {"track_record": engine.metadata.get("cross_validation"),
            "headline_record": headlines.track_record(assessment.headline, engine.checkpoint)}


def headline_track_record(assessment):
    """How often ``assessment``'s headline was right on people the model never saw (mri.headline.TrackRecord),
    or None, on the same terms as :func:`track_records`."""
    engine = engine_that_made(assessment)
    return headlines.track_record(assessment.headline, engine.checkpoint) if engine else None


def engine_that_made(assessment):
    """The loaded engine when it is trained and its model made ``assessment``: only then are its own figures
    about this result."""
    engine = current_engine()
    return engine if engine.trained and assessment.model_sha256 == engine.sha256 else None


def model_card_html():
    """MODEL_CARD.md as HTML. The file is ours, in the repository, so its HTML is trusted as it is."""
    text = (settings.BASE_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    # CommonMark (with tables), so that code blocks inside list items render as the card's author meant.
    return mark_safe(MarkdownIt("commonmark").enable("table").render(text))


def uploader_of(user):
    """The patient who may upload now: a patient (else 403) whose e-mail address is confirmed (else
    EmailUnconfirmed)."""
    patient = acting_patient(user)
    require_confirmed(user)
    return patient


def get_visible_assessment(user, pk):
    """The one ownership check for assessments: anyone not allowed to see it gets a 404."""
    try:
        return Assessment.objects.visible_to(user).select_related("patient__user").get(pk=pk)
    except (Assessment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such assessment.") from None


def health():
    """``(healthy, details)``: can this process answer an upload now? Details name parts, never data."""
    details = {"database": "ok", "model": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("Health check: the database does not answer")
        details["database"] = "unavailable"
    try:
        details["task_queue_age_seconds"] = queue_age_seconds()
    except DatabaseError:
        logger.exception("Health check: the task queue cannot be read")
    try:
        engine = current_engine()
    except Exception:
        logger.exception("Health check: the model cannot be loaded")
        details["model"] = "unavailable"
    else:
        details["engine"] = engine.backend_name
    return all(details[part] == "ok" for part in ("database", "model")), details
