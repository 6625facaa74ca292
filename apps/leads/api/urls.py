from django.urls import path

from apps.leads.api.views import LeadDetailApi, LeadListCreateApi

urlpatterns = [
    path("leads/", LeadListCreateApi.as_view(), name="lead-list"),
    path("leads/<int:pk>/", LeadDetailApi.as_view(), name="lead-detail"),
]
