"""Lead endpoints (API.md "Leads"): intake, list, detail, actions and assignment history.

Views validate, call one service and shape the answer. Visibility is the selector's queryset:
a rep's queryset holds only their leads, so someone else's lead is a 404 everywhere.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.throttling import ScopedRateThrottle

from apps.api.leads.decisions import lead_decision_words
from apps.api.leads.serializers import (
    LeadActivitySerializer,
    LeadAssignmentSerializer,
    LeadCloseSerializer,
    LeadContactSerializer,
    LeadDetailSerializer,
    LeadIntakeSerializer,
    LeadReassignSerializer,
    LeadReceiptSerializer,
    LeadSerializer,
)
from apps.core.api.permissions import CanSubmitLeads, IsManager
from apps.core.roles import user_is_manager
from apps.leads.filtersets import LeadFilterSet
from apps.leads.models import Lead, LeadActivity
from apps.leads.selectors import (
    lead_activity_list,
    lead_get,
    lead_get_by_external_id,
    lead_list_visible,
)
from apps.routing.models import Assignment
from apps.routing.selectors import assignment_current, lead_assignment_list
from apps.routing.services import (
    lead_contact,
    lead_convert,
    lead_create,
    lead_disqualify,
    lead_reassign,
    lead_reroute,
)

_CONFLICT = OpenApiResponse(description='The action does not fit the lead\'s state: `{"detail"}`.')


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
        responses={201: LeadSerializer, 200: LeadReceiptSerializer},
        examples=[
            OpenApiExample(
                "Web form lead",
                value={
                    "external_id": "form-8841",
                    "email": "dana@acme.com",
                    "first_name": "Dana",
                    "company": "Acme",
                    "country": "United States",
                    "region": "CA",
                    "company_size": 1200,
                    "lead_source": "webinar",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = request.data
        serializer = LeadIntakeSerializer(data=data)
        if not serializer.is_valid():
            # An idempotent retry gets its lead's receipt, whatever else the body holds now;
            # looked up only here, so a valid submission costs no read (the unique constraint
            # catches a valid repeat in lead_create).
            external_id = data.get("external_id") if isinstance(data, dict) else None
            existing = (
                lead_get_by_external_id(external_id=external_id, submitted_by=request.user)
                if isinstance(external_id, str)
                and 0 < len(external_id) <= 255
                and "\x00" not in external_id  # PostgreSQL refuses NUL in a query parameter
                else None
            )
            if existing is None:
                raise ValidationError(serializer.errors)
            return Response(LeadReceiptSerializer(existing).data, status=status.HTTP_200_OK)
        lead, created = lead_create(data=serializer.validated_data, submitted_by=request.user)
        if not created:
            # A repeat learns only what it needs to stop retrying: never the lead's contents,
            # which the submitting account may not be allowed to read.
            return Response(LeadReceiptSerializer(lead).data, status=status.HTTP_200_OK)
        return Response(LeadSerializer(lead).data, status=status.HTTP_201_CREATED)


class LeadDetailApi(generics.RetrieveAPIView):
    """One lead with its routing state and why its owner has it; someone else's lead is a 404."""

    serializer_class = LeadDetailSerializer

    def get_queryset(self) -> QuerySet[Lead]:
        return lead_list_visible(user=self.request.user)

    def get_object(self) -> Lead:
        lead: Lead = super().get_object()
        user, request = self.request.user, self.request
        full = user_is_manager(user)

        def version_url(number: int) -> str:
            return request.build_absolute_uri(reverse("routing-version-detail", args=[number]))

        # Managers read the trace as recorded (and may open the version); a rep, generic words.
        lead.decision_words = lead_decision_words(  # type: ignore[attr-defined]
            assignment=assignment_current(lead_id=lead.pk),
            full=full,
            viewer=getattr(user, "username", None),
            version_url=version_url if full else None,
        )
        return lead


class _LeadActionApi(generics.GenericAPIView):
    """POST an action on a lead you may see; answers with the updated lead."""

    input_serializer_class: type[Serializer] = Serializer
    serializer_class = LeadSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> QuerySet[Lead]:
        return lead_list_visible(user=self.request.user)

    def perform(self, lead: Lead, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        lead = self.get_object()
        serializer = self.input_serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform(lead, serializer.validated_data)
        return Response(LeadSerializer(lead_get(lead_id=lead.pk)).data)


@extend_schema(request=LeadContactSerializer, responses={200: LeadSerializer, 409: _CONFLICT})
class LeadContactApi(_LeadActionApi):
    """First touch: `assigned` -> `contacted`; `at` defaults to now (not before creation, not future)."""

    input_serializer_class = LeadContactSerializer

    def perform(self, lead: Lead, data: dict[str, Any]) -> None:
        lead_contact(lead_id=lead.pk, actor=self.request.user, at=data.get("at"), note=data["note"])


@extend_schema(request=LeadCloseSerializer, responses={200: LeadSerializer, 409: _CONFLICT})
class LeadConvertApi(_LeadActionApi):
    """Close a working lead as converted."""

    input_serializer_class = LeadCloseSerializer

    def perform(self, lead: Lead, data: dict[str, Any]) -> None:
        lead_convert(lead_id=lead.pk, actor=self.request.user, reason=data["reason"])


@extend_schema(request=LeadCloseSerializer, responses={200: LeadSerializer, 409: _CONFLICT})
class LeadDisqualifyApi(_LeadActionApi):
    """Close a working lead as disqualified."""

    input_serializer_class = LeadCloseSerializer

    def perform(self, lead: Lead, data: dict[str, Any]) -> None:
        lead_disqualify(lead_id=lead.pk, actor=self.request.user, reason=data["reason"])


@extend_schema(request=LeadReassignSerializer, responses={200: LeadSerializer, 409: _CONFLICT})
class LeadReassignApi(_LeadActionApi):
    """Managers hand a lead to a named rep, with a required note."""

    input_serializer_class = LeadReassignSerializer
    permission_classes = [IsAuthenticated, IsManager]

    def perform(self, lead: Lead, data: dict[str, Any]) -> None:
        lead_reassign(lead_id=lead.pk, rep=data["rep"], note=data["note"], actor=self.request.user)


@extend_schema(request=None, responses={200: LeadSerializer, 409: _CONFLICT})
class LeadRerouteApi(_LeadActionApi):
    """Managers run routing again for an open lead."""

    permission_classes = [IsAuthenticated, IsManager]

    def perform(self, lead: Lead, data: dict[str, Any]) -> None:
        lead_reroute(lead_id=lead.pk, actor=self.request.user)


class _LeadHistoryApi(generics.ListAPIView):
    """A read-only history of one lead the user may see (404 for any other lead)."""

    filter_backends: list[Any] = []

    def history(self, lead_id: int) -> QuerySet[Any]:
        raise NotImplementedError

    def get_serializer_context(self) -> dict[str, Any]:
        # Managers read traces in full; a rep reads colleagues' entries as generic words.
        user = self.request.user
        return {
            **super().get_serializer_context(),
            "trace_full": user_is_manager(user),
            "trace_viewer": getattr(user, "username", None),
        }

    def get_queryset(self) -> QuerySet[Any]:
        visible = lead_list_visible(user=self.request.user).filter(pk=self.kwargs["pk"])
        if not visible.select_related(None).exists():
            raise NotFound()
        return self.history(self.kwargs["pk"])


class LeadAssignmentListApi(_LeadHistoryApi):
    """A lead's assignment history, oldest first. Read-only: assignments are never edited."""

    serializer_class = LeadAssignmentSerializer

    def history(self, lead_id: int) -> QuerySet[Assignment]:
        return lead_assignment_list(lead_id=lead_id)


class LeadActivityListApi(_LeadHistoryApi):
    """A lead's activity log, oldest first: assigned, SLA reminders, moves, escalation, contact,
    closing, notes. Read-only: the log is append-only."""

    serializer_class = LeadActivitySerializer

    def history(self, lead_id: int) -> QuerySet[LeadActivity]:
        return lead_activity_list(lead_id=lead_id)
