"""The admin site: only RevOps managers (and superusers) get in.

Django's default lets any active staff user in; a staff flag left on a rep or an integration
account would then open the admin with whatever permissions that account holds. Here the
role decides, the staff flag alone does not.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig

from apps.core.roles import user_is_manager


class RoutingAdminSite(AdminSite):
    site_header = "Routing Portal"
    site_title = "Routing Portal"
    index_title = "Routing configuration"

    def has_permission(self, request: Any) -> bool:
        return bool(super().has_permission(request) and user_is_manager(request.user))

    def each_context(self, request: Any) -> dict[str, Any]:
        context = super().each_context(request)
        match = getattr(request, "resolver_match", None)
        if match is not None and (match.url_name or "").endswith("_changelist"):
            # A list needs the width (leads have a dozen columns at 1,400 px); the model
            # navigation stays on every other page, and the breadcrumbs lead back home.
            context["is_nav_sidebar_enabled"] = False
        return context


class RoutingAdminConfig(AdminConfig):
    """`django.contrib.admin` with :class:`RoutingAdminSite` as the default site."""

    default_site = "apps.backoffice.site.RoutingAdminSite"
