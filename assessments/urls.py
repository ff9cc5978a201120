from django.urls import path, re_path
from django.views.generic import RedirectView

from . import views

app_name = "assessments"

urlpatterns = [
    path("", views.history, name="history"),
    path("new/", views.new, name="new"),
    path("timeline/", views.timeline_view, name="timeline"),
    path("report.pdf", views.history_report, name="history_report"),
    path("<int:pk>/report.pdf", views.assessment_report, name="report"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/volume-state", views.volume_state, name="volume_state"),
    re_path(r"^(?P<pk>\d+)/(?P<kind>scan|overlay)\.png$", views.scan_file, name="file"),
    re_path(r"^(?P<pk>\d+)/(?P<kind>scan|heatmap)\.nii\.gz$", views.volume_file, name="volume_file"),
    re_path(r"^(?P<pk>\d+)/slices/(?P<position>\d+)/(?P<kind>scan|overlay)\.png$", views.slice_file,
            name="slice_file"),
    path("<int:pk>/maps/<int:class_index>/<slug:colour_map>.png", views.class_overlay, name="class_overlay"),
    # Moved into the doctors' admin (alzaware.admin_site); old bookmarks still arrive.
    path("agreement/", RedirectView.as_view(pattern_name="admin:agreement"), name="agreement"),
    path("colour-bar/<slug:colour_map>.png", views.colour_bar, name="colour_bar"),
]
