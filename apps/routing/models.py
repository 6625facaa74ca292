"""Routing state and records: rotation cursors, assignments, the outbox and config state."""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.core.models import AppendOnlyQuerySet, ImmutableRecordError


class RotationState(models.Model):
    """Per-rule rotation cursor and weighted counters; locked while a rule picks a rep."""

    rule = models.OneToOneField(
        "rules.RoutingRule",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="rotation_state",
    )
    data = models.JSONField(default=dict, blank=True)
    assignments = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Rotation of rule {self.rule_id}"


class AssignmentKind(models.TextChoices):
    AUTO = "auto", "Automatic"
    DUPLICATE = "duplicate", "Duplicate of an open lead"
    REASSIGN_INACTIVITY = "reassign_inactivity", "Reassigned for inactivity"
    REASSIGN_UNAVAILABLE = "reassign_unavailable", "Reassigned: rep unavailable"
    MANUAL = "manual", "Manual"
    RETRY = "retry", "Retry of an unrouted lead"


class Assignment(models.Model):
    """One period of a lead's ownership and why it began. Immutable except `ended_at`."""

    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.PROTECT, related_name="assignments", db_index=False
    )
    # rep and rule are indexed by the (rep, assigned_at) and (rule, assigned_at) indexes below.
    rep = models.ForeignKey(
        "reps.Rep", on_delete=models.PROTECT, related_name="assignments", db_index=False
    )
    rule = models.ForeignKey(
        "rules.RoutingRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assignments",
        db_index=False,
    )
    rule_name = models.CharField(max_length=200, blank=True, help_text="The rule's name then.")
    config_version = models.ForeignKey(
        "configuration.RoutingConfigVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assignments",
    )
    strategy = models.CharField(max_length=32, blank=True)
    kind = models.CharField(max_length=24, choices=AssignmentKind.choices)
    reason = models.TextField()
    trace = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="routing_assignments",
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["assigned_at", "id"]
        constraints = [
            # The database itself refuses a second current owner for a lead.
            models.UniqueConstraint(
                fields=["lead"],
                condition=models.Q(ended_at__isnull=True),
                name="assignment_one_current_per_lead",
                violation_error_message="This lead already has a current assignment.",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True)
                | models.Q(ended_at__gte=models.F("assigned_at")),
                name="assignment_ends_after_start",
            ),
        ]
        indexes = [
            # Balance dashboard: automatic assignments in a window, per rep.
            models.Index(fields=["kind", "assigned_at", "rep"], name="assignment_kind_at_rep_idx"),
            # Daily caps: a rep's assignments since midnight; idle-longest ties.
            models.Index(fields=["rep", "assigned_at"], name="assignment_rep_at_idx"),
            models.Index(fields=["rule", "assigned_at"], name="assignment_rule_at_idx"),
            # Who has held a lead (the sweep never hands a lead back to a previous holder); the
            # kind and time included let the routing-health strip look up a lead's automatic
            # assignments before a manual move without reading the table.
            models.Index(
                fields=["lead", "rep"],
                include=["kind", "assigned_at"],
                name="assignment_lead_rep_cover_idx",
            ),
            # The moves (every kind but the automatic ones, a few in a hundred), by lead, read
            # index-only by the routing-health strip (apps/dashboards/health.py MOVE_KINDS).
            models.Index(
                fields=["lead"],
                include=["id", "kind", "assigned_at"],
                name="assignment_moves_idx",
                condition=models.Q(
                    kind__in=["reassign_inactivity", "reassign_unavailable", "manual"]
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} to {self.rep} ({self.get_kind_display().lower()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            update_fields = kwargs.get("update_fields")
            if update_fields is None or set(update_fields) - {"ended_at"}:
                raise ImmutableRecordError("Assignments cannot be edited (only ended).")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImmutableRecordError("Assignments cannot be deleted.")


class RoutingConfigState(models.Model):
    """Whether the live configuration compiles: one row (id 1), written by routing itself.

    Routing falls back to `good_snapshot` (the last configuration that compiled) when the live
    one does not, so leads keep moving; `broken_*` describe the failure /healthz reports, and
    `alerted_key` makes the managers' alert go out once per broken version.
    """

    good_version_number = models.PositiveIntegerField(default=0)
    good_snapshot = models.JSONField(null=True, blank=True)
    good_at = models.DateTimeField(null=True, blank=True)
    broken_since = models.DateTimeField(null=True, blank=True)
    broken_version_number = models.PositiveIntegerField(null=True, blank=True)
    broken_errors = models.JSONField(default=dict, blank=True)
    alerted_key = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        if self.broken_since is None:
            return f"Configuration v{self.good_version_number} compiles"
        return f"Configuration v{self.broken_version_number} does not compile"


class OutboxKind(models.TextChoices):
    """One notification of one change: each mail and each webhook event is its own row."""

    ASSIGNED_MAIL = "assigned_mail", "New lead mail to the rep"
    TAKEN_AWAY_MAIL = "taken_away_mail", "Lead taken away mail to the previous rep"
    ASSIGNMENT_EVENT = "assignment_event", "lead.assigned / lead.reassigned webhook event"
    REMINDER_MAIL = "reminder_mail", "SLA reminder mail to the owner"
    REMINDER_EVENT = "reminder_event", "lead.sla_reminder webhook event"
    ESCALATION_MAIL = "escalation_mail", "Escalation mail to managers"
    ESCALATION_EVENT = "escalation_event", "lead.escalated webhook event"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (gave up)"


class OutboxMessage(models.Model):
    """A notification owed for a change, written in the change's own transaction.

    The dispatcher (`outbox_dispatch`: on commit, and every minute from beat) claims due rows
    with `FOR UPDATE SKIP LOCKED`, sends, and marks them sent in one short transaction: a row is
    never lost (the broker may be down when the change commits) and never sent by two workers.
    """

    kind = models.CharField(max_length=24, choices=OutboxKind.choices)
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="outbox")
    assignment = models.ForeignKey(
        Assignment,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="outbox",
    )
    #: The recipient rep of a "taken away" mail (the previous owner).
    rep = models.ForeignKey(
        "reps.Rep", on_delete=models.SET_NULL, null=True, blank=True, related_name="outbox"
    )
    #: When the reported change happened (a reminder's or escalation's time: part of its key).
    occurred_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "outbox message"
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(status="pending"),
                name="outbox_due_idx",
            ),
        ]
        constraints = [
            # A redelivered task (or a retried transaction) cannot owe the same notice twice.
            models.UniqueConstraint(
                fields=["assignment", "kind"],
                condition=models.Q(assignment__isnull=False),
                name="outbox_one_per_assignment_kind",
            ),
            models.UniqueConstraint(
                fields=["lead", "kind", "occurred_at"],
                condition=models.Q(assignment__isnull=True),
                name="outbox_one_per_lead_kind_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for lead {self.lead_id} ({self.status})"
