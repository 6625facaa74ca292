"""Routing endpoints: simulate a lead against the live rules."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.routing.serializers import RoutingDecisionSerializer, RoutingSimulateSerializer
from apps.core.api.permissions import IsManager
from apps.leads.models import Lead
from apps.leads.services import email_domain_of
from apps.routing.selectors import lead_facts
from apps.routing.services import routing_simulate


class RoutingSimulateApi(APIView):
    """What routing would do with this lead now (or `at`): writes nothing, advances no rotation."""

    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(request=RoutingSimulateSerializer, responses=RoutingDecisionSerializer)
    def post(self, request: Request) -> Response:
        serializer = RoutingSimulateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        at = data.pop("at", None)
        data.pop("external_id", None)
        lead = Lead(**data)
        lead.email = lead.email.lower()
        lead.email_domain = email_domain_of(lead.email)
        decision = routing_simulate(facts=lead_facts(lead), at=at)
        return Response(
            {
                "outcome": decision.outcome,
                "rep": decision.username,
                "rule": decision.rule_name,
                "territory": decision.territory,
                "reason": decision.reason,
                "trace": decision.trace,
            }
        )
