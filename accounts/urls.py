from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import sharing_views, views, welcome_views
from .throttles import PasswordCheckThrottle, ResetAddressThrottle, ResetEmailThrottle, SignupAddressThrottle, throttled

urlpatterns = [
    path("signup/", throttled(SignupAddressThrottle)(views.signup), name="signup"),
    path("confirm/", welcome_views.confirm_email_sent, name="confirm_email_sent"),
    path("confirm/again/", welcome_views.resend_confirmation, name="resend_confirmation"),
    path("confirm/<uidb64>/<token>/", welcome_views.confirm_email, name="confirm_email"),
    path("sharing/", sharing_views.sharing, name="sharing"),
    path("sharing/withdraw/<int:doctor_id>/", sharing_views.withdraw, name="withdraw_access"),
    path("sharing/cancel/<int:invitation_id>/", sharing_views.cancel_invitation, name="cancel_invitation"),
    path("invitations/<str:token>/", sharing_views.accept, name="accept_invitation"),
    path("doctor/", sharing_views.doctor_sharing, name="doctor_sharing"),
    path("notifications/", sharing_views.notifications, name="notifications"),
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
