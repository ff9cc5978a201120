"""The research behind issue 21's reading: reference ranges, the stacked estimate, the headline rule, the marks."""

import numpy as np
from django.test import SimpleTestCase

from mri import CLASSES, measures
from mri.headline import CANNOT_TELL
from training import headline_rule, measures_reference, reading
from training.ood_marks import cross_fitted_rate


class ReferenceBuildTests(SimpleTestCase):
    def test_each_class_and_any_impairment_gets_its_quartiles_and_count(self):
        values = {f"p{i}": {k: float(i) for k in measures.KEYS} for i in range(8)}
        groups = {f"p{i}": CLASSES[0] if i < 4 else CLASSES[1] for i in range(8)}
        reference = measures_reference.build(values, groups, CLASSES)
        self.assertEqual(reference["csf_fraction"][CLASSES[0]]["median"], 1.5)
        self.assertEqual(reference["csf_fraction"][CLASSES[0]]["q1"], 0.75)
        self.assertEqual(reference["csf_fraction"][measures.ANY_IMPAIRMENT]["n"], 4)
        self.assertNotIn(CLASSES[3], reference["csf_fraction"])  # a class without people has no range

    def test_a_persons_medial_temporal_value_comes_from_their_lowest_third(self):
        per_slice = [{k: float(s) for k in measures.KEYS} for s in range(9)]
        values = measures_reference.person_values(per_slice, ["a"] * 9, list(range(9)))
        self.assertEqual(values["a"]["csf_fraction"], 4.0)
        self.assertEqual(values["a"]["medial_temporal_csf"], 1.0)  # slices 0, 1, 2


class StackingTests(SimpleTestCase):
    def test_nested_stacking_finds_an_informative_feature_and_not_a_noisy_one(self):
        rng = np.random.default_rng(0)
        y = np.repeat([0, 1], 60)
        folds = np.tile(np.arange(5), 24)
        from sklearn.metrics import roc_auc_score

        signal = (y + rng.normal(0, 0.5, len(y)))[:, None]
        noise = rng.normal(0, 1, (len(y), 1))
        self.assertGreater(roc_auc_score(y, reading.nested(signal, y, folds)[0]), 0.9)
        self.assertLess(abs(roc_auc_score(y, reading.nested(noise, y, folds)[0]) - 0.5), 0.2)

    def test_the_paired_gain_of_a_reading_over_itself_is_zero(self):
        y = np.repeat([0, 1], 20)
        score = np.linspace(0, 1, 40)
        gain = reading.paired_gain(y, score, score, n=50)
        self.assertEqual((gain["gain"], gain["interval"]), (0.0, [0.0, 0.0]))


class HeadlineRuleTests(SimpleTestCase):
    def test_when_near_ties_are_wrong_the_chosen_rule_does_not_headline_them(self):
        clear = [[0.8, 0.1, 0.1, 0.0]] * 20
        tied = [[0.36, 0.34, 0.30, 0.0]] * 20
        probs = np.array(clear + tied)
        any_impairment = 1 - probs[:, 0]
        labels = np.array([0] * 20 + [1] * 20)  # the ties are truly Very Mild: "No Impairment" would be wrong
        rule = headline_rule.choose(probs, any_impairment, labels)
        said = headline_rule.headlines(probs, any_impairment, rule)
        self.assertTrue(all(h.grade == CLASSES[0] for h in said[:20]))
        self.assertTrue(all(h.kind == CANNOT_TELL for h in said[20:]))
        right = headline_rule.how_often_right(said, labels)
        self.assertEqual(right[CLASSES[0]], {"given": 20, "right": 1.0})
        self.assertEqual(right[CANNOT_TELL]["true_classes"], {CLASSES[1]: 20})


class MarkRateTests(SimpleTestCase):
    def test_the_cross_fitted_mark_rate_of_ordinary_slices_is_near_the_quantile_left_over(self):
        rng = np.random.default_rng(1)
        people = np.repeat([f"p{i}" for i in range(40)], 25)
        distances = rng.gamma(4.0, 10.0, len(people))
        figures = cross_fitted_rate(distances, people, 0.99, bootstrap=100)
        self.assertLess(abs(figures["marked"] - 0.01), 0.01)
        self.assertEqual(figures["people"], 40)
