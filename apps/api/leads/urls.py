from django.urls import path

from apps.api.leads import views

urlpatterns = [
    path("leads/", views.LeadListCreateApi.as_view(), name="lead-list"),
    path("leads/<int:pk>/", views.LeadDetailApi.as_view(), name="lead-detail"),
    path("leads/<int:pk>/contact/", views.LeadContactApi.as_view(), name="lead-contact"),
    path("leads/<int:pk>/convert/", views.LeadConvertApi.as_view(), name="lead-convert"),
    path("leads/<int:pk>/disqualify/", views.LeadDisqualifyApi.as_view(), name="lead-disqualify"),
    path("leads/<int:pk>/reassign/", views.LeadReassignApi.as_view(), name="lead-reassign"),
    path("leads/<int:pk>/reroute/", views.LeadRerouteApi.as_view(), name="lead-reroute"),
    path(
        "leads/<int:pk>/activity/",
        views.LeadActivityListApi.as_view(),
        name="lead-activity",
    ),
    path(
        "leads/<int:pk>/assignments/",
        views.LeadAssignmentListApi.as_view(),
        name="lead-assignments",
    ),
]
