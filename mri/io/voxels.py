"""NIfTI voxel data read with bounded memory: the header first, its declared size checked before anything is
inflated, then the first volume converted to float32 a chunk at a time (issue 25: a 0.5 MB .nii.gz declaring
400 x 400 x 399 float64 voxels of zeros cost 1.2 GB and 8.6 s when it was inflated whole)."""

import contextlib
import io
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import nibabel as nib
import numpy as np

from mri.arrays import Array
from mri.io import errors

# Voxels of the one 3-D volume we read (256^3 is 16.8 M, a 0.7 mm head about 25 M). Decoded as float32, a
# volume costs 4 bytes a voxel, its 8-bit copy one more: at this bound 160 MB at the peak.
MAX_VOXELS = 32_000_000
# The voxel data a header declares (dimensions x bytes per voxel, every volume of a 4-D file), checked in the
# header before anything is inflated: a 0.5 MB .nii.gz of zeros declaring 400 x 400 x 399 float64 voxels
# (510 MB) is refused in milliseconds instead of being inflated.
MAX_VOLUME_BYTES = 256 * 1024 * 1024
# What a ZIP may inflate to (archive.MAX_TOTAL_BYTES).
MAX_INFLATED_BYTES = 512 * 1024 * 1024
# Bytes after the declared voxel data that are tolerated: more means the file is not what its header says.
MAX_TRAILING_BYTES = 1024 * 1024
CHUNK_BYTES = 4 * 1024 * 1024


class Gzipped(bytes):
    """A .nii.gz's compressed bytes: inflated chunk by chunk as the voxels are read, never all at once."""


class ByteStream:
    """The file's bytes in order, from memory or inflated CHUNK_BYTES at a time; ``read(n)`` gives up to n."""

    def __init__(self, raw: bytes) -> None:
        self.pending: bytes | memoryview = b""
        self.chunks: Iterator[bytes | memoryview]
        if isinstance(raw, Gzipped):
            self.chunks = self.inflated(raw)
        else:
            self.chunks = iter([memoryview(raw)])

    @staticmethod
    def inflated(data: bytes) -> Iterator[bytes]:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        tail = bytes(data)
        try:
            while True:
                chunk = inflater.decompress(tail, CHUNK_BYTES)
                tail = inflater.unconsumed_tail
                if chunk:
                    yield chunk
                if not tail and len(chunk) < CHUNK_BYTES:
                    return
        except zlib.error:
            raise errors.unreadable("compressed (.gz)") from None

    def read(self, size: int) -> bytes:
        parts: list[bytes | memoryview] = []
        have = 0
        if self.pending:
            parts.append(self.pending[:size])
            have = len(parts[0])
            self.pending = self.pending[have:]
        while have < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            take = size - have
            parts.append(chunk[:take])
            have += len(parts[-1])
            self.pending = chunk[take:]
        return b"".join(parts)

    def skip(self, size: int) -> int:
        """Read and drop ``size`` bytes, a chunk at a time; how many there were."""
        skipped = 0
        while skipped < size:
            got = len(self.read(min(CHUNK_BYTES, size - skipped)))
            if not got:
                break
            skipped += got
        return skipped


def voxel_header(stream: ByteStream, version: str | int) -> tuple[Any, tuple[int, ...], np.dtype[Any], int, int]:
    """The NIfTI header at the start of ``stream``: ``(header, shape, dtype, data offset, bytes read)``."""
    header_class: Any = nib.Nifti1Header if version == 1 else nib.Nifti2Header  # nibabel has no types
    head = stream.read(header_class.sizeof_hdr)
    try:
        header = header_class.from_fileobj(io.BytesIO(head), check=False)
        shape = tuple(int(n) for n in header.get_data_shape())
        dtype = np.dtype(header.get_data_dtype())
        offset = int(header.get_data_offset())
    except Exception:
        raise errors.unreadable("NIfTI") from None
    if len(shape) < 2 or any(n < 1 for n in shape) or dtype.fields is not None or dtype.kind not in "biuf":
        raise errors.unreadable("NIfTI")
    return header, shape, dtype, offset, len(head)


def check_declared_size(shape: tuple[int, ...], dtype: np.dtype[Any], offset: int) -> tuple[int, int]:
    """Refuse, from the header alone, a volume too large to decode: before a byte of its voxels is inflated."""
    voxels = int(np.prod(shape[:3], dtype=np.int64))
    if voxels > MAX_VOXELS:
        raise errors.too_many_pixels(MAX_VOXELS).because("too_many_pixels", voxels, MAX_VOXELS)
    declared = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if declared > MAX_VOLUME_BYTES or offset > MAX_TRAILING_BYTES:
        raise errors.too_many_pixels(MAX_VOXELS).because("declared_bytes", declared, MAX_VOLUME_BYTES)
    return voxels, declared


def decode_first_volume(stream: ByteStream, voxels: int, dtype: np.dtype[Any]) -> Array:
    """The first 3-D volume's voxels as float32, converted chunk by chunk: the file's own type (float64, say)
    is never held whole."""
    out = np.empty(voxels, dtype=np.float32)
    per_chunk = max(1, CHUNK_BYTES // dtype.itemsize)
    filled = 0
    while filled < voxels:
        count = min(per_chunk, voxels - filled)
        chunk = stream.read(count * dtype.itemsize)
        if len(chunk) != count * dtype.itemsize:
            raise errors.unreadable("NIfTI")  # truncated
        out[filled:filled + count] = np.frombuffer(chunk, dtype=dtype)
        filled += count
    return out


def read_voxels(raw: bytes, version: str | int) -> tuple[Array, Array]:
    """``(float32 array of the file's first volume, in its own axes, its affine)`` from NIfTI bytes or a
    :class:`Gzipped` file, inflating no more than the header declares (and refusing a file that holds more)."""
    stream = ByteStream(raw)
    header, shape, dtype, offset, read = voxel_header(stream, version)
    # A single file's voxels cannot start inside its header and 4-byte extension flag (some writers leave 0).
    offset = max(offset, read + 4)
    voxels, declared = check_declared_size(shape, dtype, offset)
    if stream.skip(offset - read) != offset - read:
        raise errors.unreadable("NIfTI")
    flat = decode_first_volume(stream, voxels, dtype)
    rest = declared - voxels * dtype.itemsize
    if stream.skip(rest) != rest:
        raise errors.unreadable("NIfTI")
    if stream.skip(MAX_TRAILING_BYTES + 1) > MAX_TRAILING_BYTES:
        raise errors.too_many_pixels(MAX_VOXELS).because("inflated_bytes", declared + MAX_TRAILING_BYTES + 1,
                                                         declared + MAX_TRAILING_BYTES)
    slope, inter = header.get_slope_inter()
    if slope is not None and slope != 1:
        flat *= np.float32(slope)
    if inter:
        flat += np.float32(inter)
    first = (shape + (1,))[:3] if len(shape) == 2 else shape[:3]
    return flat.reshape(first, order="F"), header.get_best_affine()


# How many volumes (NIfTI or DICOM series) one process decodes at once; the others wait their turn. With
# gunicorn's threads, three large volumes at once held three times the memory (issue 25).
MAX_DECODES = 1
DECODES = threading.BoundedSemaphore(MAX_DECODES)
held = threading.local()


@contextlib.contextmanager
def decoding() -> Iterator[None]:
    """Hold one of the process's MAX_DECODES places while a volume is decoded (re-entrant in one thread: a
    ZIP's one member may be a volume)."""
    if getattr(held, "depth", 0):
        held.depth += 1
        try:
            yield
        finally:
            held.depth -= 1
        return
    with DECODES:
        held.depth = 1
        try:
            yield
        finally:
            held.depth = 0
