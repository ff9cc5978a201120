"""A PDF looked at as paper: its pages rendered to images by poppler's pdftoppm (Debian's poppler-utils, which
.ci/run installs), and two checks a reader would make by eye: no text crossing a table's cell border, and no ink
in the page's margins."""

import io
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import numpy as np
from PIL import Image

PDFTOPPM = shutil.which("pdftoppm")
DPI = 100
INK = 160  # gray levels below this are ink; the tables' grid is drawn in a lighter grey, text in black
RULE = 200  # a grid line's grey
# A vertical grid line is at least this long (two table rows); no glyph of the reports' fonts is.
RULE_LENGTH = 40
# Text stays this far from a cell's border (ReportLab pads cells by 6 pt, 8 px at 100 dpi): ink this close on
# both sides of a border, on a row that is no horizontal rule, is text running across it.
NEAR = 3


def require_pdftoppm():
    if PDFTOPPM is None:
        raise unittest.SkipTest("pdftoppm is absent: install Debian's poppler-utils, as .ci/run does")


def pages(pdf):
    """Each page of ``pdf`` (bytes) as a 2-D uint8 gray array at DPI."""
    require_pdftoppm()
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "report.pdf"
        source.write_bytes(pdf)
        subprocess.run([PDFTOPPM, "-r", str(DPI), "-gray", "-png", str(source), str(Path(folder) / "page")],
                       check=True, capture_output=True, timeout=120)
        return [np.asarray(Image.open(io.BytesIO(path.read_bytes())).convert("L"))
                for path in sorted(Path(folder).glob("page*.png"))]


def vertical_rules(page):
    """``[(x, top, bottom)]``: runs of grid grey at least RULE_LENGTH long in one pixel column, with paper
    beside them for most of their length (a dark column inside a picture is no rule)."""
    dark = page < RULE
    found = []
    for x in range(NEAR, page.shape[1] - NEAR):
        column = np.concatenate([[False], dark[:, x], [False]])
        edges = np.flatnonzero(np.diff(column.astype(np.int8)))
        for top, bottom in zip(edges[::2], edges[1::2]):
            beside = (dark[top:bottom, x - NEAR].mean() + dark[top:bottom, x + NEAR].mean()) / 2
            if bottom - top >= RULE_LENGTH and beside < 0.5:
                found.append((x, top, bottom))
    return found


def text_across_borders(page):
    """``[(x, y)]`` where ink lies right beside a vertical grid line on both sides: text crossing a cell border.
    Rows where a horizontal rule meets the line are skipped."""
    ink = page < INK
    rule_rows = (page < RULE)
    crossings = []
    for x, top, bottom in vertical_rules(page):
        for y in range(top, bottom):
            if rule_rows[y, x - NEAR:x + NEAR + 1].all():
                continue  # a horizontal rule crosses here
            if ink[y, x - NEAR] and ink[y, x + NEAR]:
                crossings.append((x, y))
    return crossings


def margin_ink(page, margin_cm=1.0):
    """How many ink pixels lie within ``margin_cm`` of the page's left or right edge."""
    margin = int(margin_cm / 2.54 * DPI)
    ink = page < INK
    return int(ink[:, :margin].sum() + ink[:, -margin:].sum())
