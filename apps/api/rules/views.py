"""Routing rule CRUD, reorder and history (API.md "Routing configuration"), by id."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.configuration.views import ConfigItemViewSet
from apps.api.configuration.views import force_param as _force
from apps.api.rules.serializers import RuleChangeSerializer, RuleReorderSerializer, RuleSerializer
from apps.configuration.export import rule_item
from apps.configuration.items import RuleItemSerializer
from apps.configuration.services import rule_delete, rule_reorder, rule_save
from apps.rules.filtersets import RoutingRuleFilterSet
from apps.rules.models import RoutingRule
from apps.rules.selectors import rule_history, rule_list


class RoutingRuleViewSet(ConfigItemViewSet):
    """Rules in routing order; managers and reps read, managers write, reorder and audit."""

    collection = "rules"
    key_field = "name"
    lookup_field = "pk"
    lookup_url_kwarg = "id"
    lookup_value_regex = "[0-9]+"
    serializer_class = RuleSerializer
    item_serializer_class = RuleItemSerializer
    filterset_class = RoutingRuleFilterSet

    def get_queryset(self) -> QuerySet[RoutingRule]:
        return rule_list()

    def item_of(self, instance: RoutingRule) -> dict[str, Any]:
        return rule_item(instance)

    def extra_fields(self) -> set[str]:
        return {"id", "position"}

    def _position(self, data: Any) -> int | None:
        if "position" not in data:
            return None
        field = serializers.IntegerField(min_value=0)
        try:
            return int(field.run_validation(data["position"]))
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"position": exc.detail}) from exc

    def put_item(self, *, key: str | None, item: dict[str, Any], position: int | None) -> None:
        rule_save(name=key, item=item, actor=self.request.user, position=position)

    def delete_item(self, *, key: str) -> None:
        # ?force=true: delete even while the rule owns open leads (they keep no rule).
        force = _force(self.request)
        rule_delete(name=key, actor=self.request.user, force=force)

    @extend_schema(request=RuleReorderSerializer, responses=RuleSerializer(many=True))
    @action(detail=False, methods=["post"], pagination_class=None)
    def reorder(self, request: Request) -> Response:
        """Put every rule in the given order: `{"order": [ids]}`, each id exactly once."""
        serializer = RuleReorderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule_reorder(order=serializer.validated_data["order"], actor=request.user)
        return Response(RuleSerializer(self.get_queryset(), many=True).data)

    @extend_schema(responses=RuleChangeSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def history(self, request: Request, id: str) -> Response:
        """Who changed this rule and what, oldest first (from its history rows)."""
        rule = self.get_object()
        return Response(RuleChangeSerializer(rule_history(rule=rule), many=True).data)
