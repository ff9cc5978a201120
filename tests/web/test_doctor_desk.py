"""The doctor's desk in the admin: the worklist as a doctor's home, "Save and next" through it, the agreement
statistics with their intervals, filters and cases, and reviews that outlive a patient's account."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from accounts.data_rights import delete_account
from accounts.models import User
from assessments.models import CANNOT_TELL, Assessment, Review
from assessments.review_statistics import agreement, bootstrap_intervals
from mri import CLASSES
from tests.base import PASSWORD, AlzAwareTestCase, make_patient, stored_assessment, stored_review

WORKLIST = reverse("admin:worklist")


def change_url(assessment):
    return reverse("admin:assessments_assessment_change", args=[assessment.pk])


def aged(assessment, days):
    """Submitted ``days`` ago (the worklist is ordered by it)."""
    Assessment.objects.filter(pk=assessment.pk).update(created_at=timezone.now() - timedelta(days=days))
    assessment.refresh_from_db()
    return assessment


class WorklistTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        self.second = make_patient("cy@example.com", "Cy", "Second")
        self.second.doctors.add(self.doctor)
        self.oldest = aged(stored_assessment(self.patient, seed=1), 30)
        self.middle = aged(stored_assessment(self.second, seed=2), 20)
        self.reviewed = aged(stored_assessment(self.patient, seed=3), 25)
        self.newest = aged(stored_assessment(self.second, seed=4), 1)
        stored_review(self.reviewed, self.doctor)
        aged(stored_assessment(self.other_patient, seed=5), 40)  # not this doctor's patient
        self.login(self.doctor)

    def listed(self, **params):
        response = self.client.get(WORKLIST, params)
        self.assertEqual(response.status_code, 200)
        return [row["assessment"] for row in response.context["rows"]]

    def test_a_doctor_lands_on_the_worklist_and_an_administrator_on_the_index(self):
        self.assertRedirects(self.client.get(reverse("admin:index")), WORKLIST)
        self.login(User.objects.create_superuser(email="root@example.com", password=PASSWORD))
        self.assertEqual(self.client.get(reverse("admin:index")).status_code, 200)

    def test_it_lists_exactly_the_unreviewed_assessments_of_their_patients_oldest_first(self):
        self.assertEqual(self.listed(), [self.oldest, self.middle, self.newest])

    def test_each_row_has_patient_age_date_format_grade_with_certainty_and_training_match(self):
        Assessment.objects.filter(pk=self.oldest.pk).update(ood_status="unsure", source_format="nifti")
        response = self.client.get(WORKLIST)
        row = response.context["rows"][0]
        self.assertEqual((row["age"], row["format"]), (78, "NIfTI volume"))
        self.assertContains(response, f"{self.oldest.prediction} (70.0%)")
        self.assertContains(response, '<strong class="outside-training">Outside training</strong>', count=1)

    def test_it_filters_by_patient_status_and_date(self):
        self.assertEqual(self.listed(patient=self.second.pk), [self.middle, self.newest])
        self.assertEqual(self.listed(status="reviewed"), [self.reviewed])
        self.assertEqual(self.listed(status="all"), [self.oldest, self.reviewed, self.middle, self.newest])
        since = (timezone.now() - timedelta(days=21)).date().isoformat()
        self.assertEqual(self.listed(since=since), [self.middle, self.newest])
        self.assertEqual(self.listed(since="not a date"), [self.oldest, self.middle, self.newest])

    def test_save_and_next_walks_the_worklist_then_returns_to_it(self):
        seen = []
        url = change_url(self.oldest)
        while url.startswith("/admin/assessments/"):
            seen.append(url)
            response = self.client.post(url, {"verdict": "agree", "sharing": "verdict", "_next": "Save and next"})
            self.assertEqual(response.status_code, 302)
            url = response["Location"]
        self.assertEqual(seen, [change_url(one) for one in (self.oldest, self.middle, self.newest)])
        self.assertEqual(url, WORKLIST)
        self.assertEqual(self.listed(), [])

    def test_save_and_next_keeps_the_worklists_filters(self):
        response = self.client.post(change_url(self.middle) + f"?patient={self.second.pk}",
                                    {"verdict": "agree", "sharing": "verdict", "_next": "Save and next"})
        self.assertEqual(response["Location"], change_url(self.newest) + f"?patient={self.second.pk}")

    def test_the_doctor_stays_view_only_on_patient_data(self):
        self.assertFalse(self.doctor.has_perm("accounts.change_patient"))
        self.assertFalse(self.doctor.has_perm("assessments.change_assessment"))
        self.assertFalse(self.doctor.has_perm("assessments.delete_assessment"))
        response = self.client.post(reverse("admin:assessments_assessment_delete", args=[self.oldest.pk]),
                                    {"post": "yes"})
        self.assertEqual(response.status_code, 403)
        self.assertTrue(Assessment.objects.filter(pk=self.oldest.pk).exists())


class AgreementTests(AlzAwareTestCase):
    # (model grade, doctor grade): 4 graded pairs, 3 of them agreeing, and one "cannot tell".
    PAIRS = [(CLASSES[0], CLASSES[0]), (CLASSES[0], CLASSES[1]), (CLASSES[2], CLASSES[2]),
             (CLASSES[1], CLASSES[1]), (CLASSES[3], CANNOT_TELL)]

    def setUp(self):
        super().setUp()
        for seed, (model_grade, doctor_grade) in enumerate(self.PAIRS):
            assessment = stored_assessment(self.patient, seed=seed, prediction=model_grade)
            verdict = {model_grade: "agree", CANNOT_TELL: "cannot_tell"}.get(doctor_grade, "other_grade")
            stored_review(assessment, self.doctor, verdict=verdict, grade=doctor_grade, reason="other",
                          note=f"Ada's scan {seed}", sharing="verdict_and_note")
        self.login(self.doctor)

    def shown(self, **params):
        response = self.client.get(reverse("admin:agreement"), params)
        self.assertEqual(response.status_code, 200)
        return response, response.context["agreement"]

    def test_the_page_shows_the_table_kappa_and_percent_agreement_with_intervals(self):
        response, shown = self.shown()
        self.assertEqual(shown.matrix, [[1, 1, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 1]])
        self.assertEqual((shown.reviews, shown.graded, shown.agreeing), (5, 4, 3))
        # By hand: observed agreement 3/4; chance (2·1 + 1·2 + 1·1)/16 = 5/16; kappa = (3/4 - 5/16)/(11/16).
        self.assertAlmostEqual(shown.kappa, 7 / 11, places=12)
        self.assertAlmostEqual(shown.weighted_kappa, 0.8, places=12)
        self.assertEqual(shown.percent_agreement, 0.75)
        self.assertContains(response, '<strong id="kappa">0.636</strong>', html=True)
        # Four reviews resampled: agreement can only be 0, 1/4, ... 1, and the interval must hold 3/4's neighbours.
        self.assertEqual((shown.percent_interval.low, shown.percent_interval.high), (0.25, 1.0))
        self.assertLessEqual(shown.kappa_interval.low, shown.kappa)
        self.assertEqual(shown.kappa_interval.high, 1.0)
        self.assertContains(response, "95% interval 25–100%")

    def test_each_cell_links_to_its_cases(self):
        response, _ = self.shown()
        link = (f"{reverse('admin:agreement_cases')}?model={CLASSES[0].replace(' ', '%20')}&amp;"
                f"doctor_grade={CLASSES[1].replace(' ', '%20')}")
        self.assertContains(response, f'href="{link}"')
        cases = self.client.get(reverse("admin:agreement_cases"), {"model": CLASSES[0], "doctor_grade": CLASSES[1]})
        self.assertEqual([(r.model_grade, r.grade) for r in cases.context["cases"]], [(CLASSES[0], CLASSES[1])])
        self.assertContains(cases, change_url(cases.context["cases"][0].assessment))
        self.assertEqual(self.client.get(reverse("admin:agreement_cases"), {"model": "x"}).status_code, 404)

    def test_it_filters_by_doctor_date_and_format(self):
        colleague = User.objects.create_user(email="dr.two@example.com", password=PASSWORD, is_staff=True)
        colleague.groups.add(self.doctor.groups.get())
        self.patient.doctors.add(colleague)
        stored_review(Assessment.objects.first(), colleague)
        self.assertEqual(self.shown()[1].reviews, 6)
        self.assertEqual(self.shown(doctor=colleague.pk)[1].reviews, 1)
        Review.objects.filter(author=self.doctor, grade=CANNOT_TELL).update(source_format="nifti")
        self.assertEqual(self.shown(source_format="nifti")[1].reviews, 1)
        Review.objects.filter(author=colleague).update(created_at=timezone.now() - timedelta(days=10))
        since = (timezone.now() - timedelta(days=2)).date().isoformat()
        self.assertEqual(self.shown(since=since)[1].reviews, 5)

    def test_a_patients_closed_account_leaves_the_doctors_statistics_as_they_were(self):
        before = self.shown()[1]
        reviews = list(Review.objects.values_list("pk", flat=True))
        delete_account(self.patient.user)
        after = self.shown()[1]
        self.assertEqual((after.reviews, after.matrix, after.kappa), (before.reviews, before.matrix, before.kappa))
        kept = Review.objects.filter(pk__in=reviews)
        self.assertEqual(kept.count(), 5)
        self.assertEqual(set(kept.values_list("assessment", "note", "sharing")), {(None, "", "not_yet")})
        self.assertEqual(set(kept.values_list("author", flat=True)), {self.doctor.pk})

    def test_a_doctor_counts_only_reviews_of_their_own_patients_or_their_own(self):
        stranger = User.objects.create_user(email="dr.three@example.com", password=PASSWORD, is_staff=True)
        self.login(stranger)
        self.assertEqual(self.shown()[1].reviews, 0)

    def test_a_patient_cannot_open_the_agreement_page(self):
        self.login(self.patient.user)
        response = self.client.get(reverse("admin:agreement"))
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith(reverse("admin:login")))

    def test_kappa_and_its_interval_are_undefined_without_reviews_or_with_one_grade_only(self):
        self.assertIsNone(agreement([], CANNOT_TELL).kappa)
        one_grade = agreement([(CLASSES[0], CLASSES[0])] * 3, CANNOT_TELL)
        self.assertEqual((one_grade.kappa, one_grade.kappa_interval), (None, None))
        self.assertEqual(bootstrap_intervals([CLASSES[0]], [CLASSES[0]]), (None, None))
        self.assertIsNone(agreement([(CLASSES[0], CANNOT_TELL)], CANNOT_TELL).kappa)
