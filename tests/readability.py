"""The prose a patient reads on a page, and how hard it is to read (textstat's Flesch-Kincaid grade)."""

from html.parser import HTMLParser

import textstat

# A US school grade: reading age is the grade plus 5, so grade 7 is a reading age of about 12.
PROSE_TAGS = {"p", "li", "summary", "figcaption", "dd", "div"}
SKIPPED = {"script", "style", "select", "option", "nav", "table"}


class Paragraphs(HTMLParser):
    """The text of each paragraph-like element inside <main>, with its inline markup dropped."""

    def __init__(self):
        super().__init__()
        self.in_main = self.skipping = 0
        self.open = []
        self.paragraphs = []

    def handle_starttag(self, tag, attrs):
        self.in_main += tag == "main"
        self.skipping += tag in SKIPPED
        if tag in PROSE_TAGS and self.in_main:
            self.open.append([])

    def handle_endtag(self, tag):
        self.in_main -= tag == "main"
        self.skipping -= tag in SKIPPED
        if tag in PROSE_TAGS and self.in_main and self.open:
            text = " ".join(" ".join(self.open.pop()).split())
            if text:
                self.paragraphs.append(text)

    def handle_data(self, data):
        if self.open and not self.skipping:
            self.open[-1].append(data)


def paragraphs(html):
    parser = Paragraphs()
    parser.feed(html)
    return parser.paragraphs


def grade(text):
    return textstat.flesch_kincaid_grade(text)


def page_figures(html):
    """(grade of all the page's prose, grade of its hardest paragraph of 8 words or more, that paragraph)."""
    found = paragraphs(html)
    sentences = " ".join(one if one[-1] in ".:!?" else one + "." for one in found)
    long_ones = [one for one in found if textstat.lexicon_count(one) >= 8]
    hardest = max(long_ones, key=grade, default="")
    return grade(sentences), grade(hardest) if hardest else 0.0, hardest
