""""Who viewed my data", as a patient reads it: one line per look at a result, its images folded in.

Opening a result page also fetches its scan, heatmap and slice images, each a read in the audit log (and the
list of results fetches one thumbnail per result). Listed entry by entry, five uploads made five pages of
thumbnails. Here an image read by the same person within FOLD_WINDOW of their opening that result's page is
part of that look; images read without a page (the list's thumbnails) fold into one line per person and
sitting. Every other read (the timeline, a report, the API...) is a line of its own. The log itself is
unchanged: this only groups what it holds.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from assessments.models import Assessment
from audit.models import SHARING_ACTIONS, AuditAction, AuditEntry

FOLD_WINDOW = timedelta(minutes=10)
IMAGE_READS = {AuditAction.SCAN_IMAGE, AuditAction.OVERLAY_IMAGE, AuditAction.SLICE_IMAGE, AuditAction.CLASS_MAP,
               AuditAction.VOLUME}


@dataclass
class Look:
    """One line: who, when (the first read), what, which results, and how many images came with it."""

    first: AuditEntry
    last_at: object
    what: str
    assessment_ids: list = field(default_factory=list)
    images: int = 0
    results: list = field(default_factory=list)  # filled in by ``name_results``

    @property
    def at(self):
        return self.first.at

    @property
    def action(self):
        return self.first.action

    @property
    def actor(self):
        return self.first.actor

    @property
    def address(self):
        return self.first.address

    @property
    def images_note(self):
        """How many images came with the look, in words ('' for none)."""
        if self.first.action in IMAGE_READS:
            return f" ({self.images} images)" if self.images > 1 else ""
        return f" (and {self.images} image{'s' if self.images != 1 else ''})" if self.images else ""

    def take(self, entry):
        self.images += 1
        self.last_at = entry.at
        if entry.assessment_id and entry.assessment_id not in self.assessment_ids:
            self.assessment_ids.append(entry.assessment_id)


def looks_at(patient):
    """The patient's data reads as Look lines, newest first."""
    entries = AuditEntry.objects.filter(patient=patient).exclude(action__in=SHARING_ACTIONS).select_related("actor")
    looks, open_looks = [], {}
    for entry in entries.order_by("at", "pk"):
        if entry.action in IMAGE_READS:
            look = joined(open_looks, entry)
            if look is not None:
                look.take(entry)
                continue
            look = Look(first=entry, last_at=entry.at, what="images of results, such as the list's thumbnails")
            look.take(entry)
            open_looks[(entry.actor_id, None)] = look
        else:
            look = Look(first=entry, last_at=entry.at, what=entry.get_action_display(),
                        assessment_ids=[entry.assessment_id] if entry.assessment_id else [])
            if entry.action == AuditAction.RESULT_PAGE:
                open_looks[(entry.actor_id, entry.assessment_id)] = look
        looks.append(look)
    looks.reverse()
    return looks


def joined(open_looks, entry):
    """The look an image read belongs to: its result's page just opened, else a run of thumbnails; or None."""
    for key in ((entry.actor_id, entry.assessment_id), (entry.actor_id, None)):
        look = open_looks.get(key)
        if look is not None and entry.at - look.last_at <= FOLD_WINDOW:
            return look
    return None


def name_results(looks, patient):
    """Give each look ``results``: "the result of <scan day>" for each of its assessments (that still exists)."""
    wanted = {pk for look in looks for pk in look.assessment_ids}
    days = {one.pk: one.scan_day for one in Assessment.objects.filter(patient=patient, pk__in=wanted)
            .only("pk", "scan_date", "created_at")}
    for look in looks:
        look.results = [(pk, days.get(pk)) for pk in look.assessment_ids]
    return looks
