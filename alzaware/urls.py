from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from accounts import welcome_views
from assessments import views as assessment_views

urlpatterns = [
    path("", welcome_views.front_door, name="home"),
    path("privacy/", welcome_views.privacy, name="privacy"),
    path("accounts/", include("accounts.urls")),
    path("assessments/", include("assessments.urls")),
    path("api/", include("assessments.api.urls")),
    path("model-card/", assessment_views.model_card, name="model_card"),
    path("healthz", assessment_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that name none (the admin's): the site's icon, not a 404.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
]

handler404 = "assessments.views.not_found"
