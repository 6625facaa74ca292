"""`GET /api/`: where to start: the docs, the schema and the main endpoints, as links.

Each caller gets the endpoints their role may use (API.md "Roles"): a manager all of them, a rep
the leads and the configuration they read, an integration account lead intake. An anonymous
caller gets the whole map (the schema at /api/schema/ is public too); every endpoint still asks
for credentials.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.roles import user_is_manager, user_may_submit_leads, user_rep

__all__ = ["ENDPOINTS", "ApiRootApi"]

MANAGER, REP, INTEGRATION = "manager", "rep", "integration"

#: name -> (URL name, the roles that may use it); in the order a newcomer reads them
ENDPOINTS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("leads", "lead-list", frozenset({MANAGER, REP, INTEGRATION})),
    ("rules", "rule-list", frozenset({MANAGER, REP})),
    ("territories", "territory-list", frozenset({MANAGER, REP})),
    ("reps", "rep-list", frozenset({MANAGER, REP})),
    ("accounts", "account-list", frozenset({MANAGER, REP})),
    ("time_off", "time-off-list", frozenset({MANAGER, REP})),
    ("routing_simulate", "routing-simulate", frozenset({MANAGER})),
    ("routing_config", "routing-config", frozenset({MANAGER})),
    ("routing_versions", "routing-version-list", frozenset({MANAGER})),
    ("dashboard_response_time", "dashboards:api_response_time", frozenset({MANAGER})),
)


def _roles(user: Any) -> frozenset[str] | None:
    """The caller's roles; None for an anonymous caller (who sees the whole map)."""
    if not getattr(user, "is_authenticated", False):
        return None
    roles = set()
    if user_is_manager(user):
        roles.add(MANAGER)
    if user_rep(user) is not None:
        roles.add(REP)
    if user_may_submit_leads(user):
        roles.add(INTEGRATION)
    return frozenset(roles)


class ApiRootApi(APIView):
    """Links to the API's documentation and main endpoints (those the caller may use)."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer(
            "ApiRoot",
            {
                "docs": serializers.URLField(),
                "schema": serializers.URLField(),
                "endpoints": serializers.DictField(child=serializers.URLField()),
            },
        )
    )
    def get(self, request: Request) -> Response:
        roles = _roles(request.user)
        link = request.build_absolute_uri
        return Response(
            {
                "docs": link(reverse("api-docs")),
                "schema": link(reverse("api-schema")),
                "endpoints": {
                    name: link(reverse(url_name))
                    for name, url_name, allowed in ENDPOINTS
                    if roles is None or roles & allowed
                },
            }
        )
