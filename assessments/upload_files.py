"""The one write path of an upload's files: the request's (:mod:`.intake`) and the task worker's that follow
(:mod:`.tasks`) both store through :class:`UploadFiles`.

Files are always written before the row that names them: whatever stops in between (an exception here, a kill
anywhere) leaves files that no row owns, deleted at once by :class:`UploadFiles` or, after a kill, by the
sweep (:mod:`.sweeper`) once ORPHAN_GRACE_SECONDS have passed.
"""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from mri.explain.overlay import png_bytes

from .models import random_name

SCANS = "scans"
HEATMAPS = "heatmaps"
PENDING = "pending"


class UploadFiles:
    """Every file one step of an upload stores, so that they can all be removed together.

    Used as a context manager: leaving it by any exception (BaseException too: an
    interrupted request must not leave orphans) deletes what it stored.
    """

    def __init__(self):
        self.names = []

    def save(self, folder, suffix, content):
        name = default_storage.save(random_name(folder, suffix), ContentFile(content))
        self.names.append(name)
        return name

    def save_scan(self, gray):
        return self.save(SCANS, ".png", png_bytes(gray))

    def delete_all(self):
        for name in self.names:
            default_storage.delete(name)
        self.names = []

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is not None:
            self.delete_all()
