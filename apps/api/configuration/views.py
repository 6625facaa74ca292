"""Configuration as code over HTTP: export, replace, and the version log (API.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.configuration.export import config_version_number, routing_config_export
from apps.configuration.filtersets import RoutingConfigVersionFilterSet
from apps.configuration.models import RoutingConfigVersion
from apps.configuration.services import (
    ConfigVersionConflict,
    config_version_check,
    routing_config_apply,
)
from apps.core.api.permissions import IsManager, IsManagerOrRep

__all__ = [
    "ConfigItemViewSet",
    "RoutingConfigApi",
    "RoutingConfigVersionDetailApi",
    "RoutingConfigVersionListApi",
    "config_precondition",
    "force_param",
    "with_etag",
]

IF_MATCH_HELP = 'expected entity tags as sent in ETag, e.g. "12" (or *)'


def _if_match_numbers(request: Request) -> list[int] | None:
    """The version numbers an ``If-Match`` header names; None when absent or ``*``."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    numbers = []
    for raw in header.split(","):
        tag = raw.strip()
        tag = tag[2:] if tag.startswith("W/") else tag
        body = tag[1:-1]
        if len(tag) < 3 or tag[0] != '"' or tag[-1] != '"' or not body.isdigit():
            raise serializers.ValidationError({"If-Match": [IF_MATCH_HELP]})
        numbers.append(int(body[:18]))
    return numbers


def config_precondition(request: Request) -> None:
    """Lock the configuration (call inside ``transaction.atomic``) and honour ``If-Match``.

    RFC 9110 conditional request: an ``If-Match`` naming a version other than the current one
    is refused with 412 (:class:`ConfigVersionConflict`); no ``If-Match`` is unconditional.
    """
    numbers = _if_match_numbers(request)
    current = config_version_check(based_on=None)
    if numbers is not None and (current.number if current else 0) not in numbers:
        raise ConfigVersionConflict(based_on=numbers[0], current=current)


def with_etag(response: Response, number: int | None = None) -> Response:
    """Name the configuration version the response reflects: ``ETag: "<number>"``."""
    response["ETag"] = f'"{config_version_number() if number is None else number}"'
    return response


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
        with transaction.atomic():  # the ETag names the version this document is
            number = config_version_number()
            document = routing_config_export()
        return with_etag(Response(document), number)

    @extend_schema(
        request=ConfigDocumentSerializer,
        responses={
            200: ConfigAppliedSerializer,
            400: OpenApiResponse(description="Every error, by path; nothing was changed."),
            412: OpenApiResponse(
                description="If-Match (or based_on_version) names a version that is no longer "
                "current; says which is and who changed it when. Nothing was changed."
            ),
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
        force = force_param(request)
        with transaction.atomic():
            if not force:
                config_precondition(request)
            version = routing_config_apply(
                document=request.data,
                actor=request.user,
                source=RoutingConfigVersion.Source.API,
                note=note,
                force=force,
            )
        return with_etag(
            Response({"version": version.number, "summary": version.summary}), version.number
        )


def force_param(request: Request) -> bool:
    """``?force=true``: skip the version check and allow removing rules with open leads."""
    value = request.query_params.get("force", "")
    if value.lower() in ("", "0", "false", "no"):
        return False
    if value.lower() in ("1", "true", "yes"):
        return True
    raise serializers.ValidationError({"force": ["expected true or false"]})


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
        with transaction.atomic():
            number = config_version_number()
            data = self.get_serializer(self.get_object()).data
        return with_etag(Response(data), number)

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # Writes run in one transaction holding the configuration lock from the If-Match check
        # (initial) to the last write, so what was checked is what is changed.
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            with transaction.atomic():
                response = super().dispatch(request, *args, **kwargs)
                if response.status_code >= 400:
                    transaction.set_rollback(True)  # an error answer leaves nothing half-saved
                return response
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication and permissions first
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            config_precondition(request)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and response.status_code < 300:
            with_etag(response)
        return response

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
