"""A doctor's review of an assessment: decided on the admin's review page with nothing pre-selected, written to the
audit, and told to the patient (result page, history, timeline, API) as the doctor chose to share it."""

from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.models import User
from assessments.models import CANNOT_TELL, Review
from assessments.reviews import save_review
from audit.models import AuditAction, AuditEntry
from mri import CLASSES
from tests.base import PASSWORD, AlzAwareTestCase, stored_assessment, stored_review


def other_grade(prediction):
    return next(name for name in CLASSES if name != prediction)


def colleague_of(patient):
    """A second doctor of ``patient``."""
    from accounts.models import doctors_group

    colleague = User.objects.create_user(email="dr.two@example.com", password=PASSWORD, first_name="Lisa",
                                         last_name="Cuddy", is_staff=True)
    colleague.groups.add(doctors_group())
    patient.doctors.add(colleague)
    return colleague


class ReviewPageTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        self.assessment = stored_assessment(self.patient, seed=41)
        self.url = reverse("admin:assessments_assessment_change", args=[self.assessment.pk])

    def review(self, doctor=None, **form):
        self.login(doctor or self.doctor)
        return self.client.post(self.url, {"sharing": "verdict", "_save": "Save", **form})

    def test_nothing_is_pre_selected_on_a_new_review(self):
        self.login(self.doctor)
        page = self.client.get(self.url)
        self.assertEqual(page.status_code, 200)
        self.assertEqual(page.content.decode().count('type="radio"'), 3 + 3 + 4 + 3)
        self.assertNotRegex(page.content.decode(), r"<input[^>]*\bchecked")
        self.assertContains(page, 'width="512"', count=2)

    def test_an_agreeing_review_takes_the_programs_grade_and_says_review_saved(self):
        response = self.review(verdict="agree", note="Fits the clinical picture.")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(response["Location"], self.url)
        review = Review.objects.get()
        self.assertEqual((review.author, review.assessment, review.verdict, review.grade, review.model_grade),
                         (self.doctor, self.assessment, "agree", self.assessment.prediction,
                          self.assessment.prediction))
        self.assertEqual(review.note, "Fits the clinical picture.")
        self.assertEqual([str(m) for m in self.client.get(self.url).context["messages"]], ["Review saved"])

    def test_another_grade_is_stored_as_the_doctors_grade(self):
        grade = other_grade(self.assessment.prediction)
        self.assertEqual(self.review(verdict="other_grade", grade=grade).status_code, 302)
        self.assertEqual((Review.objects.get().verdict, Review.objects.get().grade), ("other_grade", grade))

    def test_cannot_tell_needs_a_reason_and_is_stored_as_cannot_tell(self):
        self.assertEqual(self.review(verdict="cannot_tell").status_code, 400)
        self.assertEqual(Review.objects.count(), 0)
        self.assertEqual(self.review(verdict="cannot_tell", cannot_tell_reason="image_quality").status_code, 302)
        self.assertEqual((Review.objects.get().grade, Review.objects.get().cannot_tell_reason),
                         (CANNOT_TELL, "image_quality"))

    def test_a_review_without_a_verdict_a_grade_or_a_sharing_choice_is_refused(self):
        for form in ({"verdict": ""}, {"verdict": "other_grade"}, {"verdict": "agree", "sharing": ""},
                     {"verdict": "other_grade", "grade": self.assessment.prediction}):
            response = self.review(**form)
            self.assertEqual(response.status_code, 400, form)
            self.assertContains(response, "errornote", status_code=400)
        self.assertEqual(Review.objects.count(), 0)

    def test_the_author_edits_their_review_and_sees_their_choices_again(self):
        self.review(verdict="agree", note="First look.")
        self.review(verdict="cannot_tell", cannot_tell_reason="needs_more", note="Second look.")
        review = Review.objects.get()
        self.assertEqual((review.verdict, review.note), ("cannot_tell", "Second look."))
        page = self.client.get(self.url).content.decode()
        self.assertIn('value="cannot_tell" id="id_verdict_2" required checked', page)

    def test_two_new_reviews_saved_at_once_make_one_review_and_no_error(self):
        # Both pages were opened before either form was sent: each holds a new review.
        for note in ("First tab.", "Second tab."):
            save_review(Review(assessment=self.assessment, verdict="agree", sharing="verdict", note=note), self.doctor)
        review = Review.objects.get()
        self.assertEqual((review.note, review.author), ("Second tab.", self.doctor))

    def test_each_save_is_written_to_the_audit_with_who_reviewed_what(self):
        self.review(verdict="agree")
        entry = AuditEntry.objects.get(action=AuditAction.REVIEW)
        self.assertEqual((entry.actor, entry.patient_id, entry.assessment_id),
                         (self.doctor, self.patient.pk, self.assessment.pk))

    def test_another_doctor_writes_their_own_review_and_cannot_change_the_first(self):
        self.review(verdict="agree", note="Mine.")
        colleague = colleague_of(self.patient)
        self.login(colleague)
        page = self.client.get(self.url)
        self.assertContains(page, "Mine.")  # read-only, among the reviews
        self.assertNotRegex(page.content.decode(), r"<input[^>]*\bchecked")
        self.review(doctor=colleague, verdict="cannot_tell", cannot_tell_reason="other")
        self.assertEqual(sorted(Review.objects.values_list("author__email", "verdict")),
                         [("dr.two@example.com", "cannot_tell"), ("dr.who@example.com", "agree")])
        mine = Review.objects.get(author=self.doctor)
        mine.note = "Overwritten."
        with self.assertRaises(PermissionDenied):
            save_review(mine, colleague)

    def test_a_doctor_cannot_open_or_review_an_assessment_of_a_patient_not_theirs(self):
        other = stored_assessment(self.other_patient, seed=42)
        self.login(self.doctor)
        url = reverse("admin:assessments_assessment_change", args=[other.pk])
        self.assertEqual(self.client.get(url).status_code, 404)
        self.assertEqual(self.client.post(url, {"verdict": "agree", "sharing": "verdict"}).status_code, 404)
        self.assertEqual(Review.objects.count(), 0)

    def test_a_staff_member_who_is_no_doctor_sees_the_page_without_the_form_and_cannot_post(self):
        admin = User.objects.create_superuser(email="root@example.com", password=PASSWORD)
        self.login(admin)
        page = self.client.get(self.url)
        self.assertEqual(page.status_code, 200)
        self.assertIsNone(page.context["form"])
        self.assertEqual(self.client.post(self.url, {"verdict": "agree", "sharing": "verdict"}).status_code, 403)
        self.assertEqual(Review.objects.count(), 0)

    def test_the_page_shows_the_previous_scan_of_the_same_kind_and_what_changed(self):
        later = stored_assessment(self.patient, seed=43, prediction=CLASSES[2])
        self.login(self.doctor)
        page = self.client.get(reverse("admin:assessments_assessment_change", args=[later.pk]))
        self.assertEqual(page.context["previous"], self.assessment)
        self.assertEqual([(c.label, c.before, c.now) for c in page.context["changes"]][1],
                         ("Grade", self.assessment.prediction, CLASSES[2]))
        self.assertContains(page, f'href="/assessments/{self.assessment.pk}/scan.png"')
        self.assertNotContains(page, "{&quot;")  # details as labelled fields, never JSON


    def test_a_volumes_page_lists_its_slices_and_its_four_class_maps(self):
        from assessments import intake
        from tests.fixtures import scan_files

        volume = intake.assess_upload(self.patient, scan_files.mni_nifti_bytes(2))
        self.login(self.doctor)
        page = self.client.get(reverse("admin:assessments_assessment_change", args=[volume.pk]))
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "<caption>Slices of the volume</caption>")
        self.assertEqual(page.content.decode().count("<tr><th scope=\"row\">"), volume.slices.count())
        self.assertEqual([p.url for p in page.context["class_maps"]],
                         [f"/assessments/{volume.pk}/maps/{k}/{volume.overlay_colour_map}.png" for k in range(4)])
        self.assertIsNone(page.context["previous"])  # the slice before it is not of the same kind
        self.assertContains(page, "<dt>Format</dt><dd>NIfTI volume</dd>", html=True)


class PatientSeesTheVerdictTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        self.assessment = stored_assessment(self.patient, seed=44)
        self.grade = other_grade(self.assessment.prediction)

    def pages(self):
        self.login(self.patient.user)
        return {name: self.client.get(url).content.decode() for name, url in (
            ("result", self.assessment.get_absolute_url()), ("history", reverse("assessments:history")),
            ("timeline", reverse("assessments:timeline")))}

    def test_unreviewed_results_say_no_doctor_has_looked_yet(self):
        for name, page in self.pages().items():
            self.assertIn("No doctor has looked at this result yet.", page, name)
            self.assertNotIn("Reviewed by", page, name)

    def test_another_grade_is_shown_first_and_labelled_with_the_programs_beside_it(self):
        review = stored_review(self.assessment, self.doctor, verdict="other_grade", grade=self.grade)
        badge = f"Reviewed by Dr Gregory House on {review.created_at:%-d %B %Y}."
        pages = self.pages()
        self.assertIn(f'<h2 id="prediction-heading">Result: {self.grade}, your doctor\'s grade</h2>', pages["result"])
        self.assertIn(f"The program's grade was <strong>{self.assessment.prediction}</strong>", pages["result"])
        self.assertIn(f"<strong>{self.grade}</strong>, your doctor's", pages["history"])
        self.assertIn(f"<strong>Your doctor's grade: {self.grade}</strong> (the program's: "
                      f"{self.assessment.prediction})", pages["timeline"])
        for name, page in pages.items():
            self.assertIn(badge, page, name)

    def test_cannot_tell_is_shown_as_such_never_as_an_endorsement(self):
        stored_review(self.assessment, self.doctor, verdict="cannot_tell", reason="image_quality")
        pages = self.pages()
        self.assertIn("Your doctor could not tell the grade from this scan: the image quality is too poor. This is "
                      "not an agreement with the program&#x27;s result.", pages["result"])
        self.assertIn("Your doctor could not tell the grade from this scan.", pages["history"])
        self.assertNotIn("agrees", pages["result"])

    def test_a_review_kept_among_doctors_is_not_told_and_a_note_only_when_shared(self):
        review = stored_review(self.assessment, self.doctor, note="Private working note.", sharing="not_yet")
        self.assertIn("No doctor has looked at this result yet.", self.pages()["result"])
        review.sharing = "verdict"
        review.save()
        result = self.pages()["result"]
        self.assertIn("Your doctor agrees with the program&#x27;s grade", result)
        self.assertNotIn("Private working note.", result)
        review.sharing = "verdict_and_note"
        review.save()
        self.assertIn("Private working note.", self.pages()["result"])

    def test_the_api_carries_the_shared_verdict_only(self):
        review = stored_review(self.assessment, self.doctor, verdict="other_grade", grade=self.grade)
        stored_review(self.assessment, colleague_of(self.patient), sharing="not_yet")
        self.login(self.patient.user)
        detail = self.client.get(reverse("api-assessment", args=[self.assessment.pk])).json()
        self.assertEqual(detail["reviews"], [{"reviewer": "Dr Gregory House",
                                              "reviewed_at": review.created_at.isoformat(),
                                              "verdict": "other_grade", "grade": self.grade,
                                              "cannot_tell_reason": None, "note": None}])

    def test_the_api_detail_of_someone_elses_assessment_is_404(self):
        self.login(self.other_patient.user)
        self.assertEqual(self.client.get(reverse("api-assessment", args=[self.assessment.pk])).status_code, 404)
