"""The one-line headline of a reading: a grade when the reading supports one, "cannot tell" when it does not.

Two readings sit side by side on every result: the four class probabilities (the grade is the likeliest) and
the probability of any impairment. A grade is headlined only when

* it leads the runner-up by at least ``rule["min_margin"]`` (a near-tie is not a grade), and
* it points the same way as the any-impairment probability: "No Impairment" only below
  ``rule["no_impairment_below"]``, an impaired grade only at or above ``rule["impaired_from"]``.

Whatever a rule says, "No Impairment" is never headlined at an any-impairment probability of 0.5 or more,
nor an impaired grade below 0.5. The rule's numbers are chosen on out-of-fold data (``training`` writes them
into the checkpoint as ``headline_rule``, with how often each headline was right); :data:`DEFAULT_RULE`
applies when a checkpoint has none. The same function serves the page, the PDF, the API and the admin.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

GRADE, CANNOT_TELL = "grade", "cannot_tell"
KINDS = (GRADE, CANNOT_TELL)
CLEAR, CLOSE, DISAGREE = "clear", "close", "disagree"
REASONS = (CLEAR, CLOSE, DISAGREE)

# What each reason means in plain words, for every place that shows a headline.
REASON_TEXT = {
    CLEAR: "The likeliest grade leads the others clearly and agrees with the chance of any impairment.",
    CLOSE: "Two or more grades are about equally likely, so the program cannot tell which applies.",
    DISAGREE: ("The likeliest grade and the chance of any impairment point different ways, so the program "
               "cannot tell."),
}

NO_IMPAIRMENT = "No Impairment"
DEFAULT_RULE = {"min_margin": 0.10, "no_impairment_below": 0.5, "impaired_from": 0.5}


@dataclass(frozen=True)
class Headline:
    kind: str  # one of KINDS
    grade: str | None  # the class name headlined; None when the program cannot tell
    reason: str  # one of REASONS

    @property
    def text(self) -> str:
        return REASON_TEXT[self.reason]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rule_from_checkpoint(checkpoint: Mapping[str, Any] | None) -> dict[str, float]:
    """The checkpoint's ``headline_rule`` (its numbers only), or :data:`DEFAULT_RULE`."""
    stored = (checkpoint or {}).get("headline_rule") or {}
    return {key: float(stored.get(key, default)) for key, default in DEFAULT_RULE.items()}


def headline(class_probabilities: Mapping[str, float], any_impairment: float,
             rule: Mapping[str, float] | None = None) -> Headline:
    """The :class:`Headline` of a reading: ``{class name: probability}`` and P(any impairment)."""
    rule = {**DEFAULT_RULE, **(rule or {})}
    ranked = sorted(class_probabilities.items(), key=lambda item: -float(item[1]))
    (top, p_top), p_next = ranked[0], (float(ranked[1][1]) if len(ranked) > 1 else 0.0)
    if float(p_top) - p_next < float(rule["min_margin"]):
        return Headline(CANNOT_TELL, None, CLOSE)
    any_impairment = float(any_impairment)
    if top == NO_IMPAIRMENT:
        agrees = any_impairment < min(float(rule["no_impairment_below"]), 0.5)
    else:
        agrees = any_impairment >= max(float(rule["impaired_from"]), 0.5)
    if not agrees:
        return Headline(CANNOT_TELL, None, DISAGREE)
    return Headline(GRADE, top, CLEAR)


@dataclass(frozen=True)
class TrackRecord:
    """How often a headline was right on the people no model that read them had seen: the rule's nested
    cross-validated figures, stored with it in the checkpoint (``headline_rule["how_often_right_nested"]``).

    ``given``: of the ``people`` tested, how many got this headline; ``right``: of those, how many had that
    grade (None for "cannot tell", which names no grade).
    """

    grade: str | None
    given: int
    right: int | None
    people: int

    @property
    def text(self) -> str:
        # Short sentences: patients read this (the pages' readability test holds it to a reading age of 12).
        tested = f"We tested the program on {self.people} people it had not seen."
        if self.grade is None:
            return f"{tested} It could not tell for {self.given} of them."
        if not self.given:
            return f"{tested} It never said “{self.grade}”. So nobody knows how often that result is right."
        return f"{tested} It said “{self.grade}” for {self.given} of them. It was right for {self.right}."

    def as_dict(self) -> dict[str, Any]:
        return {"given": self.given, "right": self.right, "people": self.people, "text": self.text}


def track_record(said: Headline, checkpoint: Mapping[str, Any] | None) -> TrackRecord | None:
    """The :class:`TrackRecord` of ``said`` under the checkpoint's rule, or None when the checkpoint has none."""
    stored = ((checkpoint or {}).get("headline_rule") or {}).get("how_often_right_nested") or {}
    # Every person tested got exactly one headline: a grade or "cannot tell" ("any grade" sums the grades).
    counts = {key: int(entry["given"]) for key, entry in stored.items() if key != "any grade"}
    key = CANNOT_TELL if said.kind == CANNOT_TELL else said.grade
    if key not in counts:
        return None
    given = counts[key]
    right = None if key == CANNOT_TELL else round(float(stored[key]["right"] or 0) * given)
    return TrackRecord(grade=said.grade, given=given, right=right, people=sum(counts.values()))
