"""Reading an uploaded file into grayscale slices, or refusing it with a reason a patient understands.

The format is decided by the file's content, never its name: each registered reader (:mod:`.registry`) is asked
in turn whether the bytes are its format. Every path ends in 8-bit 2-D slices that pass the same checks
(:mod:`.quality`); whether the content is a brain MRI at all is judged later, by the model
(``mri.inference.ood``). A ZIP archive, or several files uploaded together, is read as a DICOM series
(:mod:`.series`).

A new format: a module with its decoder and a :class:`~mri.io.registry.Reader`, and one ``register`` line below.
"""

from mri.io import readers, reading, registry
from mri.io.errors import ScanRejected
from mri.io.rasters import MAX_PIXELS
from mri.io.reading import read_scan
from mri.io.registry import FORMAT_NAMES, VOLUME_FORMATS, Reader, register
from mri.io.scan import LeftOut, Scan, is_volume_format, log_refusal

__all__ = ["FORMAT_NAMES", "MAX_PIXELS", "VOLUME_FORMATS", "LeftOut", "Reader", "Scan", "ScanRejected",
           "is_volume_format", "log_refusal", "read_scan", "register"]

# In the order people are told of them (registry.accepted); the order they are tried is each reader's own.
for reader in (*readers.BUILT_IN, reading.SERIES):
    registry.register(reader)
