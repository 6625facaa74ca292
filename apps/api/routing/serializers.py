from __future__ import annotations

from rest_framework import serializers

from apps.api.leads.serializers import LeadIntakeSerializer
from apps.core.api.validators import validate_plausible_moment


class RoutingSimulateSerializer(LeadIntakeSerializer):
    """Lead fields plus the moment to simulate at (default now)."""

    at = serializers.DateTimeField(required=False, validators=[validate_plausible_moment])
    evaluate_all = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Also evaluate every rule after the deciding one (`later_rules`).",
    )

    class Meta(LeadIntakeSerializer.Meta):
        fields = (*LeadIntakeSerializer.Meta.fields, "at", "evaluate_all")

    def validate_created_at(self, value):  # type: ignore[no-untyped-def]
        return value  # a simulation may describe any moment


class RoutingDecisionSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["assigned", "unrouted"])
    rep = serializers.CharField(allow_null=True)
    rule = serializers.CharField(allow_null=True)
    territory = serializers.CharField(allow_null=True)
    reason = serializers.CharField()
    trace = serializers.DictField()
    later_rules = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="With `evaluate_all`: each rule after the deciding one, as a trace's rule entry "
        "plus `would_choose` (the rep it would take, or null). Empty when no rule decided.",
    )
