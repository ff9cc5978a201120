from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views
from .throttles import PasswordCheckThrottle, ResetAddressThrottle, ResetEmailThrottle, SignupAddressThrottle, throttled

urlpatterns = [
    path("signup/", throttled(SignupAddressThrottle)(views.signup), name="signup"),
    path("settings/", views.preferences, name="preferences"),
    path("export/", views.export, name="export"),
    path("delete/", throttled(PasswordCheckThrottle)(views.delete), name="delete_account"),
    path("logout/", views.LogOut.as_view(), name="logout"),
    path("api-sign-out/", views.sign_out_of_api, name="sign_out_of_api"),
    # Django's reset form, limited per e-mail address and per client address (accounts.throttles).
    path("password_reset/", throttled(ResetEmailThrottle, ResetAddressThrottle)(
        auth_views.PasswordResetView.as_view()), name="password_reset"),
    path("password_change/", throttled(PasswordCheckThrottle)(auth_views.PasswordChangeView.as_view()),
         name="password_change"),
    # login, logout, the password change's done page and the rest of the reset
    path("", include("django.contrib.auth.urls")),
]
