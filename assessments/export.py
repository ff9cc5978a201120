"""A patient's copy of their data: one ZIP with data.json and every stored scan and overlay it names."""

import io
import json
import zipfile

from django.core.files.storage import default_storage
from django.utils import timezone

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
        "heatmap_colour_map": patient.colormap, "joined": user.date_joined.isoformat(),
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
        "slices": [slice_json(one, folder, archive) for one in assessment.slices.all()],
        "reviews": [patient_json(review) for review in assessment.reviews.all()],
    }


def export_zip(patient):
    """The ZIP's bytes: ``data.json`` (profile, assessments with probabilities and slices, what the patient is
    told of doctors' reviews) and the scans and overlays it refers to, paths relative to the archive."""
    archive = Archive()
    assessments = (Assessment.objects.filter(patient=patient).order_by("created_at", "pk")
                   .prefetch_related("slices", "reviews__author"))
    data = {
        "exported_at": timezone.now().isoformat(),
        "profile": profile_json(patient),
        "assessments": [assessment_json(one, archive) for one in assessments],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("data.json", json.dumps(data, indent=2, ensure_ascii=False))
        archive.write(bundle, default_storage)
    return buffer.getvalue()
