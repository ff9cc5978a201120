"""The headline of a reading (mri.headline) and the any-impairment estimate it is checked against."""

import math

from django.test import SimpleTestCase

from mri import combined
from mri.headline import (
    CANNOT_TELL,
    CLEAR,
    CLOSE,
    DEFAULT_RULE,
    DISAGREE,
    GRADE,
    Headline,
    headline,
    rule_from_checkpoint,
    track_record,
)
from tests.fixtures.reading import HOW_OFTEN_RIGHT


def probabilities(no, very_mild, mild, moderate=0.0):
    return {"No Impairment": no, "Very Mild Impairment": very_mild, "Mild Impairment": mild,
            "Moderate Impairment": moderate}


class HeadlineTests(SimpleTestCase):
    def test_a_near_tie_is_not_a_grade(self):
        p = probabilities(0.295, 0.334, 0.352, 0.019)
        self.assertEqual(headline(p, 0.705), Headline(CANNOT_TELL, None, CLOSE))

    def test_no_impairment_beside_a_63_percent_chance_of_impairment_cannot_be_told(self):
        p = probabilities(0.367, 0.25, 0.233, 0.15)
        self.assertEqual(headline(p, 0.633), Headline(CANNOT_TELL, None, DISAGREE))

    def test_an_impaired_grade_beside_a_low_chance_of_impairment_cannot_be_told(self):
        self.assertEqual(headline(probabilities(0.1, 0.6, 0.3), 0.3).reason, DISAGREE)

    def test_a_clear_reading_is_headlined_with_its_grade(self):
        self.assertEqual(headline(probabilities(0.7, 0.2, 0.1), 0.3), Headline(GRADE, "No Impairment", CLEAR))
        self.assertEqual(headline(probabilities(0.1, 0.7, 0.2), 0.9).grade, "Very Mild Impairment")

    def test_no_rule_can_headline_a_contradiction(self):
        loose = {"min_margin": 0.0, "no_impairment_below": 0.9, "impaired_from": 0.1}
        self.assertEqual(headline(probabilities(0.45, 0.30, 0.25), 0.55, loose).kind, CANNOT_TELL)
        self.assertEqual(headline(probabilities(0.05, 0.60, 0.35), 0.45, loose).kind, CANNOT_TELL)

    def test_a_stricter_rule_asks_for_a_wider_margin(self):
        p = probabilities(0.1, 0.55, 0.35)
        self.assertEqual(headline(p, 0.9).kind, GRADE)
        self.assertEqual(headline(p, 0.9, {"min_margin": 0.25}).reason, CLOSE)

    def test_the_rule_comes_from_the_checkpoint_or_the_default(self):
        self.assertEqual(rule_from_checkpoint({}), DEFAULT_RULE)
        stored = {"headline_rule": {"min_margin": 0.2, "right": {"grade": 0.6}}}
        self.assertEqual(rule_from_checkpoint(stored)["min_margin"], 0.2)
        self.assertEqual(set(rule_from_checkpoint(stored)), set(DEFAULT_RULE))

    def test_it_reads_as_plain_data_and_words(self):
        h = headline(probabilities(0.295, 0.334, 0.352, 0.019), 0.705)
        self.assertEqual(h.as_dict(), {"kind": "cannot_tell", "grade": None, "reason": "close"})
        self.assertIn("cannot tell", h.text)


class CombinedEstimateTests(SimpleTestCase):
    MODEL = {"features": [combined.NETWORK_LOGIT, "csf_fraction"], "coef": [1.0, 2.0], "mean": [0.0, 0.25],
             "scale": [1.0, 0.05], "intercept": -0.5}

    def test_without_a_model_it_is_the_networks_estimate(self):
        self.assertAlmostEqual(combined.combined_any_impairment(probabilities(0.3, 0.5, 0.2), {}, None), 0.7)

    def test_the_model_adds_the_measures_to_the_networks_logit(self):
        p = probabilities(0.5, 0.3, 0.2)  # network logit 0
        z = -0.5 + 2.0 * (0.30 - 0.25) / 0.05
        self.assertAlmostEqual(combined.combined_any_impairment(p, {"csf_fraction": 0.30}, self.MODEL),
                               1 / (1 + math.exp(-z)))

    def test_an_undefined_measure_counts_as_its_training_mean(self):
        p = probabilities(0.5, 0.3, 0.2)
        self.assertAlmostEqual(combined.combined_any_impairment(p, {"csf_fraction": float("nan")}, self.MODEL),
                               1 / (1 + math.exp(0.5)))
        self.assertEqual(combined.combined_any_impairment(p, {}, self.MODEL),
                         combined.combined_any_impairment(p, {"csf_fraction": float("nan")}, self.MODEL))


class TrackRecordTests(SimpleTestCase):
    stored = {"headline_rule": {"min_margin": 0.2, "how_often_right_nested": HOW_OFTEN_RIGHT}}

    def test_a_grade_counts_the_people_it_was_given_to_and_right_for(self):
        record = track_record(Headline(GRADE, "No Impairment", CLEAR), self.stored)
        self.assertEqual((record.given, record.right, record.people), (5, 4, 20))
        self.assertEqual(record.text, "We tested the program on 20 people it had not seen. It said “No Impairment” "
                                      "for 5 of them. It was right for 4.")

    def test_cannot_tell_counts_the_people_it_could_not_tell_for(self):
        record = track_record(Headline(CANNOT_TELL, None, CLOSE), self.stored)
        self.assertEqual((record.given, record.right), (12, None))
        self.assertEqual(record.text, "We tested the program on 20 people it had not seen. It could not tell for 12 "
                                      "of them.")

    def test_a_grade_never_given_says_its_rate_is_not_known(self):
        record = track_record(Headline(GRADE, "Moderate Impairment", CLEAR), self.stored)
        self.assertEqual((record.given, record.right), (0, 0))
        self.assertIn("It never said “Moderate Impairment”. So nobody knows how often that result is right.",
                      record.text)

    def test_a_checkpoint_without_the_figures_has_no_track_record(self):
        self.assertIsNone(track_record(Headline(GRADE, "No Impairment", CLEAR), {}))
        self.assertIsNone(track_record(Headline(GRADE, "No Impairment", CLEAR), {"headline_rule": {"min_margin": 1}}))
