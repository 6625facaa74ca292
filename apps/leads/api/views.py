"""Lead endpoints: intake, list and detail (API.md "Leads")."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from apps.core.api.permissions import CanSubmitLeads
from apps.leads.api.serializers import LeadIntakeSerializer, LeadSerializer
from apps.leads.filtersets import LeadFilterSet
from apps.leads.models import Lead
from apps.leads.selectors import lead_list_visible
from apps.leads.services import lead_create


class LeadListCreateApi(generics.ListAPIView):
    """GET: leads you may see, filtered. POST: submit a lead; routing happens in a worker."""

    serializer_class = LeadSerializer
    filterset_class = LeadFilterSet

    def get_queryset(self) -> QuerySet[Lead]:
        return lead_list_visible(user=self.request.user)

    def get_permissions(self) -> list[Any]:
        if self.request.method == "POST":
            return [IsAuthenticated(), CanSubmitLeads()]
        return [IsAuthenticated()]

    def get_throttles(self) -> list[Any]:
        if self.request.method == "POST":
            self.throttle_scope = "intake"
            return [ScopedRateThrottle()]
        return []

    @extend_schema(
        request=LeadIntakeSerializer,
        responses={201: LeadSerializer, 200: LeadSerializer},
        examples=[
            OpenApiExample(
                "Web form lead",
                value={"external_id": "form-8841", "email": "dana@acme.com", "first_name": "Dana",
                       "company": "Acme", "country": "United States", "region": "CA",
                       "company_size": 1200, "lead_source": "webinar"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = LeadIntakeSerializer(data=request.data)
        external_id = request.data.get("external_id") if isinstance(request.data, dict) else None
        if isinstance(external_id, str) and external_id:
            # An idempotent retry returns the lead it created, whatever else the body holds.
            existing = Lead.objects.select_related("owner__user", "territory", "rule").filter(
                external_id=external_id
            ).first()
            if existing is not None:
                return Response(LeadSerializer(existing).data, status=status.HTTP_200_OK)
        serializer.is_valid(raise_exception=True)
        lead, created = lead_create(data=serializer.validated_data)
        return Response(
            LeadSerializer(lead).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class LeadDetailApi(generics.RetrieveAPIView):
    """One lead with its routing state; someone else's lead is a 404."""

    serializer_class = LeadSerializer

    def get_queryset(self) -> QuerySet[Lead]:
        return lead_list_visible(user=self.request.user)
