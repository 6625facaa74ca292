"""The pages' URLs (included at the site root by routing_portal/urls.py)."""

from django.urls import path

from apps.portal.views import auth, availability, lead, queue, unrouted

app_name = "portal"

urlpatterns = [
    path("start/", auth.landing, name="landing"),
    path("accounts/login/", auth.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth.LogoutView.as_view(), name="logout"),
    path("accounts/password-reset/", auth.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password-reset/sent/",
        auth.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path("queue/", queue.queue, name="queue"),
    path("queue/unrouted/", unrouted.unrouted, name="unrouted"),
    path("queue/unrouted/reroute/", unrouted.unrouted_reroute, name="unrouted_reroute"),
    path("queue/leads/<int:pk>/", lead.lead_detail, name="lead"),
    path("queue/leads/<int:pk>/contact/", lead.lead_contact_action, name="lead_contact"),
    path("queue/leads/<int:pk>/convert/", lead.lead_convert_action, name="lead_convert"),
    path("queue/leads/<int:pk>/disqualify/", lead.lead_disqualify_action, name="lead_disqualify"),
    path("queue/leads/<int:pk>/reassign/", lead.lead_reassign_action, name="lead_reassign"),
    path("queue/leads/<int:pk>/reroute/", lead.lead_reroute_action, name="lead_reroute"),
    path("availability/", availability.availability, name="availability"),
    path("availability/away/", availability.away_set, name="away"),
    path("availability/hours/", availability.working_hours_set, name="working_hours"),
    path(
        "availability/time-off/<int:pk>/cancel/",
        availability.time_off_cancel,
        name="time_off_cancel",
    ),
]
