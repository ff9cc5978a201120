from django.urls import path, re_path

from . import views

app_name = "assessments"

urlpatterns = [
    path("", views.history, name="history"),
    path("new/", views.new, name="new"),
    path("<int:pk>/", views.detail, name="detail"),
    re_path(r"^(?P<pk>\d+)/(?P<kind>scan|overlay)\.png$", views.scan_file, name="file"),
]
