"""The pages' URLs (included at the site root by routing_portal/urls.py)."""

from django.urls import path, register_converter

from apps.portal.views import auth, availability, lead, queue, unrouted


class RowIdConverter:
    """A row id: digits that fit a 64-bit column (a longer number is a 404 on every database)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(RowIdConverter, "id")

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
    path("queue/leads/<id:pk>/", lead.lead_detail, name="lead"),
    path("queue/leads/<id:pk>/contact/", lead.lead_contact_action, name="lead_contact"),
    path("queue/leads/<id:pk>/convert/", lead.lead_convert_action, name="lead_convert"),
    path("queue/leads/<id:pk>/disqualify/", lead.lead_disqualify_action, name="lead_disqualify"),
    path("queue/leads/<id:pk>/reassign/", lead.lead_reassign_action, name="lead_reassign"),
    path("queue/leads/<id:pk>/reroute/", lead.lead_reroute_action, name="lead_reroute"),
    path("availability/", availability.availability, name="availability"),
    path("availability/away/", availability.away_set, name="away"),
    path("availability/hours/", availability.working_hours_set, name="working_hours"),
    path(
        "availability/time-off/<id:pk>/cancel/",
        availability.time_off_cancel,
        name="time_off_cancel",
    ),
]
