"""When a scan was taken: the day the timeline orders and plots by.

From the DICOM header (StudyDate, else AcquisitionDate...: read with the rest of the header, before anything
else of it is dropped), else the day the patient entered at upload ("when was this scan taken?"), else the
upload's own day, marked as such (``ScanDateSource.UPLOAD``) so that the pages can say it is not the scan's.
"""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from mri.io.dicom import SCAN_DATE

from .models import ScanDateSource

EARLIEST = datetime.date(1900, 1, 1)


def plausible(day):
    return day is not None and EARLIEST <= day <= timezone.localdate()


def check_entered(day):
    """The one rule for a day someone enters as the scan's, on the upload page and in the API (a validator of
    both forms.DateField and DRF's DateField)."""
    if day is not None and not plausible(day):
        raise ValidationError(f"Please enter a date that is not in the future, and not before {EARLIEST.year}.",
                              code="implausible_scan_date")


def scan_date_of(scan, entered=None):
    """``(day, ScanDateSource)`` of an uploaded ``scan``; takes the header's day out of its acquisition fields."""
    found = scan.acquisition.pop(SCAN_DATE, None)
    try:
        from_header = datetime.date.fromisoformat(found) if found else None
    except ValueError:
        from_header = None
    if plausible(from_header):
        return from_header, ScanDateSource.DICOM
    if plausible(entered):
        return entered, ScanDateSource.ENTERED
    return timezone.localdate(), ScanDateSource.UPLOAD
