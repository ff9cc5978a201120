"""The doctors' admin: Django's admin with the doctor's desk in it (the worklist as a doctor's home, and the
agreement statistics). Installed as the default site (alzaware.apps.AdminConfig), so every @admin.register
lands here."""

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import path

from assessments import desk_views


class AlzAwareAdminSite(admin.AdminSite):
    site_header = "AlzAware: patient review"
    site_title = "AlzAware"
    index_title = "Patients and assessments"
    # The left-hand app list took 290 px of every page, hiding the assessments' images behind the filters.
    enable_nav_sidebar = False

    def get_urls(self):
        return [
            path("worklist/", self.admin_view(desk_views.worklist_page), name="worklist"),
            path("agreement/", self.admin_view(desk_views.agreement_page), name="agreement"),
            path("agreement/cases/", self.admin_view(desk_views.agreement_cases), name="agreement_cases"),
            *super().get_urls(),
        ]

    def index(self, request, extra_context=None):
        """A doctor's home is their worklist; an administrator keeps Django's index."""
        if request.user.is_doctor:
            return redirect("admin:worklist")
        return super().index(request, extra_context)
