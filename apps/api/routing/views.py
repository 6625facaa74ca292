"""Routing endpoints: simulate a lead against the live rules."""

from __future__ import annotations

from typing import Any

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
from apps.routing.services import routing_explain, routing_simulate


class RoutingSimulateApi(APIView):
    """What routing would do with this lead now (or `at`): writes nothing, advances no rotation."""

    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(request=RoutingSimulateSerializer, responses=RoutingDecisionSerializer)
    def post(self, request: Request) -> Response:
        serializer = RoutingSimulateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        at = data.pop("at", None)
        evaluate_all = data.pop("evaluate_all", False)
        data.pop("external_id", None)
        lead = Lead(**data)
        lead.email = lead.email.lower()
        lead.email_domain = email_domain_of(lead.email)
        facts = lead_facts(lead)
        later: tuple[dict[str, Any], ...] | None = None
        if evaluate_all:
            explanation = routing_explain(facts=facts, at=at)
            decision, later = explanation.decision, explanation.later
        else:
            decision = routing_simulate(facts=facts, at=at)
        body: dict[str, Any] = {
            "outcome": decision.outcome,
            "rep": decision.username,
            "rule": decision.rule_name,
            "territory": decision.territory,
            "reason": decision.reason,
            "trace": decision.trace,
        }
        if later is not None:
            body["later_rules"] = list(later)
        return Response(body)
