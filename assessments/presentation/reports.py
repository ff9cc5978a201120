"""PDF reports to take to the doctor: one assessment, or a patient's whole history with the timeline chart.

Drawn with ReportLab (pure Python: no system libraries to install on a fresh
clone or in CI, unlike WeasyPrint's Pango/Cairo), and the timeline's own SVG
drawn into the PDF by svglib, so the report's chart is the page's chart. The
only personal details printed are the patient's name and date of birth.
"""

import io
import os
from functools import cache
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from svglib.svglib import svg2rlg

from assessments.presentation.chart import ANY_IMPAIRMENT, timeline_svg
from assessments.presentation.heatmaps import colour_bar_png
from assessments.presentation.report_reading import headline_lines, measures_section
from mri.explain import regions
from mri.explain.overlay import valid_colour_map

NOT_A_DIAGNOSIS = ("This is not a diagnosis. AlzAware is a research tool. Its result can be wrong, and only a "
                   "doctor can diagnose dementia. Please discuss this result with your doctor.")
OUTSIDE_TRAINING = ("This scan is outside what the program was trained on. We checked it, but it does not look "
                    "quite like the scans the program learned from. So this result is even less sure than usual.")
UNTRAINED = ("The program that made this result has not been trained. Its answers are random. Please ignore this "
             "result.")
WIDTH = A4[0] - 4 * cm  # the text column between 2 cm margins
IMAGE_WIDTH = 4.5 * cm
# PDF's standard fonts stop at Latin-1 ("Łukasz" prints as "■ukasz"): Debian's DejaVu Sans
# (fonts-dejavu-core, which .ci/run installs) is embedded when it is there, for every European name.
UNICODE_FONT = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


@cache
def fonts():
    """``(regular, bold)`` font names: DejaVu Sans when installed, else the standard Helvetica."""
    if not all(os.path.exists(path) for path in UNICODE_FONT):
        return "Helvetica", "Helvetica-Bold"
    for name, path in zip(("DejaVuSans", "DejaVuSans-Bold"), UNICODE_FONT):
        pdfmetrics.registerFont(TTFont(name, path))
    return "DejaVuSans", "DejaVuSans-Bold"


@cache
def styles():
    sheet = getSampleStyleSheet()
    regular, bold = fonts()
    for style in sheet.byName.values():
        style.fontName = bold if "Bold" in getattr(style, "fontName", "") else regular
    return sheet


def grid():
    return TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                       ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)])


def text(value, style="BodyText"):
    return Paragraph(escape(str(value)), styles()[style])


def table(rows, widths):
    """A gridded table whose every cell is a paragraph, so that a long text wraps inside its cell: a plain string
    is drawn on one line, out of its cell, whatever the column's width."""
    cells = [[text(value, "Heading5" if index == 0 else "BodyText") for value in row]
             for index, row in enumerate(rows)]
    return Table(cells, colWidths=[WIDTH * share for share in widths], style=grid(), repeatRows=1)


def pdf_bytes(story, title):
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=2 * cm,
                                 bottomMargin=2 * cm, title=title, author="AlzAware")
    document.build(story)
    return buffer.getvalue()


def who(patient):
    """Name and date of birth: nothing else that identifies the patient goes into a report."""
    return [text(f"Patient: {patient.user.get_full_name()}"),
            text(f"Date of birth: {patient.date_of_birth:%d %B %Y}")]


def picture(data, width):
    """A PNG (bytes) at ``width``, its aspect kept."""
    image = Image(io.BytesIO(data))
    image.drawHeight = width * image.imageHeight / image.imageWidth
    image.drawWidth = width
    return image


def images_row(assessment):
    """The original and its overlay side by side, with the overlay's colour bar."""
    with assessment.scan.open("rb") as fh:
        cells = [picture(fh.read(), IMAGE_WIDTH)]
    captions = [text("Original MRI")]
    if assessment.overlay:
        with assessment.overlay.open("rb") as fh:
            cells.append(picture(fh.read(), IMAGE_WIDTH))
        bar = picture(colour_bar_png(valid_colour_map(assessment.overlay_colour_map)), 0.5 * cm)
        bar.drawHeight = cells[-1].drawHeight
        cells.append(bar)
        captions += [text(f"Heatmap of {assessment.prediction}"), text("high / low")]
    return Table([cells, captions], style=[("VALIGN", (0, 0), (-1, -1), "TOP")])


def probability_table(assessment):
    rows = [["Grade", "Probability"]]
    rows += [[name, f"{p:.1%}"] for name, p in assessment.ordered_probabilities()]
    rows.append([ANY_IMPAIRMENT, f"{assessment.any_impairment:.1%}"])
    return table(rows, [0.3, 0.18])


def region_section(assessment):
    scores = assessment.regions_of()
    if not scores:
        return [text("Region shares could not be measured for this scan.")]
    rows = [["Region", "Share of the map"]]
    for grouping, shares in regions.table(scores):
        rows += [[f"{grouping}: {label}", f"{share:.1%}"] for label, share in shares]
    return [table(rows, [0.3, 0.18]), Spacer(1, 0.2 * cm),
            text(regions.sentence(scores))]


def review_lines(assessment):
    """The doctor's review as the patient's page tells it (assessments/_verdict.html)."""
    review = assessment.shared_review()
    if review is None:
        return [text("No doctor has looked at this result yet.", "Heading3")]
    lines = [text(f"Reviewed by {review.reviewer_name} on {review.created_at:%d %B %Y}.", "Heading3"),
             text(review.in_words())]
    if review.shared_note:
        lines.append(text(f"Your doctor's note: {review.shared_note}"))
    return lines


def headline(assessment, record):
    """The result as the page heads it: the doctor's grade first, labelled, where they graded it differently;
    else the program's headline with how often it was right (``record``, mri.headline.TrackRecord)."""
    review = assessment.shared_review()
    if review is not None and review.differs:
        return [text(f"Result: {review.grade}, your doctor's grade", "Heading2"),
                text(f"The program's grade was {assessment.prediction}. Your doctor, who looked at your scan, graded "
                     "it differently. The rest of this report is about the program's result.")]
    return headline_lines(assessment, text) + ([text(record.text)] if record else [])


def warnings(assessment):
    """The page's warnings (assessments/_scan_notices.html and detail.html), in the same words."""
    lines = [text(NOT_A_DIAGNOSIS, "Heading4")]
    if assessment.outside_training:
        lines.append(text(OUTSIDE_TRAINING, "Heading4"))
    if not assessment.model_trained:
        lines.append(text(UNTRAINED, "Heading4"))
    return lines


def volume_section(assessment):
    """For a volume: the series found in the upload and every slice of the band, as the page lists them."""
    if not assessment.is_volume:
        return []
    story = [text(f"This result is for the whole scan: the average of {assessment.counted_slice_count} slices "
                  "from the middle of the brain.")]
    series = list(assessment.series.all())
    if series:
        story += [text("Series in the upload", "Heading3"),
                  table([["Series", "Used"]] + [[one.summary, "analysed" if one.analysed else
                                                 f"skipped: {one.get_skipped_because_display()}"] for one in series],
                        [0.6, 0.4])]
    rows = [["Slice", "Result", "How sure", "Counted in the result"]]
    rows += [[f"{one.position}{' (shown)' if one.representative else ''}", one.prediction or "-",
              f"{one.confidence:.1%}" if one.analysed else "-", "yes" if one.counted else f"no: {one.reason}"]
             for one in assessment.slices.all()]
    return [*story, text("Each slice", "Heading3"), table(rows, [0.16, 0.3, 0.14, 0.4])]


def model_lines(assessment, track_record):
    """Which model made the result and what it was measured to do on people it never saw."""
    lines = [text(f"Model version: AlzAware ResNet50, checkpoint {assessment.model_sha256[:12] or 'unknown'}"
                  + ("" if assessment.model_trained else " (UNTRAINED: ignore this result)"))]
    if track_record:
        lines.append(text(
            f"Measured accuracy ({track_record['protocol']}, {track_record['subjects']} people): the right grade "
            f"for {track_record['subject_accuracy']:.0%} of people; some impairment told from none with "
            f"{track_record['any_impairment_balanced_accuracy']:.0%} balanced accuracy."))
    else:
        lines.append(text("Measured accuracy: not available for the model that made this result."))
    return lines


def assessment_pdf(assessment, track_record, headline_record):
    """One assessment as a PDF (bytes); ``track_record`` and ``headline_record`` are services.track_records'
    answers for it."""
    story = [text("AlzAware result", "Title"), *who(assessment.patient),
             text(f"Scan submitted: {assessment.created_at:%d %B %Y, %H:%M}"), Spacer(1, 0.3 * cm),
             *warnings(assessment), *headline(assessment, headline_record), *review_lines(assessment), Spacer(1, 0.3 * cm),
             images_row(assessment), Spacer(1, 0.3 * cm),
             # Side by side, so that one result fits on one page.
             Table([[text("How likely the model thinks each grade is", "Heading3"),
                      text("Where the heatmap's weight lies", "Heading3")],
                    [probability_table(assessment), region_section(assessment)]],
                   colWidths=[WIDTH * 0.5, WIDTH * 0.5], style=[("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]),
             Spacer(1, 0.3 * cm), *measures_section(assessment, text, WIDTH), *volume_section(assessment),
             Spacer(1, 0.3 * cm), *model_lines(assessment, track_record)]
    return pdf_bytes(story, f"AlzAware result of {assessment.created_at:%d %B %Y}")


def result_in_short(assessment):
    review = assessment.shared_review()
    if review is not None and review.differs:
        return f"{review.grade} (your doctor's grade); the program's: {assessment.headline_words}"
    return assessment.headline_words


def review_in_short(assessment):
    """One cell of the history table: the doctor's grade first where it differs (the history page's words)."""
    review = assessment.shared_review()
    if review is None:
        return "No doctor has looked at this result yet."
    said = f"Reviewed by {review.reviewer_name} on {review.created_at:%d %B %Y}. "
    if review.differs:
        return said + f"Your doctor's grade: {review.grade} (the program's: {review.model_grade})."
    if review.cannot_tell:
        return said + "Your doctor could not tell the grade from this scan."
    return said + "Your doctor agrees with the program."


def timeline_drawing(assessments):
    """The timeline page's SVG chart as a ReportLab drawing, scaled to the text column."""
    drawing = svg2rlg(io.BytesIO(timeline_svg(assessments).encode()))
    factor = WIDTH / drawing.width
    drawing.scale(factor, factor)
    drawing.width, drawing.height = drawing.width * factor, drawing.height * factor
    return drawing


def history_pdf(patient, assessments):
    """A patient's whole history (newest first in ``assessments``) with the timeline chart, as a PDF."""
    assessments = list(assessments)
    story = [text("AlzAware results over time", "Title"), *who(patient), Spacer(1, 0.3 * cm),
             text(NOT_A_DIAGNOSIS, "Heading4")]
    if not assessments:
        story.append(text("No results yet."))
        return pdf_bytes(story, "AlzAware results over time")
    rows = [["Date", "Result", "Confidence", ANY_IMPAIRMENT, "Your doctor's review"]]
    rows += [[f"{a.created_at:%d %b %Y, %H:%M}", result_in_short(a), f"{a.confidence:.1%}",
              f"{a.any_impairment:.1%}", review_in_short(a)] for a in assessments]
    story += [timeline_drawing(assessments), text("Every result", "Heading3"),
              table(rows, [0.16, 0.24, 0.16, 0.16, 0.28])]
    return pdf_bytes(story, "AlzAware results over time")
