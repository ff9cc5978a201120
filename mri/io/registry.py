"""The input formats AlzAware reads: one :class:`Reader` per format, registered here in the order they are tried.

Everything that names the accepted formats reads them from here: the stored ``source_format`` codes and their
names (:data:`FORMAT_NAMES`), the refusal's "Please upload ..." (:func:`accepted`), the upload form's help text
and the API schema (:func:`upload_help`). Adding a format is one module that defines its reader and one
:func:`register` call (``mri/io/__init__.py`` registers the built-in ones).
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reader:
    """One input format.

    ``read(data, nested)`` answers None when ``data`` is not this format (so the next reader is tried), else the
    :class:`~mri.io.scan.Scan`, or raises ScanRejected. ``nested`` is true for a file of a multi-file upload.
    ``order`` decides which reader is tried first (the lowest; Pillow's catch-all is last), independently of the
    order in which the formats are listed to people (their registration order).
    """

    name: str
    # (data, nested) -> a mri.io.scan.Scan, or None (Any: that module imports this one)
    read: Callable[[bytes, bool], Any]
    formats: dict[str, str]  # ``source_format`` code -> the name shown for it
    listed: tuple[str, ...] = ()  # how people are told of it, e.g. ("PNG", "JPEG") or ("NIfTI (.nii or .nii.gz)",)
    volume: bool = False  # a volume (its upload keeps every analysed slice) rather than one slice
    upload_hint: str = ""  # for a volume: how a patient picks it, in the upload form's words
    order: int = 50


READERS: list[Reader] = []
# Live views of the registry: the same objects whatever is registered later, so that importers see every format.
FORMAT_NAMES: dict[str, str] = {}
VOLUME_FORMATS: set[str] = set()


def register(reader: Reader) -> Reader:
    """Add ``reader`` (replacing one of the same name) and return it."""
    unregister(reader.name)
    READERS.append(reader)
    FORMAT_NAMES.update(reader.formats)
    if reader.volume:
        VOLUME_FORMATS.update(reader.formats)
    return reader


def unregister(name: str) -> None:
    for reader in [one for one in READERS if one.name == name]:
        READERS.remove(reader)
        for code in reader.formats:
            FORMAT_NAMES.pop(code, None)
            VOLUME_FORMATS.discard(code)


@contextmanager
def registered(reader: Reader) -> Iterator[Reader]:
    """``reader`` registered for the ``with`` block only (tests, experiments)."""
    register(reader)
    try:
        yield reader
    finally:
        unregister(reader.name)


def in_order_tried() -> list[Reader]:
    return sorted(READERS, key=lambda reader: reader.order)


def or_list(names: Iterable[str]) -> str:
    listed = list(names)
    return listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} or {listed[-1]}"


def listed(volume: bool) -> list[str]:
    return [name for reader in READERS if reader.volume == volume for name in reader.listed]


def accepted() -> str:
    """What to upload instead of a refused file, as one phrase: "a brain MRI slice as PNG, ... or DICOM, or ..."."""
    volumes = " or ".join(f"as {name}" for name in listed(volume=True))
    return f"a brain MRI slice as {or_list(listed(volume=False))}" + (f", or a brain MRI volume {volumes}"
                                                                       if volumes else "")


def upload_help() -> str:
    """The upload's help for people and for the API schema: one slice's formats, then the ways to send a volume."""
    hints = [reader.upload_hint for reader in READERS if reader.volume and reader.upload_hint]
    text = f"One picture of the scan ({or_list(listed(volume=False))})."
    return text + (f" Or the whole scan: {', or '.join(hints)}." if hints else "")
