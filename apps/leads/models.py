"""Leads and their activity log."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone

from apps.core.db import ResponseBucket, ResponseBucketGroup, seconds_between
from apps.core.validators import validate_country_code, validate_language_code, validate_region_code


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    ASSIGNED = "assigned", "Assigned"
    CONTACTED = "contacted", "Contacted"
    CONVERTED = "converted", "Converted"
    DISQUALIFIED = "disqualified", "Disqualified"
    UNROUTED = "unrouted", "Unrouted"
    DUPLICATE = "duplicate", "Duplicate"


#: Statuses of a lead still being worked (dedup looks for these; capacity counts the owned ones).
OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.ASSIGNED, LeadStatus.CONTACTED, LeadStatus.UNROUTED)
#: Statuses that count against a rep's max_open_leads.
WORKING_STATUSES = (LeadStatus.ASSIGNED, LeadStatus.CONTACTED)
CLOSED_STATUSES = (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED)


class Lead(models.Model):
    """An inbound lead, from intake through routing to close."""

    # NULL, not "", for "no key": the unique constraint must allow many leads without one.
    external_id = models.CharField(  # noqa: DJ001
        max_length=255,
        null=True,
        blank=True,
        help_text="Idempotency key from the source system, unique per submitting account: "
        "a repeat POST by that account answers with the same lead's id and status.",
    )
    # SET_NULL, like every other reference to a user (activity and assignment actors): deleting
    # an account must not be blocked by, nor delete, the leads it sent. An account that no longer
    # exists cannot retry, so its keys need no scope, and NULLs never collide in the constraint.
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="submitted_leads",
        db_index=False,  # the (external_id, submitted_by) unique index serves lookups by key
        help_text="The account that posted the lead through the API (its external_id's scope).",
    )
    email = models.EmailField(max_length=254)
    email_domain = models.CharField(max_length=253, editable=False)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    company = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=150, blank=True)
    country = models.CharField(max_length=2, blank=True, validators=[validate_country_code])
    region = models.CharField(max_length=10, blank=True, validators=[validate_region_code])
    postal_code = models.CharField(max_length=20, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    lead_source = models.CharField(max_length=100, blank=True)
    product_interest = models.CharField(max_length=100, blank=True)
    company_size = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(
        max_digits=18, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    lead_score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    language = models.CharField(max_length=2, blank=True, validators=[validate_language_code])
    extra = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW)
    # Foreign keys below are indexed by the composite indexes in Meta (owner, territory and rule
    # first), not one each: every index is rewritten on each routing step and sweep move.
    owner = models.ForeignKey(
        "reps.Rep",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        db_index=False,
    )
    territory = models.ForeignKey(
        "territories.Territory",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        db_index=False,
    )
    rule = models.ForeignKey(
        "rules.RoutingRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        help_text="The rule behind the current assignment.",
        db_index=False,
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    first_contacted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)
    sla_reminded_at = models.DateTimeField(null=True, blank=True)
    reassignment_count = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Each source system has its own key space: two accounts may send the same id. The key
            # leads the index so the external_id filter of GET /api/leads/ uses it too.
            models.UniqueConstraint(
                fields=["external_id", "submitted_by"],
                condition=models.Q(external_id__isnull=False),
                name="lead_external_id_per_submitter_unique",
                violation_error_message="This account already sent a lead with this external_id.",
            ),
            models.CheckConstraint(
                condition=models.Q(lead_score__isnull=True)
                | models.Q(lead_score__gte=0, lead_score__lte=100),
                name="lead_score_0_100",
                violation_error_message="Lead score must be between 0 and 100.",
            ),
            models.CheckConstraint(
                condition=models.Q(annual_revenue__isnull=True) | models.Q(annual_revenue__gte=0),
                name="lead_annual_revenue_not_negative",
                violation_error_message="Annual revenue cannot be negative.",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=WORKING_STATUSES) | models.Q(owner__isnull=False),
                name="lead_working_has_owner",
                violation_error_message="An assigned or contacted lead needs an owner.",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="duplicate") | models.Q(duplicate_of__isnull=False),
                name="lead_duplicate_links_original",
                violation_error_message="A duplicate lead must link the lead it duplicates.",
            ),
        ]
        indexes = [
            # Dashboards filter by creation date, owner and source.
            # Covering: the response-time dashboard reads each day's leads index-only.
            models.Index(
                fields=["created_at"],
                name="lead_created_covering_idx",
                include=["first_contacted_at", "sla_due_at", "owner"],
            ),
            models.Index(fields=["status", "created_at"], name="lead_status_created_idx"),
            models.Index(fields=["email_domain"], name="lead_email_domain_idx"),
            models.Index(fields=["owner", "status"], name="lead_owner_status_idx"),
            # An owner's leads by creation time (the rep's queue).
            models.Index(fields=["owner", "created_at"], name="lead_owner_created_idx"),
            # Lead sources are matched case-insensitively everywhere (``iexact``: UPPER on
            # PostgreSQL), so the index holds them that way.
            models.Index(Upper("lead_source"), "created_at", name="lead_source_upper_created_idx"),
            models.Index(fields=["territory", "created_at"], name="lead_territory_created_idx"),
            models.Index(fields=["rule", "status"], name="lead_rule_status_idx"),
            # Dedup looks up open leads by email.
            models.Index(fields=["email", "status"], name="lead_email_status_idx"),
            # The inactivity sweep pages through assigned, unescalated leads by (due time, id):
            # the id makes the order total, so a page never re-reads leads due at the same
            # instant (one sweep's moves all share a due time).
            models.Index(
                fields=["sla_due_at", "id"],
                name="lead_sla_sweep_idx",
                condition=models.Q(status="assigned", escalated_at__isnull=True),
            ),
            # The response-time dashboard reads its counts from the counts maintained as leads
            # are written (apps/dashboards/tally.py), then looks up the few exact values its
            # percentiles need within one owner's bucket or group of buckets (the first of
            # these) or within one group of one day or of the window (the second;
            # apps/dashboards/speed.py).
            models.Index(
                "owner",
                ResponseBucket(seconds_between("first_contacted_at", "created_at")),
                name="lead_owner_bucket_idx",
                include=["created_at", "first_contacted_at", "sla_due_at"],
            ),
            models.Index(
                ResponseBucketGroup(
                    ResponseBucket(seconds_between("first_contacted_at", "created_at"))
                ),
                "created_at",
                name="lead_bucket_group_created_idx",
                include=["first_contacted_at"],
            ),
            # The conversion dashboard counts a window's leads, and the converted ones, per
            # owner, territory and source in one parallel index-only pass over this
            # (apps/dashboards/grouping.py).
            models.Index(
                fields=["created_at"],
                name="lead_created_groups_idx",
                include=["owner", "territory", "lead_source", "status"],
            ),
            # The routing-health strip finds the creation time of each moved lead by its id,
            # index-only.
            models.Index(fields=["id"], name="lead_id_created_idx", include=["created_at"]),
            # route_pending scans only new and unrouted leads.
            models.Index(
                fields=["created_at"],
                name="lead_pending_idx",
                condition=models.Q(status__in=["new", "unrouted"]),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.email}"

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class LeadActivityKind(models.TextChoices):
    CREATED = "created", "Created"
    ASSIGNED = "assigned", "Assigned"
    UNROUTED = "unrouted", "Unrouted"
    CONTACTED = "contacted", "Contacted"
    CONVERTED = "converted", "Converted"
    DISQUALIFIED = "disqualified", "Disqualified"
    REASSIGNED = "reassigned", "Reassigned"
    REMINDED = "reminded", "SLA reminder sent"
    ESCALATED = "escalated", "Escalated"
    NOTE = "note", "Note"


class LeadActivity(models.Model):
    """Something that happened to a lead: contact, status change, note. Append-only."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=16, choices=LeadActivityKind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lead_activities",
    )
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "lead activities"
        indexes = [
            models.Index(fields=["lead", "at"], name="lead_activity_lead_at_idx"),
            # The routing flow page reads the window's unrouted decisions (a few in a hundred
            # activities) by time: a partial index, so it never scans the whole history.
            models.Index(
                fields=["at"],
                name="lead_activity_unrouted_at_idx",
                condition=models.Q(kind="unrouted"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.lead_id} at {self.at:%Y-%m-%d %H:%M}"


class LeadImportMapping(models.Model):
    """A saved column mapping for `import_leads`: CSV column header -> lead field (or
    `extra.<key>`, or "" to skip the column), reused by name for the next export of that shape."""

    name = models.SlugField(max_length=100, unique=True)
    columns = models.JSONField(
        default=dict, help_text='{"CSV column": "lead field", ...}; "" skips a column.'
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lead_import_mappings",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LeadImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded, mapping not confirmed"
    PENDING = "pending", "Waiting for a worker"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class LeadImport(models.Model):
    """One run of the lead import (command or admin): who ran which file, how, and its counts."""

    file = models.FileField(upload_to="lead_imports/", blank=True)
    file_name = models.CharField(max_length=255)
    status = models.CharField(
        max_length=16, choices=LeadImportStatus.choices, default=LeadImportStatus.PENDING
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lead_imports",
    )
    columns = models.JSONField(default=dict, blank=True, help_text="The column mapping used.")
    source = models.CharField(max_length=100, blank=True, help_text="lead_source for blank rows.")
    extra_unknown = models.BooleanField(
        default=False, help_text="Unmapped columns kept as custom attributes (extra)."
    )
    dry_run = models.BooleanField(default=False)
    route = models.BooleanField(default=True)
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    rows = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    routed = models.JSONField(default=dict, blank=True, help_text="Routing outcomes by kind.")
    bytes_total = models.PositiveBigIntegerField(default=0)
    bytes_read = models.PositiveBigIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    rejects_file = models.FileField(upload_to="lead_imports/", blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    files_removed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the uploaded file and the rejects CSV were deleted (kept "
        "LEAD_IMPORT_RETENTION_DAYS days); the run's counts and report stay.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Import #{self.pk} of {self.file_name}"
