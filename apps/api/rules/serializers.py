from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.configuration.export import rule_item
from apps.configuration.items import RuleItemSerializer
from apps.rules.models import RoutingRule

__all__ = ["RuleChangeSerializer", "RuleReorderSerializer", "RuleSerializer"]


class RuleSerializer(RuleItemSerializer):
    """A rule in the configuration document's shape, plus its id and position (0 = first)."""

    id = serializers.IntegerField(read_only=True)
    position = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, RoutingRule):
            return {"id": instance.pk, "position": instance.position, **rule_item(instance)}
        return super().to_representation(instance)


class RuleReorderSerializer(serializers.Serializer):
    order = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), allow_empty=True
    )


class RuleChangeSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    user = serializers.CharField(allow_null=True)
    summary = serializers.CharField()
