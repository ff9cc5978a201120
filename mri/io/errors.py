"""Why an upload is refused: a stable code for programs and a sentence for people.

The codes are part of the API (``{"error": code, "detail": message}``), so they
never change once published; the sentences may be reworded.
"""

from mri.io.registry import accepted


def error_body(code: str, detail: str) -> dict[str, str]:
    """The one shape of a refusal for programs: the API's answer and ``manage.py analyze --json``'s line."""
    return {"error": code, "detail": detail}


class ScanRejected(Exception):
    """The upload cannot be analysed. ``code`` is for machines, ``message`` for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # Which check refused it and what it measured (for the server log: numbers, never patient data).
        self.check = code
        self.measured: float | str | None = None
        self.limit: float | None = None

    def because(self, check: str, measured: float | str, limit: float | None = None) -> "ScanRejected":
        """This refusal, naming the ``check`` that made it, the value it ``measured`` and its ``limit``."""
        self.check = check
        self.measured = measured if isinstance(measured, str) else round(float(measured), 4)
        self.limit = limit
        return self

    def __repr__(self) -> str:
        return f"ScanRejected({self.code!r}, {self.message!r})"


def empty() -> ScanRejected:
    return ScanRejected("empty", "The file you chose is empty: it holds nothing. Please choose your scan again. If it "
                                 "is on a CD or USB stick, copy it to your computer first, then choose the copy.")


def too_large(max_bytes: int) -> ScanRejected:
    return ScanRejected(
        "too_large", f"The file is larger than {max_bytes // (1024 * 1024)} MB, the most we accept. From a hospital "
                     "CD, do not send all of it: make a ZIP of only the one series folder you want checked (a T1 "
                     "series if you know which), or choose only the files of the largest series. A NIfTI volume "
                     "can be sent compressed, as .nii.gz."
    )


def too_many_pixels(limit: int) -> ScanRejected:
    return ScanRejected(
        "too_many_pixels",
        f"The image has more than {limit // 1_000_000} million pixels, far more than any scan slice. "
        "Please upload the scan itself.",
    )


def unsupported(what: str | None = None, advice: str = "") -> ScanRejected:
    start = f"This is {what}, which AlzAware cannot read." if what else "AlzAware cannot read this kind of file."
    return ScanRejected("unsupported", f"{start} {advice or 'Please upload ' + accepted() + '.'}")


def unrecognised(what: str | None = None) -> ScanRejected:
    """Not a format we know of at all (text, random bytes). Code ``unreadable`` since the first release."""
    start = f"We could not read this file as a scan: it is {what}." if what else "We could not read this file as a scan."
    return ScanRejected("unreadable", f"{start} Please upload {accepted()}.")


def unreadable(kind: str) -> ScanRejected:
    return ScanRejected(
        "unreadable",
        f"This {kind} file is damaged or incomplete (it may have been cut short while copying), so it cannot be "
        "read. Please export or copy the scan again.",
    )


def too_small(width: int, height: int, minimum: int) -> ScanRejected:
    return ScanRejected(
        "too_small",
        f"The image is only {width}×{height} pixels. A scan slice must be at least {minimum} pixels on each side.",
    )


def bad_aspect(width: int, height: int, limit: float) -> ScanRejected:
    return ScanRejected(
        "bad_aspect",
        f"The image is {width}×{height} pixels: more than {limit:g} times longer one way than the other, which "
        "no brain scan slice is. Please upload the whole slice, uncropped.",
    )


def colour() -> ScanRejected:
    return ScanRejected(
        "colour",
        "This is a colour image. MRI scans are grayscale: please upload the scan itself, not a photo, a screenshot "
        "or a coloured picture.",
    )


def blank() -> ScanRejected:
    return ScanRejected("blank", "The image is blank or nearly blank: there is nothing in it to analyse.")


def noise() -> ScanRejected:
    return ScanRejected("noise", "The image looks like random noise, not like a scan.")


def not_mri(modality: str) -> ScanRejected:
    names = {"CT": "a CT scan", "CR": "an X-ray", "DX": "an X-ray", "US": "an ultrasound image",
             "PT": "a PET scan", "NM": "a nuclear medicine image", "MG": "a mammogram", "XA": "an angiogram"}
    what = names.get(modality, f"a {modality} image")
    return ScanRejected(
        "not_mri", f"This DICOM file holds {what}, not an MRI. AlzAware reads brain MRI scans only."
    )


def no_image() -> ScanRejected:
    return ScanRejected("no_image", "This DICOM file holds no image (it may be a report or a folder index).")


def not_brain(reason: str = "") -> ScanRejected:
    start = "This does not look like an axial brain MRI slice, so AlzAware cannot analyse it."
    return ScanRejected(
        "not_brain",
        f"{start} {reason}" if reason else
        f"{start} Please upload a brain MRI slice seen from above (axial), as the scanner produced it.",
    )


def archive_too_large(limit: int, one_file: bool = False) -> ScanRejected:
    what = "one of its files would be" if one_file else "its files would add up to"
    return ScanRejected(
        "too_large",
        f"This ZIP archive is too large once unpacked: {what} more than {limit // (1024 * 1024)} MB, far more "
        "than a brain MRI series. Please make a ZIP of the brain scan's folder only.",
    )


def too_many_files(limit: int) -> ScanRejected:
    return ScanRejected(
        "too_many_files",
        f"This upload holds more than {limit} files, far more than a brain MRI series. Please choose the brain "
        "scan's folder only.",
    )


def unsafe_archive() -> ScanRejected:
    return ScanRejected(
        "unsafe_archive",
        "This ZIP archive holds a link, or a file whose name points outside the archive: archives like this are "
        "made to overwrite other files, so it was not opened. Please make a new ZIP of your scan's folder.",
    )


def no_series(found: str = "") -> ScanRejected:
    return ScanRejected(
        "no_series",
        "We found no brain MRI series in these files that can be rebuilt as a volume"
        f"{': ' + found if found else ''}. Please upload the folder of the brain MRI (a T1-weighted series "
        "works best), as the hospital gave it to you.",
    )
