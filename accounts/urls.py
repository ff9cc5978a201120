from django.urls import include, path

from . import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("settings/", views.preferences, name="preferences"),
    path("export/", views.export, name="export"),
    path("delete/", views.delete, name="delete_account"),
    path("logout/", views.LogOut.as_view(), name="logout"),
    # login, logout, password change and reset
    path("", include("django.contrib.auth.urls")),
]
