"""A doctor's review of an assessment: recorded in the admin, shown to the patient and through the API, and the
staff page of agreement between the model and the doctors."""

from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.models import User
from assessments import intake
from assessments.models import CANNOT_TELL, Assessment, Review
from assessments.review_statistics import agreement
from assessments.reviews import save_review
from mri import CLASSES
from tests.base import PASSWORD, AlzAwareTestCase, drawn_brain_slice, image_bytes


def review_form(assessment, agrees=True, grade="", note="", share_note=False, review_id=""):
    """The assessment's admin change form as a doctor submits it: only the review inline is editable."""
    data = {
        "reviews-TOTAL_FORMS": "1", "reviews-INITIAL_FORMS": "1" if review_id else "0",
        "reviews-MIN_NUM_FORMS": "0", "reviews-MAX_NUM_FORMS": "1",
        "reviews-0-id": review_id, "reviews-0-assessment": assessment.pk,
        "reviews-0-grade": grade, "reviews-0-note": note,
    }
    if agrees:
        data["reviews-0-agrees"] = "on"
    if share_note:
        data["reviews-0-share_note"] = "on"
    return data


def other_grade(prediction):
    return next(name for name in CLASSES if name != prediction)


class DoctorReviewTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        self.assessment = intake.assess_upload(self.patient, image_bytes(drawn_brain_slice(41)))
        self.change_url = reverse("admin:assessments_assessment_change", args=[self.assessment.pk])

    def review(self, doctor=None, **form):
        self.login(doctor or self.doctor)
        return self.client.post(self.change_url, review_form(self.assessment, **form))

    def test_two_new_review_forms_sent_at_once_save_one_review_and_no_error(self):
        # Both pages were opened before either form was sent: each posts a new review.
        first = self.review(note="First tab.")
        second = self.review(note="Second tab.")
        self.assertEqual((first.status_code, second.status_code), (302, 302))
        review = Review.objects.get()
        self.assertEqual((review.note, review.author), ("Second tab.", self.doctor))

    def test_a_doctor_records_an_agreeing_review_stored_with_author_and_time(self):
        response = self.review(note="Fits the clinical picture.")
        self.assertEqual(response.status_code, 302)
        review = Review.objects.get()
        self.assertEqual(review.author, self.doctor)
        self.assertEqual(review.assessment, self.assessment)
        self.assertTrue(review.agrees)
        self.assertEqual(review.grade, self.assessment.prediction)
        self.assertEqual(review.note, "Fits the clinical picture.")
        self.assertFalse(review.share_note)
        self.assertIsNotNone(review.created_at)

    def test_a_disagreeing_doctor_gives_their_own_grade_or_cannot_tell(self):
        self.assertEqual(self.review(agrees=False, grade=CANNOT_TELL).status_code, 302)
        self.assertEqual(Review.objects.get().grade, CANNOT_TELL)

    def test_a_disagreement_without_a_grade_or_with_the_models_grade_is_refused(self):
        for grade in ("", self.assessment.prediction):
            response = self.review(agrees=False, grade=grade)
            self.assertEqual(response.status_code, 200)
            self.assertContains(response, "errornote")
        self.assertEqual(Review.objects.count(), 0)

    def test_agreeing_while_giving_another_grade_is_refused(self):
        response = self.review(agrees=True, grade=other_grade(self.assessment.prediction))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(Review.objects.count(), 0)

    def test_the_author_edits_their_review(self):
        self.review(note="First look.")
        review = Review.objects.get()
        response = self.review(note="Second look.", review_id=review.pk)
        self.assertEqual(response.status_code, 302)
        review.refresh_from_db()
        self.assertEqual(review.note, "Second look.")
        self.assertEqual(Review.objects.count(), 1)

    def test_another_doctor_can_neither_see_a_form_for_nor_change_someone_elses_review(self):
        self.review(note="Mine.")
        review = Review.objects.get()
        colleague = User.objects.create_user(email="dr.two@example.com", password=PASSWORD, first_name="Lisa",
                                             last_name="Cuddy", is_staff=True)
        colleague.groups.add(self.doctor.groups.get())
        self.patient.doctors.add(colleague)
        self.login(colleague)
        page = self.client.get(self.change_url)
        self.assertEqual(page.context["inline_admin_formsets"][0].formset.queryset.count(), 0)
        self.assertContains(page, "Mine.")  # read-only, in the list of reviews
        self.client.post(self.change_url, review_form(self.assessment, note="Overwritten.", review_id=review.pk))
        review.refresh_from_db()
        self.assertEqual(review.note, "Mine.")
        self.assertEqual(review.author, self.doctor)
        review.note = "Overwritten."
        with self.assertRaises(PermissionDenied):
            save_review(review, colleague)

    def test_a_doctor_cannot_review_an_assessment_of_a_patient_not_theirs(self):
        other = intake.assess_upload(self.other_patient, image_bytes(drawn_brain_slice(42)))
        self.login(self.doctor)
        url = reverse("admin:assessments_assessment_change", args=[other.pk])
        response = self.client.post(url, review_form(other))
        self.assertEqual(response.status_code, 302)
        self.assertEqual(response["Location"], reverse("admin:index"))
        self.assertEqual(Review.objects.count(), 0)

    def test_the_patient_sees_who_reviewed_and_when_and_the_note_only_when_shared(self):
        self.review(note="Private working note.")
        self.login(self.patient.user)
        page = self.client.get(self.assessment.get_absolute_url())
        reviewed_on = Review.objects.get().created_at.strftime("%-d %B %Y")
        self.assertContains(page, f"Reviewed by Dr Gregory House on {reviewed_on}.")
        self.assertNotContains(page, "Private working note.")
        self.review(note="Nothing to worry about here.", share_note=True, review_id=Review.objects.get().pk)
        self.login(self.patient.user)
        self.assertContains(self.client.get(self.assessment.get_absolute_url()), "Nothing to worry about here.")

    def test_an_unreviewed_result_page_says_nothing_about_a_review(self):
        self.login(self.patient.user)
        self.assertNotContains(self.client.get(self.assessment.get_absolute_url()), "Reviewed by")

    def test_the_api_list_and_detail_carry_the_reviews_as_the_patient_sees_them(self):
        self.review(note="Unshared.")
        self.login(self.patient.user)
        listed = self.client.get(reverse("api-assessments")).json()["results"]
        detail = self.client.get(reverse("api-assessment", args=[self.assessment.pk])).json()
        review = Review.objects.get()
        expected = [{"reviewer": "Dr Gregory House", "reviewed_at": review.created_at.isoformat(), "note": None}]
        self.assertEqual(listed[0]["reviews"], expected)
        self.assertEqual(detail["reviews"], expected)
        self.assertEqual(detail["id"], self.assessment.pk)

    def test_the_api_detail_of_someone_elses_assessment_is_404(self):
        self.login(self.other_patient.user)
        self.assertEqual(self.client.get(reverse("api-assessment", args=[self.assessment.pk])).status_code, 404)


class ReviewListTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        self.older = intake.assess_upload(self.patient, image_bytes(drawn_brain_slice(43)))
        self.newer = intake.assess_upload(self.patient, image_bytes(drawn_brain_slice(44)))
        Review.objects.create(assessment=self.newer, author=self.doctor, grade=self.newer.prediction)
        self.login(self.doctor)

    def listed(self, **params):
        response = self.client.get(reverse("admin:assessments_assessment_changelist"), params)
        self.assertEqual(response.status_code, 200)
        return list(response.context["cl"].result_list)

    def test_the_admin_lists_unreviewed_assessments_first(self):
        self.assertEqual(self.listed(), [self.older, self.newer])

    def test_the_admin_filters_reviewed_and_unreviewed(self):
        self.assertEqual(self.listed(reviewed="no"), [self.older])
        self.assertEqual(self.listed(reviewed="yes"), [self.newer])


class AgreementTests(AlzAwareTestCase):
    # (model grade, doctor grade): 4 graded pairs, 3 of them agreeing, and one "cannot tell".
    PAIRS = [(CLASSES[0], CLASSES[0]), (CLASSES[0], CLASSES[1]), (CLASSES[2], CLASSES[2]),
             (CLASSES[1], CLASSES[1]), (CLASSES[3], CANNOT_TELL)]

    def setUp(self):
        super().setUp()
        for model_grade, doctor_grade in self.PAIRS:
            # Stored results with chosen grades: the page reads only the grades, never the files.
            assessment = Assessment.objects.create(patient=self.patient, scan="scans/none.png",
                                                   prediction=model_grade, confidence=0.5, probabilities={})
            Review.objects.create(assessment=assessment, author=self.doctor, grade=doctor_grade,
                                  agrees=model_grade == doctor_grade)

    def test_the_staff_page_shows_the_confusion_matrix_and_cohens_kappa(self):
        self.login(self.doctor)
        response = self.client.get(reverse("assessments:agreement"))
        self.assertEqual(response.status_code, 200)
        shown = response.context["agreement"]
        self.assertEqual(shown.columns, (*CLASSES, CANNOT_TELL))
        self.assertEqual(shown.matrix, [[1, 1, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 1]])
        self.assertEqual((shown.reviews, shown.graded, shown.agreeing), (5, 4, 3))
        # By hand: observed agreement 3/4; chance (2·1 + 1·2 + 1·1)/16 = 5/16; kappa = (3/4 - 5/16)/(11/16).
        self.assertAlmostEqual(shown.kappa, 7 / 11, places=12)
        # Quadratic weights (i-j)²/9: observed 1/9 per pair over 4 pairs, chance 5/9, so 1 - (1/9)/(5/9).
        self.assertAlmostEqual(shown.weighted_kappa, 0.8, places=12)
        self.assertContains(response, '<strong id="kappa">0.636</strong>', html=True)

    def test_a_doctor_counts_only_reviews_of_their_own_patients(self):
        stranger = User.objects.create_user(email="dr.three@example.com", password=PASSWORD, is_staff=True)
        self.login(stranger)
        self.assertEqual(self.client.get(reverse("assessments:agreement")).context["agreement"].reviews, 0)

    def test_a_patient_cannot_open_the_agreement_page(self):
        self.login(self.patient.user)
        response = self.client.get(reverse("assessments:agreement"))
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith(reverse("admin:login")))

    def test_kappa_is_undefined_without_reviews_or_with_one_grade_only(self):
        self.assertIsNone(agreement([], CANNOT_TELL).kappa)
        self.assertIsNone(agreement([(CLASSES[0], CLASSES[0])] * 3, CANNOT_TELL).kappa)
        self.assertIsNone(agreement([(CLASSES[0], CANNOT_TELL)], CANNOT_TELL).kappa)
