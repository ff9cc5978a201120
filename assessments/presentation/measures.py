"""The atrophy measures as a patient, a doctor and the PDF read them: each measure's value, a small strip
drawn on the server showing where the scan sits among the training people without and with impairment,
and the same in words.

The strip is SVG made here, with presentation attributes only (no ``style``, no script), like the timeline
chart (:mod:`.chart`): inlined in a page it passes the strict Content-Security-Policy, and svglib draws the
same SVG into the PDF. Everything shown comes from what the upload stored (``Assessment.measures``):
nothing is measured again here.
"""

from dataclasses import dataclass

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe

from mri.measures import ANY_IMPAIRMENT, MEASURES, UNIMPAIRED, place

# (reference group, words, colour): Okabe-Ito blue and vermillion, each bar also named in words above it.
GROUPS = ((UNIMPAIRED, "people without impairment", "#0072B2"),
          (ANY_IMPAIRMENT, "people with some impairment", "#D55E00"))
WIDTH, HEIGHT, PAD = 320, 100, 10
FONT = 'font-family="Helvetica, Arial, sans-serif" font-size="12" fill="#1d2430"'
INK = "#1d2430"

STRIP_KEY = ("Each bar shows the middle half of the people the program learned from. The short line in a bar "
             "is the middle person. The black line is this scan.")
AGE_NOTE = "Brains shrink a little with age. So part of what these numbers show is age, not illness."
# For doctors (the admin): what the model card says about age, in one line.
AGE_NOTE_FOR_DOCTORS = ("Part of any atrophy reading is age: the training data carries no ages, and its No "
                        "Impairment group probably holds younger brains. Nothing here is adjusted for age.")
# What each measure is, in words a patient reads easily (mri.measures' own explanations are for doctors and
# the model card; tests.readability holds the result page to a reading age of about 12).
PLAIN_EXPLANATIONS = {
    "csf_fraction": "How much of the space inside the skull is fluid, not brain. It grows as the brain shrinks. "
                    "Age does this, and so can dementia.",
    "central_csf_fraction": "How much of the middle of the brain is fluid. Most of it is in the open spaces deep "
                            "in the brain. They get wider as the brain around them shrinks.",
    "peripheral_csf_fraction": "How much of the outer part of the brain is fluid. Most of it is in the grooves "
                               "between the folds. They get wider as the brain shrinks.",
    "medial_temporal_csf": "How much fluid there is near the memory areas, low in the brain on each side. This is "
                           "where Alzheimer's disease most often starts. We can only measure it on a scan with "
                           "many slices.",
}
NOT_MEASURED = "Not measured for this scan."
NO_REFERENCE = "No figures from the people the program learned from, so no comparison."


@dataclass(frozen=True)
class MeasureRow:
    key: str
    label: str
    explanation: str
    value: float | None
    placed: dict  # mri.measures.place's answer; {} without a reference
    svg: str  # the strip, '' when there is nothing to place
    words: list  # sentences: where the value sits in each group


def percent_text(value, decimals=1):
    return f"{value * 100:.{decimals}f}%"


def measure_rows(stored):
    """``[MeasureRow]`` in :data:`MEASURES`' order from an assessment's stored ``measures``; [] when none."""
    if not stored:
        return []
    rows = []
    for one in MEASURES:
        entry = stored.get(one.key) or {}
        value = entry.get("value")
        placed = place(value, entry.get("reference") or {}) if value is not None else {}
        rows.append(MeasureRow(key=one.key, label=one.label, value=value, placed=placed,
                               explanation=PLAIN_EXPLANATIONS.get(one.key, one.explanation),
                               svg=strip_svg(one.key, one.label, placed), words=comparison_words(value, placed)))
    return rows


def comparison_words(value, placed):
    """Where ``value`` sits in each group, said as "N in 100" (rounded to 5: the ranges are approximate)."""
    if value is None:
        return [NOT_MEASURED]
    if not placed:
        return [NO_REFERENCE]
    sentences = []
    for group, words, _ in GROUPS:
        percentile = (placed["groups"].get(group) or {}).get("percentile")
        if percentile is None:
            continue
        share = int(5 * round(percentile / 5))
        if share == 100:
            sentences.append(f"More than for almost all {words}.")
        elif share == 0:
            sentences.append(f"Less than for almost all {words}.")
        elif share == 50:
            sentences.append(f"About the middle of {words}.")
        elif share > 50:
            sentences.append(f"Higher than in about {share} in 100 {words}.")
        else:
            sentences.append(f"Lower than in about {100 - share} in 100 {words}.")
    return sentences


def x_of(value, axis):
    low, high = axis
    return PAD + (WIDTH - 2 * PAD) * (value - low) / max(high - low, 1e-9)


def group_bar(y, figures, axis, colour):
    """One group's middle half (quartiles) as a bar and its median as a tick."""
    q1, median, q3 = (x_of(figures[name], axis) for name in ("q1", "median", "q3"))
    return [f'<rect x="{q1:.1f}" y="{y}" width="{max(q3 - q1, 2):.1f}" height="12" fill="{colour}"/>',
            f'<line x1="{median:.1f}" y1="{y - 3}" x2="{median:.1f}" y2="{y + 15}" stroke="{INK}" '
            f'stroke-width="2"/>']


def group_label(y, words):
    """A group's name above its bar, on a white box so that the scan's line never runs through the words
    (the box's width is estimated from the text's length: SVG cannot measure text without a script)."""
    text = words.capitalize()
    return [f'<rect x="{PAD - 2}" y="{y - 15}" width="{len(text) * 6.3 + 4:.1f}" height="14" fill="#ffffff"/>',
            f'<text x="{PAD}" y="{y - 4}" {FONT}>{escape(text)}</text>']


def marker_line(value, axis):
    """This scan: a black line through both bars."""
    x = x_of(value, axis)
    return f'<line x1="{x:.1f}" y1="16" x2="{x:.1f}" y2="82" stroke="#000000" stroke-width="3"/>'


def marker_label(value, axis):
    """The scan's value above the bars, kept inside the strip near either end."""
    x = x_of(value, axis)
    anchor = "start" if x < WIDTH * 0.25 else "end" if x > WIDTH * 0.75 else "middle"
    return (f'<text x="{x:.1f}" y="12" text-anchor="{anchor}" {FONT} font-weight="bold">'
            f'This scan: {percent_text(value)}</text>')


def strip_svg(key, label, placed):
    """The strip of one measure as an SVG string; '' when the value or the reference is missing."""
    if not placed or placed.get("value") is None:
        return ""
    axis = placed["axis"]
    rows = [(36 + 26 * row, group, words, colour) for row, (group, words, colour) in enumerate(GROUPS)
            if group in placed["groups"]]
    # Drawn in layers: the bars, the scan's line over them, the names over the line.
    parts = [f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>']
    parts += [part for y, group, _, colour in rows for part in group_bar(y, placed["groups"][group], axis, colour)]
    parts.append(marker_line(placed["value"], axis))
    parts += [part for y, _, words, _ in rows for part in group_label(y, words)]
    parts += [f'<line x1="{PAD}" y1="82" x2="{WIDTH - PAD}" y2="82" stroke="{INK}" stroke-width="1"/>',
              f'<text x="{PAD}" y="96" {FONT}>{percent_text(axis[0], 0)}</text>',
              f'<text x="{WIDTH - PAD}" y="96" text-anchor="end" {FONT}>{percent_text(axis[1], 0)}</text>',
              marker_label(placed["value"], axis)]
    title = f"{label}: where this scan sits"
    description = " ".join([f"This scan: {percent_text(placed['value'])}."] + [
        f"Middle half of {words}: {percent_text(placed['groups'][group]['q1'])} to "
        f"{percent_text(placed['groups'][group]['q3'])}." for group, words, _ in GROUPS if group in placed["groups"]])
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}" role="img" aria-labelledby="strip-{key}-title strip-{key}-desc">'
            f'<title id="strip-{key}-title">{escape(title)}</title>'
            f'<desc id="strip-{key}-desc">{escape(description)}</desc>' + "".join(parts) + "</svg>")


def page_context(assessment):
    """What the result page shows of the reading beside the grade."""
    rows = measure_rows(assessment.measures)
    return {"measure_rows": rows, "age_at_scan": assessment.age_at_scan(), "age_note": AGE_NOTE,
            "strip_key": STRIP_KEY if any(row.svg for row in rows) else ""}


def range_text(figures):
    return f"{percent_text(figures['q1'])} / {percent_text(figures['median'])} / {percent_text(figures['q3'])}" \
        f" (n={figures.get('n', '?')})"


def doctors_table(assessment):
    """The measures for the doctors' admin: value, strip and both groups' quartiles, the age at the scan and
    what age means here; '-' when the assessment has none (made before the measures were)."""
    rows = measure_rows(assessment.measures)
    if not rows:
        return "-"
    cells = []
    for row in rows:
        groups = row.placed.get("groups", {}) if row.placed else {}
        cells.append((row.label, "-" if row.value is None else percent_text(row.value),
                      mark_safe(row.svg) if row.svg else " ".join(row.words),  # our own SVG, escaped where drawn
                      *(range_text(groups[g]) if g in groups else "-" for g, _, _ in GROUPS)))
    body = format_html_join("", "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"measure-strip\">{}</td>"
                                "<td>{}</td><td>{}</td></tr>", cells)
    return format_html(
        '<p>Age at this scan: {}. {}</p><table class="admin-measures"><tr><th>Measure</th><th>Value</th>'
        "<th>Where it sits</th><th>No Impairment Q1 / median / Q3</th><th>Any impairment Q1 / median / Q3</th>"
        "</tr>{}</table>", assessment.age_at_scan(), AGE_NOTE_FOR_DOCTORS, body)
