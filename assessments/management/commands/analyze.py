"""The web app's analysis from the command line, without the database.

    python manage.py analyze scan1.png scan2.dcm --json --out results/ --colour-map viridis
"""

import json
import logging
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from assessments.interpretation import headline_answer, measures_json
from assessments.models import CANNOT_TELL_WORDS, LeftOut
from assessments.reading import analyse_slices
from mri import percentages
from mri.explain import explanations
from mri.explain.overlay import COLOUR_MAPS, DEFAULT_COLOUR_MAP
from mri.headline import track_record
from mri.inference import ood
from mri.inference.engine import get_engine
from mri.inference.ood import OUTSIDE_TRAINING
from mri.io import ScanRejected, read_scan
from mri.io.errors import error_body

logger = logging.getLogger(__name__)


def faithfulness_of(engine, analysis):
    """The explanation's faithfulness score, or None; a failure here must never lose the result."""
    try:
        result = engine.faithfulness(analysis)
    except Exception:
        logger.exception("Faithfulness score failed; keeping the result without it")
        return None
    return None if result is None else float(result.score)


def headline_line(result):
    """The honest headline in words: the grade with its probability, or that the program cannot tell."""
    said = result["headline"]
    if said["grade"] is None:
        return f"{CANNOT_TELL_WORDS.lower()} ({said['reason']}; likeliest {result['prediction']} " \
               f"{result['confidence']:.1%}, any impairment {result['any_impairment']:.1%})"
    return f"{said['grade']} ({result['confidence']:.1%})"


class Command(BaseCommand):
    help = "Analyse scan files as the web app does (prediction, probabilities, Grad-CAM, faithfulness); no database."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--json", action="store_true", help="One JSON object per file, one per line.")
        parser.add_argument("--out", metavar="DIR", help="Write each file's overlay PNG and raw maps (.npz) here.")
        parser.add_argument("--colour-map", choices=sorted(COLOUR_MAPS), default=DEFAULT_COLOUR_MAP)

    def handle(self, *args, files, out, colour_map, **options):
        as_json = options["json"]
        engine = get_engine(settings.ALZAWARE_MODEL_PATH)
        out_dir = Path(out) if out else None
        if out_dir:
            out_dir.mkdir(parents=True, exist_ok=True)
        refused = 0
        for position, name in enumerate(files):
            result = self.analyse_one(engine, Path(name), out_dir, colour_map, position)
            refused += "error" in result
            self.stdout.write(self.render(result, as_json))
        if refused:
            # Every file is reported first; the status says that not all of them could be analysed.
            raise SystemExit(1)

    def analyse_one(self, engine, path, out_dir, colour_map, position):
        try:
            data = path.read_bytes()
        except OSError as exc:
            return {"file": str(path), **error_body("not_readable", f"Cannot read the file: {exc.strerror}.")}
        try:
            scan = read_scan(data, settings.MAX_UPLOAD_BYTES)
            # As the web app: every slice of a volume, and refused if the model does not know the content.
            reading = analyse_slices(engine, scan)
        except ScanRejected as rejected:
            return {"file": str(path), **error_body(rejected.code, rejected.message)}
        analysis = reading.analysis
        # As the web app: a failing faithfulness score loses the score, not the result.
        score = faithfulness_of(engine, analysis)
        result = {
            "file": str(path),
            "prediction": reading.prediction,
            "confidence": round(reading.confidence, 6),
            "class_probabilities": percentages(reading.class_probabilities()),
            # As the web app stores it: combined with the measures where the checkpoint has that model.
            "any_impairment": round(reading.interpretation.any_impairment, 6),
            "headline": headline_answer(reading.interpretation.headline,
                                        track_record(reading.interpretation.headline, engine.checkpoint)),
            "measures": measures_json(reading.interpretation.measures),
            "outside_training": reading.status == ood.UNSURE,
            "faithfulness": None if score is None else round(score, 4),
        }
        if reading.status == ood.UNSURE:
            result["warning"] = OUTSIDE_TRAINING
        if scan.is_volume:
            # As the API: every slice of the band; one the detector refuses is analysed but not counted, one a
            # check refuses is not analysed; ``reason`` says why (AssessmentSlice.LeftOut).
            slices = [{"position": position, "prediction": one.prediction, "confidence": round(one.confidence, 6),
                       "counted": verdict != ood.OUT,
                       "reason": LeftOut.OUTSIDE_TRAINING.value if verdict == ood.OUT else None}
                      for position, one, _, verdict, _ in reading.slices()]
            slices += [{"position": one.position, "prediction": None, "confidence": None, "counted": False,
                        "reason": one.check} for one in reading.left_out]
            result["slices"] = sorted(slices, key=lambda one: one["position"])
        if out_dir:
            stored = explanations.from_analysis(analysis)
            # The position keeps two inputs with the same name (a/scan.png, b/scan.png) apart.
            stem = f"{position:03d}-{path.stem}"
            overlay, maps = out_dir / f"{stem}.overlay.png", out_dir / f"{stem}.maps.npz"
            overlay.write_bytes(explanations.overlay_png(reading.gray, stored, colour_map=colour_map))
            maps.write_bytes(explanations.to_npz(stored))
            result.update(overlay=str(overlay), maps=str(maps))
        return result

    @staticmethod
    def render(result, as_json):
        if as_json:
            return json.dumps(result)
        if "error" in result:
            return f"{result['file']}: refused ({result['error']}): {result['detail']}"
        line = f"{result['file']}: {headline_line(result)}"
        if result["faithfulness"] is not None:
            line += f", faithfulness {result['faithfulness']:.2f}× random"
        slices = result.get("slices", [])
        if slices:
            line += f", from {sum(one['counted'] for one in slices)} of the band's {len(slices)} axial slices"
        # A volume's slices that are not counted, each with the reason.
        line += "".join(f"\n  slice {one['position']} left out: {LeftOut(one['reason']).label}"
                        for one in slices if not one["counted"])
        return line + "".join(f"\n  wrote {result[k]}" for k in ("overlay", "maps") if k in result)
