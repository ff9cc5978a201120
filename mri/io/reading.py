"""One upload's bytes -> :class:`~mri.io.scan.Scan`: each registered reader is asked in turn (:mod:`.registry`).

A ZIP archive, or several files uploaded together, is read as a DICOM series (:mod:`.series`); its reader is
here, beside the dispatch it calls back for an archive that holds a single file.
"""

from collections.abc import Sequence

from mri.io import archive, errors, nifti, registry, series
from mri.io.errors import ScanRejected
from mri.io.registry import Reader
from mri.io.scan import Scan, log_refusal, volume_scan

# One file's bytes, or several files' (a list or tuple of bytes).
Upload = bytes | list[bytes] | tuple[bytes, ...]


def read_scan(data: Upload, max_bytes: int) -> Scan:
    """``data`` (bytes, or a list of bytes for several files) -> :class:`Scan`, or raise :class:`ScanRejected`
    (and say why in the server's log)."""
    try:
        return read_any(data, max_bytes)
    except ScanRejected as problem:
        log_refusal(problem)
        raise


def read_any(data: Upload, max_bytes: int, nested: bool = False) -> Scan:
    """The first registered reader that knows ``data`` reads it; ``nested`` for a file of a multi-file upload."""
    if isinstance(data, (list, tuple)):
        if len(data) != 1:
            return read_files(data, max_bytes)
        data = data[0]
    if not data:
        raise errors.empty()
    if len(data) > max_bytes:
        raise errors.too_large(max_bytes).because("too_large", len(data), max_bytes)
    for reader in registry.in_order_tried():
        scan: Scan | None = reader.read(data, nested)
        if scan is not None:
            return scan
    raise errors.unrecognised()


def read_files(contents: Sequence[bytes], max_bytes: int) -> Scan:
    """Several files uploaded together: the same size limit as one upload, for all of them."""
    total = sum(len(one) for one in contents)
    if total > max_bytes:
        raise errors.too_large(max_bytes).because("too_large", total, max_bytes)
    return read_many(archive.file_members(contents))


def read_many(members: Sequence[archive.Member]) -> Scan:
    """Several files: a DICOM series, or the one file they hold (hidden files aside) read on its own."""
    if len(members) == 1:
        return read_any(members[0].read(), archive.MAX_MEMBER_BYTES, nested=True)
    with nifti.decoding():
        slices, positions, acquisition, band, found = series.read_series(members)
    scan = volume_scan(slices, positions, acquisition, band, series.FORMAT)
    scan.series = found
    return scan


def read_zip(data: bytes, nested: bool) -> Scan | None:
    if not archive.is_zip(data):
        return None
    if nested:
        raise errors.unsupported("a ZIP archive inside a ZIP archive", "Please upload the inner one.")
    return read_many(archive.zip_members(data))


SERIES = Reader(series.FORMAT, read_zip, {series.FORMAT: "DICOM series"},
                listed=("a DICOM series (a ZIP of the scan's folder, or its files chosen together)",), volume=True,
                upload_hint="the hospital's folder as a ZIP file, or all its files at once", order=20)
