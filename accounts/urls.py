from django.urls import include, path

from . import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    # login, logout, password change and reset
    path("", include("django.contrib.auth.urls")),
]
