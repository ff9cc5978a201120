"""The reading beside the grade in the PDF report: the honest headline and the atrophy measures with the
page's own strips (drawn into the PDF by svglib from the same SVG), the age at the scan and what age means.

Every text is a Paragraph inside a fixed-width cell, so it wraps instead of running off the page.
"""

import io

from reportlab.lib.units import cm
from reportlab.platypus import KeepTogether, Table
from svglib.svglib import svg2rlg

from assessments.presentation.measures import AGE_NOTE, STRIP_KEY, measure_rows, percent_text

STRIP_WIDTH = 7.6 * cm


def headline_lines(assessment, text):
    """``[Paragraph]``: "Result: <grade>", or that the program cannot tell and why."""
    lines = [text(f"Result: {assessment.headline_words}", "Heading2")]
    if assessment.says_cannot_tell:
        lines.append(text(f"{assessment.headline.text} The probabilities below are all it can say."))
    return lines


def strip_drawing(svg, width=STRIP_WIDTH):
    """A strip's SVG as a ReportLab drawing ``width`` wide."""
    drawing = svg2rlg(io.BytesIO(svg.encode()))
    factor = width / drawing.width
    drawing.scale(factor, factor)
    drawing.width, drawing.height = drawing.width * factor, drawing.height * factor
    return drawing


def measure_cell(row, text):
    value = "not measured" if row.value is None else percent_text(row.value)
    cell = [text(f"{row.label}: {value}", "Heading4")]
    if row.svg:
        cell.append(strip_drawing(row.svg))
    cell.append(text(" ".join(row.words)))
    return cell


def measures_section(assessment, text, width):
    """The measures two by two, each with its strip and words; [] when the assessment has none."""
    rows = measure_rows(assessment.measures)
    if not rows:
        return []
    cells = [measure_cell(row, text) for row in rows]
    grid = [cells[i:i + 2] + [""] * (2 - len(cells[i:i + 2])) for i in range(0, len(cells), 2)]
    # Kept together: on the second page when the first is full, never split from its heading.
    return [KeepTogether([
        text("Fluid inside the skull, measured on the scan", "Heading3"),
        text(f"Age at this scan: {assessment.age_at_scan()}. {AGE_NOTE}"
             + (f" {STRIP_KEY}" if any(row.svg for row in rows) else "")),
        Table(grid, colWidths=[width / 2, width / 2],
              style=[("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                     ("RIGHTPADDING", (0, 0), (-1, -1), 8), ("BOTTOMPADDING", (0, 0), (-1, -1), 8)])])]
