from django.urls import path

from . import api

urlpatterns = [
    path("predict", api.predict, name="api-predict"),
    path("token/", api.token, name="api-token"),
    path("assessments/", api.assessments, name="api-assessments"),
    path("assessments/<int:pk>/", api.assessment, name="api-assessment"),
]
