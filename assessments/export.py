"""A patient's copy of their data: one ZIP with data.json and every stored scan and overlay it names."""

import io
import json
import zipfile

from django.core.files.storage import default_storage
from django.utils import timezone

from audit.trail import viewer_name, views_of

from .interpretation import headline_json, measures_json
from .models import Assessment
from .reviews import patient_json


class Archive:
    """Stored files to copy, each once under one archive path (a volume's shown slice shares its files)."""

    def __init__(self):
        self.paths = {}

    def add(self, stored, path):
        """The archive path of ``stored`` (a FieldFile), or None when there is no file."""
        if not stored:
            return None
        return self.paths.setdefault(stored.name, path)

    def write(self, bundle, storage):
        for name, path in self.paths.items():
            if storage.exists(name):
                with storage.open(name, "rb") as fh:
                    bundle.writestr(path, fh.read())


def profile_json(patient):
    user = patient.user
    return {
        "email": user.email, "first_name": user.first_name, "last_name": user.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(), "sex": patient.get_sex_display(),
        "heatmap_colour_map": patient.colour_map, "joined": user.date_joined.isoformat(),
        "doctors": [doctor.professional_name for doctor in patient.doctors.all()],
    }


def slice_json(one, folder, archive):
    return {
        "position": one.position, "prediction": one.prediction or None, "confidence": one.confidence,
        "probabilities": one.probabilities or None, "counted": one.counted, "reason": one.left_out or None,
        "scan_file": archive.add(one.scan, f"{folder}/slices/{one.position}-scan.png"),
        "overlay_file": archive.add(one.overlay, f"{folder}/slices/{one.position}-overlay.png"),
    }


def assessment_json(assessment, archive):
    folder = f"assessments/{assessment.pk}"
    return {
        "id": assessment.pk, "created_at": assessment.created_at.isoformat(),
        "prediction": assessment.prediction, "confidence": assessment.confidence,
        "probabilities": dict(assessment.ordered_probabilities()), "any_impairment": assessment.any_impairment,
        "training_match": assessment.get_ood_status_display(), "heatmap_faithfulness": assessment.faithfulness,
        "model_trained": assessment.model_trained, "model_sha256": assessment.model_sha256,
        "source_format": assessment.source_format, "acquisition": assessment.acquisition,
        "scan_file": archive.add(assessment.scan, f"{folder}/scan.png"),
        "overlay_file": archive.add(assessment.overlay, f"{folder}/overlay.png"),
        "regions": assessment.region_shares or None,
        "headline": headline_json(assessment.headline), "measures": measures_json(assessment.measures),
        "scan_volume_file": archive.add(assessment.scan_volume, f"{folder}/scan.nii.gz"),
        "heatmap_volume_file": archive.add(assessment.heatmap_volume, f"{folder}/heatmap.nii.gz"),
        "maps_file": archive.add(assessment.maps, f"{folder}/maps.npz"),
        "slices": [slice_json(one, folder, archive) for one in assessment.slices.all()],
        "series": [series_json(one) for one in assessment.series.all()],
        "reviews": [review_json(review) for review in assessment.reviews.all()],
    }


def series_json(one):
    """A DICOM series upload's series, as stored (assessments.models.ScanSeries)."""
    return {"description": one.description, "weighting": one.weighting, "plane": one.plane,
            "slice_count": one.slice_count, "analysed": one.analysed,
            "skipped_because": one.get_skipped_because_display() or None, "missing_slices": one.missing_slices}


def review_json(review):
    """What the patient is shown of a review, and the doctor's grade of their scan: theirs to take too."""
    return {**patient_json(review), "doctor_agrees_with_the_model": review.agrees, "doctor_grade": review.grade}


def views_json(patient):
    """"Who viewed my data", as the account page shows it: when, who, what (never the viewer's address)."""
    return [{"at": entry.at.isoformat(), "viewer": viewer_name(entry, patient.user),
             "what": entry.get_action_display(), "assessment_id": entry.assessment_id}
            for entry in views_of(patient)]


def export_zip(patient):
    """The ZIP's bytes: ``data.json`` (profile; assessments with probabilities, slices, DICOM series and doctors'
    reviews with their grades; who viewed the data) and the scans, overlays, raw maps and volumes it refers to,
    paths relative to the archive."""
    archive = Archive()
    assessments = (Assessment.objects.filter(patient=patient).order_by("created_at", "pk")
                   .prefetch_related("slices", "series", "reviews__author"))
    data = {
        "exported_at": timezone.now().isoformat(),
        "profile": profile_json(patient),
        "assessments": [assessment_json(one, archive) for one in assessments],
        "views_of_my_data": views_json(patient),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False))
        archive.write(bundle, default_storage)
    return buffer.getvalue()
