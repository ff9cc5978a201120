from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from audit.models import AuditAction, AuditEntry
from tests.base import PASSWORD, AlzAwareTestCase, stored_assessment


class DoctorAdminTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        self.assessment = stored_assessment(self.patient, seed=21)
        stored_assessment(self.other_patient, seed=22)

    def test_a_doctor_sees_an_assigned_patient_and_not_an_unassigned_one(self):
        self.login(self.doctor)
        listing = self.client.get(reverse("admin:accounts_patient_changelist"))
        self.assertContains(listing, "ada@example.com")
        self.assertNotContains(listing, "bob@example.com")
        page = self.client.get(reverse("admin:accounts_patient_change", args=[self.patient.pk]))
        self.assertContains(page, self.assessment.prediction)
        self.assertContains(page, reverse("assessments:file", args=[self.assessment.pk, "scan"]))
        self.assertContains(page, reverse("assessments:file", args=[self.assessment.pk, "overlay"]))
        hidden = self.client.get(reverse("admin:accounts_patient_change", args=[self.other_patient.pk]))
        # The admin's answer for an object outside the queryset: back to the admin index, saying it does not exist.
        self.assertRedirects(hidden, reverse("admin:index"), fetch_redirect_response=False)

    def test_a_doctor_reviews_assessments_with_filters_and_search(self):
        self.login(self.doctor)
        url = reverse("admin:assessments_assessment_changelist")
        listing = self.client.get(url, {"q": "lovelace"})
        self.assertContains(listing, "Ada Lovelace")
        self.assertNotContains(listing, "Bob Other")
        filtered = self.client.get(url, {"prediction__exact": self.assessment.prediction})
        self.assertEqual(filtered.status_code, 200)
        self.assertContains(filtered, "Ada Lovelace")

    def test_a_doctor_cannot_change_a_patient_or_see_users(self):
        self.login(self.doctor)
        page = self.client.get(reverse("admin:accounts_patient_change", args=[self.patient.pk]))
        self.assertNotContains(page, 'name="_save"')
        self.assertEqual(self.client.get(reverse("admin:accounts_user_changelist")).status_code, 403)

    def test_createdoctor_makes_a_staff_non_superuser_in_the_doctors_group(self):
        call_command("createdoctor", email="New.Doc@example.com", password=PASSWORD, first_name="New",
                     last_name="Doc", stdout=open("/dev/null", "w"))
        doctor = User.objects.get(email="new.doc@example.com")
        self.assertTrue(doctor.is_staff)
        self.assertFalse(doctor.is_superuser)
        self.assertTrue(doctor.is_doctor)
        self.assertTrue(doctor.has_perm("accounts.view_patient"))
        self.assertFalse(doctor.has_perm("accounts.change_patient"))
        self.client.force_login(doctor)
        self.assertNotContains(self.client.get(reverse("admin:accounts_patient_changelist")), "ada@example.com")

    def test_a_superuser_assigns_a_patient_to_a_doctor(self):
        admin = User.objects.create_superuser(email="root@example.com", password=PASSWORD)
        self.login(admin)
        response = self.client.post(reverse("admin:accounts_patient_change", args=[self.other_patient.pk]), {
            "date_of_birth": "1948-05-17", "sex": "F", "doctors": [self.doctor.pk],
            "assessments-TOTAL_FORMS": "1", "assessments-INITIAL_FORMS": "1",
            "assessments-MIN_NUM_FORMS": "0", "assessments-MAX_NUM_FORMS": "1000",
            "assessments-0-id": self.other_patient.assessments.get().pk,
            "assessments-0-patient": self.other_patient.pk,
        })
        self.assertEqual(response.status_code, 302, getattr(response, "context_data", {}))
        self.login(self.doctor)
        self.assertContains(self.client.get(reverse("admin:accounts_patient_changelist")), "bob@example.com")


class AdminAssignmentAuditTests(AlzAwareTestCase):
    """An administrator's assignment of a doctor in the admin is a sharing step, audited like the patient's own."""

    def setUp(self):
        super().setUp()
        stored_assessment(self.other_patient, seed=23)
        self.admin = User.objects.create_superuser(email="root@example.com", password=PASSWORD,
                                                   first_name="Root", last_name="Admin")
        self.login(self.admin)

    def assign(self, doctors):
        response = self.client.post(reverse("admin:accounts_patient_change", args=[self.other_patient.pk]), {
            "date_of_birth": "1948-05-17", "sex": "F",
            "doctors": [one.pk for one in doctors],
            "assessments-TOTAL_FORMS": "1", "assessments-INITIAL_FORMS": "1",
            "assessments-MIN_NUM_FORMS": "0", "assessments-MAX_NUM_FORMS": "1000",
            "assessments-0-id": self.other_patient.assessments.get().pk,
            "assessments-0-patient": self.other_patient.pk,
        })
        self.assertEqual(response.status_code, 302, getattr(response, "context_data", {}))

    def sharing_steps(self):
        return list(AuditEntry.objects.filter(patient=self.other_patient).exclude(action=AuditAction.ADMIN_PATIENT)
                    .order_by("pk").values_list("actor", "action", "doctor"))

    def test_assigning_and_removing_a_doctor_records_each_step_with_the_admin_as_actor(self):
        self.assign([self.doctor])
        self.assertEqual(self.sharing_steps(), [(self.admin.pk, AuditAction.DOCTOR_ASSIGNED, self.doctor.pk)])
        self.assign([self.doctor])  # saved again, unchanged: no step
        self.assign([])
        self.assertEqual(self.sharing_steps(), [(self.admin.pk, AuditAction.DOCTOR_ASSIGNED, self.doctor.pk),
                                                (self.admin.pk, AuditAction.ACCESS_WITHDRAWN, self.doctor.pk)])
        self.assertEqual(list(self.other_patient.doctors.all()), [])

    def test_the_patient_sees_the_administrators_steps_in_their_sharing_history(self):
        self.assign([self.doctor])
        self.assign([])
        self.login(self.other_patient.user)
        page = " ".join(self.client.get(reverse("sharing")).content.decode().split())
        self.assertIn("Root Admin (administrator) gave a doctor access to the results (Dr Gregory House).", page)
        self.assertIn("Root Admin (administrator) withdrew a doctor&#x27;s access to the results (Dr Gregory House).",
                      page)
        # A change of who may see the results, not a read of them.
        self.assertNotIn(AuditAction.DOCTOR_ASSIGNED, [entry.action for entry in
                                                       self.client.get(reverse("preferences")).context["views"]])
