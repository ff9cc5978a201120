"""A patient's visits over time as one SVG line chart, drawn on the server (no front-end framework).

Each series has its own line style and marker as well as its own colour
(Okabe-Ito, distinguishable with colour-blindness), and a legend names them,
so the chart reads without colour. Only SVG presentation attributes are used
(no ``style`` attributes, no ``<style>``, no script): inlined in a page it
passes a strict Content-Security-Policy, and svglib draws the same SVG into
the PDF report. Scans are spaced evenly in the order they were taken, each
labelled with the day it was taken (an upload day standing in for an unknown
one is marked *): two scans of one day stay apart.
"""

from django.utils.html import escape

from mri import CLASSES

ANY_IMPAIRMENT = "Any impairment"
# (label, colour, dash pattern, marker): the four grades, then the one-number summary drawn heavier.
SERIES = (
    (CLASSES[0], "#0072B2", "", "circle"),
    (CLASSES[1], "#E69F00", "8 4", "square"),
    (CLASSES[2], "#009E73", "2 3", "triangle"),
    (CLASSES[3], "#CC79A7", "10 3 2 3", "diamond"),
    (ANY_IMPAIRMENT, "#000000", "", "cross"),
)
WIDTH, HEIGHT = 720, 360
LEFT, RIGHT, TOP, BOTTOM = 56, 24, 20, 110  # room for the axis labels and the legend below
FONT = 'font-family="Helvetica, Arial, sans-serif" font-size="12"'


def visit_values(assessment):
    """``{series label: 0..1}`` of one visit: the four probabilities and any-impairment."""
    values = dict(assessment.ordered_probabilities())
    values[ANY_IMPAIRMENT] = assessment.any_impairment
    return values


def marker(kind, x, y, colour, title):
    tip = f"<title>{escape(title)}</title>"
    if kind == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour}">{tip}</circle>'
    if kind == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}">{tip}</rect>'
    if kind == "triangle":
        return (f'<polygon points="{x:.1f},{y - 5.5:.1f} {x + 5:.1f},{y + 4:.1f} {x - 5:.1f},{y + 4:.1f}" '
                f'fill="{colour}">{tip}</polygon>')
    if kind == "diamond":
        return (f'<polygon points="{x:.1f},{y - 5.5:.1f} {x + 5.5:.1f},{y:.1f} {x:.1f},{y + 5.5:.1f} '
                f'{x - 5.5:.1f},{y:.1f}" fill="{colour}">{tip}</polygon>')
    return (f'<path d="M{x - 5:.1f},{y - 5:.1f}L{x + 5:.1f},{y + 5:.1f}M{x - 5:.1f},{y + 5:.1f}'
            f'L{x + 5:.1f},{y - 5:.1f}" stroke="{colour}" stroke-width="2.5">{tip}</path>')


def axes(labels, xs, plot_height):
    """Grid lines every 25%, the percentage axis and each visit's date under its position."""
    parts = []
    for tick in (0, 25, 50, 75, 100):
        y = TOP + plot_height * (1 - tick / 100)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#cccccc"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{tick}%</text>')
    for x, label in zip(xs, labels):
        parts.append(f'<text x="{x:.1f}" y="{TOP + plot_height + 18:.1f}" text-anchor="middle" {FONT}>'
                     f'{escape(label)}</text>')
    return parts


def legend(y):
    parts = []
    for i, (name, colour, dash, kind) in enumerate(SERIES):
        x = LEFT + (i % 3) * 220
        row_y = y + (i // 3) * 24
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<line x1="{x}" y1="{row_y}" x2="{x + 36}" y2="{row_y}" stroke="{colour}" '
                     f'stroke-width="2.5"{dashes}/>')
        parts.append(marker(kind, x + 18, row_y, colour, name))
        parts.append(f'<text x="{x + 44}" y="{row_y + 4}" {FONT}>{escape(name)}</text>')
    return parts


def by_scan_date(assessments):
    """Oldest scan first: the day each scan was taken (its upload day where that is unknown), then the upload."""
    return sorted(assessments, key=lambda a: (a.scan_day, a.created_at, a.pk))


def day_label(assessment):
    """The scan's day; an upload day standing in for it is marked with an asterisk (the chart's note says so)."""
    return f"{assessment.scan_day:%d %b %Y}" + ("" if assessment.scan_date_known else "*")


def timeline_svg(assessments, title="Results over time"):
    """The chart of ``assessments`` (any order; drawn by scan date) as an SVG string, '' for none."""
    visits = by_scan_date(assessments)
    if not visits:
        return ""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_width / len(visits)
    xs = [LEFT + step * (i + 0.5) for i in range(len(visits))]
    labels = [day_label(a) for a in visits]
    values = [visit_values(a) for a in visits]
    parts = axes(labels, xs, plot_height)
    for name, colour, dash, kind in SERIES:
        points = [(x, TOP + plot_height * (1 - v[name])) for x, v in zip(xs, values)]
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        width = 3 if name == ANY_IMPAIRMENT else 2
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="{width}"{dashes}/>')
        parts += [marker(kind, x, y, colour, f"{name}, {label}: {v[name]:.1%}")
                  for (x, y), label, v in zip(points, labels, values)]
    parts += legend(TOP + plot_height + 48)
    description = f"{len(visits)} scan(s) taken from {labels[0]} to {labels[-1]}; the table below gives every value."
    if not all(a.scan_date_known for a in visits):
        description += " * The day the scan was sent: the day it was taken is not known."
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}" role="img" aria-labelledby="timeline-title timeline-desc">'
            f'<title id="timeline-title">{escape(title)}</title><desc id="timeline-desc">{escape(description)}</desc>'
            f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>' + "".join(parts) + "</svg>")
