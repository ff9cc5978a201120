from django.urls import include, path

from . import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("settings/", views.preferences, name="preferences"),
    # login, logout, password change and reset
    path("", include("django.contrib.auth.urls")),
]
