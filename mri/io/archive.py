"""Many files in one upload: a ZIP archive (a scanner's export, a hospital CD's folder), or several files picked
together. Every limit is checked on the archive's directory before a single byte is inflated.

Nothing here is ever written to disk: members are read into memory one at a time, so a member's name can do no
harm. Names that would point outside the archive (``../``, absolute paths, drive letters) and symbolic links are
refused all the same: they are the mark of an archive made to attack whoever unpacks it, and a patient's export
never has them. Member names are never stored, logged or shown (a folder may be named after the patient).
"""

import io
import re
import stat
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath
from typing import IO

from mri.io import errors
from mri.io.nifti import MAX_INFLATED_BYTES
from mri.io.rasters import MAX_PIXELS

# A DICOM series is one file per slice: a brain study's few series of a few hundred slices each stay far below
# this; the header pass over this many small files takes seconds (docs/dicom-series.md).
MAX_FILES = 5000
# One file holds at most one slice at the largest size we read (16-bit pixels), with room for its header.
HEADER_ROOM = 1024 * 1024
MAX_MEMBER_BYTES = 2 * MAX_PIXELS + HEADER_ROOM
# What the whole archive may inflate to: the same cap as a .nii.gz.
MAX_TOTAL_BYTES = MAX_INFLATED_BYTES
# Deflate is what every operating system's and scanner's ZIP uses; its output can be read in bounded pieces.
# Other methods (bzip2, LZMA) inflate a whole block at once, so a small block could fill the memory.
READABLE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)

# What operating systems add to a folder they zip: never part of the scan.
HIDDEN_FOLDERS = {"__MACOSX"}
HIDDEN_FILES = {".DS_Store", "Thumbs.db", "desktop.ini"}


@dataclass
class Member:
    """One file of a multi-file upload. ``name`` is its path inside the upload: used to match a DICOMDIR's
    index, never stored, logged or shown."""

    name: str
    size: int
    opener: Callable[[], IO[bytes]]  # () -> a readable, seekable binary file

    def open(self) -> IO[bytes]:
        return self.opener()

    def read(self) -> bytes:
        with self.open() as fh:
            try:
                data = fh.read(MAX_MEMBER_BYTES + 1)
            except (zipfile.BadZipFile, EOFError, OSError, ValueError):
                # A damaged member, or one whose content does not match its declared size and checksum.
                raise errors.unreadable("ZIP") from None
        if len(data) > MAX_MEMBER_BYTES:
            raise errors.archive_too_large(MAX_MEMBER_BYTES, one_file=True)
        return data


def is_zip(data: bytes) -> bool:
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def hidden(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return (not parts or any(part in HIDDEN_FOLDERS for part in parts) or parts[-1] in HIDDEN_FILES
            or parts[-1].startswith("._"))


def unsafe_name(name: str) -> bool:
    """A member name that would land outside the folder it is unpacked into."""
    parts = re.split(r"[\\/]+", name)
    return (name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name)) or ".." in parts
            or "\x00" in name)


def is_link(info: zipfile.ZipInfo) -> bool:
    # Unix permissions and file type sit in the top 16 bits of the external attributes.
    return stat.S_ISLNK(info.external_attr >> 16)


def zip_members(data: bytes) -> list[Member]:
    """The files of a ZIP archive as :class:`Member` objects, or raise ScanRejected before inflating anything."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError):
        raise errors.unreadable("ZIP") from None
    check_directory(infos)
    return [Member(name=info.filename.replace("\\", "/"), size=info.file_size,
                   opener=partial(archive.open, info))
            for info in infos if not info.is_dir() and not hidden(info.filename.replace("\\", "/"))]


def check_directory(infos: Sequence[zipfile.ZipInfo]) -> None:
    """The archive's own directory against every limit: count, names, links, encryption, method and sizes."""
    if len(infos) > MAX_FILES:
        raise errors.too_many_files(MAX_FILES).because("too_many_files", len(infos), MAX_FILES)
    for info in infos:
        if unsafe_name(info.filename) or is_link(info):
            raise errors.unsafe_archive().because("unsafe_archive", "link" if is_link(info) else "name")
    for info in infos:
        if info.flag_bits & 0x1:
            raise errors.unsupported("a password-protected ZIP archive",
                                     "Please make a ZIP without a password and upload that.")
        if info.compress_type not in READABLE_METHODS:
            raise errors.unsupported("a ZIP archive packed with an unusual method",
                                     "Please make a new ZIP with your computer's usual 'compress' command.")
        if info.file_size > MAX_MEMBER_BYTES:
            raise errors.archive_too_large(MAX_MEMBER_BYTES, one_file=True).because(
                "member_bytes", info.file_size, MAX_MEMBER_BYTES)
    total = sum(info.file_size for info in infos)
    if total > MAX_TOTAL_BYTES:
        raise errors.archive_too_large(MAX_TOTAL_BYTES).because("unpacked_bytes", total, MAX_TOTAL_BYTES)


def file_members(contents: Sequence[bytes]) -> list[Member]:
    """Several uploaded files (bytes each) as :class:`Member` objects, named by their order only."""
    if len(contents) > MAX_FILES:
        raise errors.too_many_files(MAX_FILES).because("too_many_files", len(contents), MAX_FILES)
    return [Member(name=f"file{index}", size=len(data), opener=partial(io.BytesIO, data))
            for index, data in enumerate(contents)]
