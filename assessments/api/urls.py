from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from assessments.api import views as api

# Swagger UI (served from this site by drf-spectacular-sidecar) styles itself inline and draws its icons as
# data: images: allowed on this page only.
api_docs = csp_update({"style-src": ["'unsafe-inline'"], "img-src": ["data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema"))

urlpatterns = [
    path("predict", api.predict, name="api-predict"),
    path("token/", api.token, name="api-token"),
    path("assessments/", api.AssessmentList.as_view(), name="api-assessments"),
    path("assessments/<int:pk>/", api.assessment, name="api-assessment"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", api_docs, name="api-docs"),
]
