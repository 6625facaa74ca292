"""Ordered routing rules: conditions on a lead, a target pool and a strategy."""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.text import slugify
from simple_history.models import HistoricalRecords

from apps.core.models import BaseModel

#: An SLA longer than a year is a typo, and would overflow date arithmetic far beyond that.
MAX_SLA_MINUTES = 525_600


class Strategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin"
    WEIGHTED_ROUND_ROBIN = "weighted_round_robin", "Weighted round robin"
    LOAD_BALANCED = "load_balanced", "Load balanced (fewest open leads)"
    ACCOUNT_OWNER = "account_owner", "Account owner"
    PERFORMANCE_WEIGHTED = "performance_weighted", "Performance weighted"


class NoOneEligible(models.TextChoices):
    NEXT_RULE = "next_rule", "Try the next rule"
    HOLD = "hold", "Hold as unrouted (retried)"
    ASSIGN_ANYWAY = "assign_anyway", "Assign anyway (ignore availability and capacity)"


def rule_key_new(*, name: str, taken: set[str]) -> str:
    """A slug of ``name`` not in ``taken`` (``-2``, ``-3``... appended on a clash)."""
    base = (slugify(name) or "rule")[:190]
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}-{n}"
    return key


class RoutingRule(BaseModel):
    """One step of the ordered routing rules; the first matching rule with an eligible rep wins."""

    name = models.CharField(max_length=200, unique=True)
    key = models.SlugField(
        max_length=200,
        unique=True,
        blank=True,  # filled from the name on the first save
        help_text="Stable identifier in the configuration document; set once, never changed, "
        "so renaming a rule keeps its leads and rotation.",
    )
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0, db_index=True)
    active = models.BooleanField(default=True)
    conditions = models.JSONField(
        default=list,
        blank=True,
        help_text='All must hold: [{"field": "company_size", "op": "gte", "value": 1000}, '
        '{"any": [...]}]. Empty = every lead.',
    )
    target = models.JSONField(
        null=True,
        blank=True,
        help_text='{"territory": "US-WEST"}, {"territory": "$lead"} or '
        '{"reps": [{"username": "alice", "weight": 2}]}. Not needed for account owner.',
    )
    strategy = models.CharField(
        max_length=32, choices=Strategy.choices, default=Strategy.ROUND_ROBIN
    )
    sla_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SLA_MINUTES)],
        null=True,
        blank=True,
        help_text="Minutes to first contact before reassignment; empty = default.",
    )
    respect_working_hours = models.BooleanField(default=False)
    sla_business_hours = models.BooleanField(
        null=True,
        blank=True,
        help_text="Count the SLA clock in the rep's working hours only (paused outside them and "
        "during time off). Empty = the ROUTING_SLA_BUSINESS_HOURS setting.",
    )
    require_skill_from = models.CharField(
        max_length=100,
        blank=True,
        default="",
        help_text="A lead field whose value the rep must have as a skill (e.g. industry).",
    )
    require_language = models.BooleanField(
        default=False, help_text="The rep must speak the lead's language."
    )
    when_no_one_eligible = models.CharField(
        max_length=16, choices=NoOneEligible.choices, default=NoOneEligible.NEXT_RULE
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(strategy__in=Strategy.values), name="rule_strategy_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(when_no_one_eligible__in=NoOneEligible.values),
                name="rule_when_no_one_eligible_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A default, not logic: every writer (document, admin, seed, benches) gets a key once.
        if not self.key:
            base = slugify(self.name)[:190] or "rule"
            taken = set(
                RoutingRule.objects.filter(key__startswith=base).values_list("key", flat=True)
            )
            self.key = rule_key_new(name=self.name, taken=taken)
        super().save(*args, **kwargs)
