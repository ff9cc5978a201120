""""Who viewed my data": one line per look at a result, its images folded in, naming the result."""

from datetime import timedelta

from django.urls import reverse

from accounts.view_log import FOLD_WINDOW
from audit.models import AuditAction, AuditEntry
from tests.base import AlzAwareTestCase, stored_assessment


class ViewLogTests(AlzAwareTestCase):
    def setUp(self):
        super().setUp()
        self.first = stored_assessment(self.patient, seed=1)
        self.second = stored_assessment(self.patient, seed=2)

    def lines(self):
        page = self.client.get(reverse("preferences"))
        return [(who, look.what, [pk for pk, _ in look.results], look.images_note) for look, who in page.context["views"]]

    def test_a_result_page_and_its_images_are_one_line_naming_the_result(self):
        self.login(self.doctor)
        self.client.get(self.first.get_absolute_url())
        self.client.get(reverse("assessments:file", args=[self.first.pk, "scan"]))
        self.client.get(reverse("assessments:file", args=[self.first.pk, "overlay"]))
        self.login(self.patient.user)
        self.assertEqual(self.lines(), [("Dr Gregory House", "a result page", [self.first.pk], " (and 2 images)")])
        page = self.client.get(reverse("preferences"))
        self.assertContains(page, f'<a href="{self.first.get_absolute_url()}">the result of the scan of '
                                  f'{self.first.scan_day:%-d %b %Y}</a>', html=True)

    def test_the_lists_thumbnails_fold_into_one_line(self):
        self.login(self.patient.user)
        self.client.get(reverse("assessments:history"))
        for one in (self.first, self.second):
            self.client.get(reverse("assessments:file", args=[one.pk, "scan"]))
        self.assertEqual(self.lines(), [("You", "images of results, such as the list's thumbnails",
                                         [self.first.pk, self.second.pk], " (2 images)")])

    def test_images_long_after_the_page_are_a_look_of_their_own(self):
        self.login(self.doctor)
        self.client.get(self.first.get_absolute_url())
        self.client.get(reverse("assessments:file", args=[self.first.pk, "scan"]))
        # The log is append-only: the test's second entry is written as if it came later.
        AuditEntry.objects.create(actor=self.doctor, patient=self.patient, assessment_id=self.first.pk,
                                  action=AuditAction.OVERLAY_IMAGE,
                                  at=AuditEntry.objects.latest("at").at + FOLD_WINDOW + timedelta(minutes=1))
        self.login(self.patient.user)
        self.assertEqual([line[1] for line in self.lines()],
                         ["images of results, such as the list's thumbnails", "a result page"])

    def test_a_deleted_result_is_named_as_such(self):
        self.login(self.doctor)
        self.client.get(self.second.get_absolute_url())
        self.second.delete()
        self.login(self.patient.user)
        self.assertContains(self.client.get(reverse("preferences")), "<td>a result page: a result since deleted</td>",
                            html=True)
