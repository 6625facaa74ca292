"""Configuration as code over HTTP: export, replace, and the version log (API.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.permissions import IsManager, IsManagerOrRep
from apps.routing.config import routing_config_apply, routing_config_export
from apps.routing.filtersets import RoutingConfigVersionFilterSet
from apps.routing.models import RoutingConfigVersion

__all__ = [
    "ConfigItemViewSet",
    "RoutingConfigApi",
    "RoutingConfigVersionDetailApi",
    "RoutingConfigVersionListApi",
]

DOCUMENT_EXAMPLE = {
    "version": 1,
    "territories": [
        {
            "code": "AMER",
            "name": "Americas",
            "parent": None,
            "countries": ["US", "CA"],
            "regions": [],
            "postal_prefixes": [],
        },
        {
            "code": "US-WEST",
            "name": "US West",
            "parent": "AMER",
            "countries": [],
            "regions": ["US-CA", "US-WA"],
            "postal_prefixes": [],
        },
    ],
    "reps": [
        {
            "username": "alice",
            "name": "Alice Ng",
            "email": "alice@example.com",
            "time_zone": "America/Los_Angeles",
            "active": True,
            "territories": ["US-WEST"],
            "weight": 1,
            "max_open_leads": None,
            "max_daily_leads": None,
            "skills": ["healthcare"],
            "languages": ["en", "es"],
            "working_hours": [{"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}],
            "time_off": [
                {
                    "starts_at": "2026-12-21T00:00:00Z",
                    "ends_at": "2027-01-04T00:00:00Z",
                    "reason": "vacation",
                }
            ],
        },
    ],
    "accounts": [{"domain": "acme.com", "name": "Acme Corp", "owner": "alice"}],
    "rules": [
        {
            "name": "Named accounts",
            "active": True,
            "conditions": [],
            "strategy": "account_owner",
            "sla_minutes": 15,
        },
        {
            "name": "Enterprise West",
            "active": True,
            "conditions": [
                {"field": "company_size", "op": "gte", "value": 1000},
                {"field": "territory", "op": "within", "value": "US-WEST"},
            ],
            "target": {"territory": "US-WEST"},
            "strategy": "round_robin",
            "sla_minutes": 30,
            "respect_working_hours": False,
            "require_skill_from": None,
            "require_language": False,
            "when_no_one_eligible": "next_rule",
        },
        {
            "name": "Everyone else",
            "active": True,
            "conditions": [],
            "target": {"territory": "$lead"},
            "strategy": "load_balanced",
        },
    ],
}

ConfigDocumentSerializer = inline_serializer(
    name="RoutingConfigDocument",
    fields={
        "version": serializers.IntegerField(),
        "territories": serializers.ListField(child=serializers.DictField()),
        "reps": serializers.ListField(child=serializers.DictField()),
        "accounts": serializers.ListField(child=serializers.DictField()),
        "rules": serializers.ListField(child=serializers.DictField()),
    },
)
ConfigAppliedSerializer = inline_serializer(
    name="RoutingConfigApplied",
    fields={"version": serializers.IntegerField(), "summary": serializers.CharField()},
)


class RoutingConfigVersionSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = RoutingConfigVersion
        fields = ["number", "created_at", "author", "source", "summary", "note"]


class RoutingConfigVersionDetailSerializer(RoutingConfigVersionSerializer):
    document = serializers.JSONField(read_only=True)

    class Meta(RoutingConfigVersionSerializer.Meta):
        fields = [*RoutingConfigVersionSerializer.Meta.fields, "document"]


class RoutingConfigApi(APIView):
    """GET exports the whole routing configuration; PUT replaces it atomically (managers)."""

    permission_classes = [IsAuthenticated, IsManager]

    @extend_schema(responses=ConfigDocumentSerializer)
    def get(self, request: Request) -> Response:
        return Response(routing_config_export())

    @extend_schema(
        request=ConfigDocumentSerializer,
        responses={
            200: ConfigAppliedSerializer,
            400: OpenApiResponse(description="Every error, by path; nothing was changed."),
        },
        examples=[
            OpenApiExample("The API.md document", value=DOCUMENT_EXAMPLE, request_only=True),
            OpenApiExample(
                "Applied",
                value={"version": 7, "summary": "rules: +1 ~2 -0; reps: +0 ~1 -0"},
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample(
                "Invalid",
                value={
                    "rules": {"2": {"conditions": ["unknown field 'colour'"]}},
                    "reps": {"0": {"time_zone": ["'Mars/Base' is not an IANA time zone."]}},
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def put(self, request: Request) -> Response:
        note = request.query_params.get("note", "")
        version = routing_config_apply(
            document=request.data,
            actor=request.user,
            source=RoutingConfigVersion.Source.API,
            note=note,
        )
        return Response({"version": version.number, "summary": version.summary})


class RoutingConfigVersionListApi(generics.ListAPIView):
    """Recorded configuration versions, newest first (managers)."""

    permission_classes = [IsAuthenticated, IsManager]
    serializer_class = RoutingConfigVersionSerializer
    filterset_class = RoutingConfigVersionFilterSet

    def get_queryset(self) -> QuerySet[RoutingConfigVersion]:
        return (
            RoutingConfigVersion.objects.select_related("author")
            .defer("document")
            .order_by("-number")
        )


class RoutingConfigVersionDetailApi(generics.RetrieveAPIView):
    """One configuration version with its full document (managers)."""

    permission_classes = [IsAuthenticated, IsManager]
    serializer_class = RoutingConfigVersionDetailSerializer
    lookup_field = "number"

    def get_queryset(self) -> QuerySet[RoutingConfigVersion]:
        return RoutingConfigVersion.objects.select_related("author")


class ConfigItemViewSet(viewsets.GenericViewSet):
    """CRUD for one collection of the configuration document, item shapes as in the document.

    Reads: managers and reps (subclasses narrow the queryset); integration accounts and users
    without a role get 403. Writes: managers; every write
    goes through the document service, so it is validated like a whole-config PUT and records
    a config version.
    """

    collection: str = ""
    key_field: str = ""
    lookup_value_regex = "[^/]+"
    item_serializer_class: type[serializers.Serializer] = serializers.Serializer
    write_permission_classes: list[Any] = [IsAuthenticated, IsManager]

    #: actions managers and reps may call; everything else needs write_permission_classes
    read_actions = ("list", "retrieve")

    def get_permissions(self) -> list[Any]:
        if self.action in self.read_actions or self.request.method == "OPTIONS":
            return [IsAuthenticated(), IsManagerOrRep()]
        return [permission() for permission in self.write_permission_classes]

    def item_of(self, instance: Any) -> dict[str, Any]:
        """The instance as a document item (the API representation without extras)."""
        raise NotImplementedError

    def key_of(self, instance: Any) -> str:
        return str(self.item_of(instance)[self.key_field])

    def put_item(self, *, key: str | None, item: dict[str, Any], position: int | None) -> None:
        """Create or replace one item; subclasses call their app's service."""
        raise NotImplementedError

    def delete_item(self, *, key: str) -> None:
        raise NotImplementedError

    #: the ORM lookup that finds an item by its document key
    key_lookup: str = ""

    def find(self, key: str) -> Any:
        return self.get_queryset().get(**{self.key_lookup or self.key_field: key})

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    def _position(self, data: Any) -> int | None:
        return None

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = request.data
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"non_field_errors": ["expected a JSON object"]})
        extras = {k: v for k, v in data.items() if k in self.extra_fields()}
        item = self._validated({k: v for k, v in data.items() if k not in extras})
        self.put_item(key=None, item=item, position=self._position(data))
        instance = self.find(str(item[self.key_field]))
        if extras:
            self.apply_extras(instance, extras)
            instance = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(instance).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        data = request.data
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"non_field_errors": ["expected a JSON object"]})
        partial = kwargs.get("partial", False)
        extras = {k: v for k, v in data.items() if k in self.extra_fields()}
        body = {k: v for k, v in data.items() if k not in extras}
        current = self.item_of(instance)
        if (
            self.collection != "rules"
            and self.key_field in body
            and body[self.key_field] != current[self.key_field]
        ):
            raise serializers.ValidationError(
                {self.key_field: [f"the {self.key_field} cannot be changed; create a new one"]}
            )
        position = self._position(data)
        if body or not partial or position is not None:
            merged = {**current, **body} if partial else dict(body)
            merged.setdefault(self.key_field, current[self.key_field])
            item = self._validated(merged)
            self.put_item(key=self.key_of(instance), item=item, position=position)
        if extras:
            self.apply_extras(instance, extras)
        instance = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(instance).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        self.delete_item(key=self.key_of(instance))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def extra_fields(self) -> set[str]:
        """Writable fields outside the document item (e.g. a rule's position, a rep's away)."""
        return set()

    def apply_extras(self, instance: Any, extras: dict[str, Any]) -> None:
        return None

    def _validated(self, data: Any) -> dict[str, Any]:
        serializer = self.item_serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return self.item_from_validated(serializer.validated_data)

    def item_from_validated(self, validated: Mapping[str, Any]) -> dict[str, Any]:
        """Validated data -> the raw JSON item the document service takes."""
        return json.loads(json.dumps(self.item_serializer_class(validated).data))
