"""Sign-in, sign-out, password reset by mail, and where each person lands after signing in.

Django's own auth views with the portal's templates. The reset link leads to the confirm and
complete views that apps/core/urls.py already serves for invitations (not duplicated here).
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.views.decorators.http import require_GET

from apps.core.viewers import viewer_of
from apps.portal.forms import PortalAuthenticationForm, PortalPasswordResetForm

__all__ = ["LoginView", "LogoutView", "PasswordResetDoneView", "PasswordResetView", "landing"]


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = PortalAuthenticationForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's own rule): a link or an image cannot sign anyone out."""

    next_page = reverse_lazy("portal:login")


class PasswordResetView(auth_views.PasswordResetView):
    """Mails a one-time link when the address belongs to an active account; the page says the
    same either way, so it tells no one which addresses have accounts."""

    template_name = "portal/password_reset.html"
    form_class = PortalPasswordResetForm
    email_template_name = "portal/password_reset_email.txt"
    subject_template_name = "portal/password_reset_subject.txt"
    extra_email_context = {"site_name": "Routing Portal"}
    success_url = reverse_lazy("portal:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "portal/password_reset_done.html"


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    """Reps land on their queue, managers on the dashboards; an account
    with no role (an integration account) has no pages."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    viewer = viewer_of(request.user)
    if viewer.is_manager:
        return redirect("dashboards:response_time")
    if viewer.rep is not None:
        return redirect("portal:queue")
    raise PermissionDenied("This account has no pages: it may only use the API.")
