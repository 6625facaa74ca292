"""Admin for leads (routing fields read-only, never deleted) and their activity log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from apps.backoffice.lead_import import lead_import_urls
from apps.backoffice.traces import trace_html
from apps.backoffice.utils import (
    EMPTY,
    PrettyJSONFormField,
    ReadOnlyAdminMixin,
    ReadOnlyInlineMixin,
    all_field_names,
    badge,
    pretty_json,
    short_dt,
)
from apps.leads.models import Lead, LeadActivity, LeadStatus
from apps.leads.services import email_domain_of
from apps.reps.models import Rep
from apps.routing.models import Assignment
from apps.routing.selectors import assignment_current
from apps.routing.services import RoutingError, lead_reroute
from apps.routing.tasks import route_lead_enqueue

STATUS_COLOURS = {
    LeadStatus.NEW: "#6b7280",
    LeadStatus.ASSIGNED: "#2563eb",
    LeadStatus.CONTACTED: "#0891b2",
    LeadStatus.CONVERTED: "#16a34a",
    LeadStatus.DISQUALIFIED: "#78716c",
    LeadStatus.UNROUTED: "#d97706",
    LeadStatus.DUPLICATE: "#9333ea",
}

#: Set by routing, never typed by hand: shown read-only on the lead page.
ROUTING_FIELDS = [
    "status_badge",
    "owner",
    "territory",
    "rule",
    "assigned_at",
    "first_contacted_at",
    "closed_at",
    "sla_due_at_label",
    "sla_reminded_at_label",
    "escalated_at",
    "reassignment_count",
    "duplicate_of",
]


class EscalatedFilter(admin.SimpleListFilter):
    title = "escalated"
    parameter_name = "escalated"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Escalated"), ("no", "Not escalated")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Lead]) -> QuerySet[Lead]:
        if self.value() == "yes":
            return queryset.filter(escalated_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(escalated_at__isnull=True)
        return queryset


class OwnerFilter(admin.SimpleListFilter):
    """Leads of one owner, typed (the browser suggests the active reps' usernames) rather than
    picked from a list of hundreds of links; or the leads with no owner."""

    title = "owner"
    parameter_name = "owner"
    template = "admin/leads/lead/owner_filter.html"
    NONE = "-"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(self.NONE, "No owner")]

    def has_output(self) -> bool:
        return True

    def choices(self, changelist: Any) -> Any:
        # the form's hidden fields keep the other filters, the search and the ordering
        self.hidden_params = [
            (name, value)
            for name, value in changelist.params.items()
            if name != self.parameter_name
        ]
        self.usernames = list(
            Rep.objects.filter(active=True)
            .order_by("user__username")
            .values_list("user__username", flat=True)
        )
        return super().choices(changelist)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Lead]) -> QuerySet[Lead]:
        value = (self.value() or "").strip()
        if not value:
            return queryset
        if value == self.NONE:
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner__user__username=value)


class AssignmentInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Assignment
    fields = ["rep", "rule_name", "kind", "reason", "assigned_at", "ended_at"]
    readonly_fields = fields
    ordering = ["assigned_at", "id"]
    verbose_name_plural = "assignment history"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Assignment]:
        return super().get_queryset(request).select_related("rep__user")


class LeadActivityInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = LeadActivity
    fields = ["at", "kind", "actor", "note"]
    readonly_fields = fields
    ordering = ["at", "id"]
    show_change_link = False
    verbose_name_plural = "activity"

    def get_queryset(self, request: HttpRequest) -> QuerySet[LeadActivity]:
        return super().get_queryset(request).select_related("actor")


class LeadAdminForm(forms.ModelForm):
    class Meta:
        model = Lead
        fields = [
            "email",
            "external_id",
            "first_name",
            "last_name",
            "phone",
            "title",
            "language",
            "company",
            "industry",
            "company_size",
            "annual_revenue",
            "city",
            "country",
            "region",
            "postal_code",
            "lead_source",
            "product_interest",
            "lead_score",
            "created_at",
            "extra",
        ]
        field_classes = {"extra": PrettyJSONFormField}


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "name",
        "company",
        "status_badge",
        "owner",
        "territory_code",
        "rule",
        "created",
        "assigned",
        "first_contacted",
        "sla_due",
        "escalated_badge",
    ]
    list_display_links = ["email"]
    list_filter = [
        "status",
        OwnerFilter,
        EscalatedFilter,
        "territory",
        "lead_source",
        "country",
        "created_at",
    ]
    search_fields = ["email", "first_name", "last_name", "company", "external_id"]
    ordering = ["-created_at", "-id"]
    list_select_related = ["owner__user", "territory", "rule"]
    date_hierarchy = "created_at"
    # Counting a million leads on every page load is the slow part of a changelist.
    show_full_result_count = False
    list_per_page = 50
    inlines = [AssignmentInline, LeadActivityInline]
    actions = ["reroute"]
    form = LeadAdminForm
    readonly_fields = [*ROUTING_FIELDS, "email_domain", "updated_at", "current_decision"]
    fieldsets = [
        (
            "Contact",
            {
                "fields": [
                    "email",
                    "email_domain",
                    ("first_name", "last_name"),
                    "phone",
                    "title",
                    "language",
                ]
            },
        ),
        (
            "Company",
            {"fields": ["company", "industry", "company_size", "annual_revenue"]},
        ),
        ("Location", {"fields": ["city", "country", "region", "postal_code"]}),
        (
            "Source",
            {
                "fields": [
                    "external_id",
                    "lead_source",
                    "product_interest",
                    "lead_score",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
        ("Custom attributes", {"fields": ["extra"], "classes": ["collapse"]}),
        (
            "Routing (set by the routing engine)",
            {
                "fields": ROUTING_FIELDS,
                "description": "Read-only. Reassign or reroute through the API or the queue pages; "
                "every move is recorded below as an assignment.",
            },
        ),
        ("Why it went here", {"fields": ["current_decision"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Lead]:
        return (
            super()
            .get_queryset(request)
            .select_related("owner__user", "territory", "rule", "duplicate_of")
        )

    def get_urls(self) -> list[Any]:
        return [*lead_import_urls(self), *super().get_urls()]

    def get_readonly_fields(self, request: HttpRequest, obj: Lead | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Identity of an existing lead is fixed: the idempotency key and creation time.
            fields += ["external_id", "created_at"]
        return fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Lead, form: Any, change: bool) -> None:
        # Same normalisation as intake (API.md): email lowercased, domain derived.
        obj.email = obj.email.strip().lower()
        obj.email_domain = email_domain_of(obj.email)
        super().save_model(request, obj, form, change)
        if not change:
            route_lead_enqueue(obj.pk)
            messages.info(request, "The lead is new and queued for routing.")

    @admin.action(description="Reroute selected leads (run routing again)", permissions=["change"])
    def reroute(self, request: HttpRequest, queryset: QuerySet[Lead]) -> None:
        done, failed = 0, []
        for lead_id in queryset.values_list("pk", flat=True):
            try:
                lead_reroute(lead_id=lead_id, actor=request.user)
                done += 1
            except RoutingError as exc:
                failed.append(f"#{lead_id}: {exc}")
        if done:
            messages.success(request, f"{done} lead{pluralize(done)} rerouted.")
        for line in failed:
            messages.warning(request, line)

    @admin.display(description="Name", ordering="last_name")
    def name(self, obj: Lead) -> str:
        return obj.full_name or EMPTY

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Lead) -> str:
        return badge(obj.get_status_display(), STATUS_COLOURS.get(obj.status, "#6b7280"))

    @admin.display(description="Escalated", ordering="escalated_at")
    def escalated_badge(self, obj: Lead) -> str:
        if obj.escalated_at is None:
            return ""
        return format_html(
            '<span title="Escalated {}">{}</span>',
            timezone.localtime(obj.escalated_at).strftime("%Y-%m-%d %H:%M %Z"),
            badge("Escalated", "#dc2626"),
        )

    @admin.display(description="Territory", ordering="territory__code")
    def territory_code(self, obj: Lead) -> str:
        return obj.territory.code if obj.territory_id else EMPTY

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj: Lead) -> str:
        return short_dt(obj.created_at)

    @admin.display(description="Assigned", ordering="assigned_at")
    def assigned(self, obj: Lead) -> str:
        return short_dt(obj.assigned_at)

    @admin.display(description="First contact", ordering="first_contacted_at")
    def first_contacted(self, obj: Lead) -> str:
        return short_dt(obj.first_contacted_at)

    @admin.display(description="SLA due", ordering="sla_due_at")
    def sla_due(self, obj: Lead) -> str:
        return short_dt(obj.sla_due_at)

    @admin.display(description="Current assignment")
    def current_decision(self, obj: Lead) -> str:
        if obj.pk is None:
            return EMPTY
        current = assignment_current(lead_id=obj.pk)
        if current is None:
            return "No current assignment: the lead has no owner."
        version = current.config_version
        version_url = (
            reverse("admin:configuration_routingconfigversion_change", args=[version.pk])
            if version is not None
            else None
        )
        return trace_html(current.trace, version=version, version_url=version_url)

    @admin.display(description="SLA due at")
    def sla_due_at_label(self, obj: Lead) -> Any:
        return obj.sla_due_at or EMPTY

    @admin.display(description="SLA reminder sent at")
    def sla_reminded_at_label(self, obj: Lead) -> Any:
        return obj.sla_reminded_at or EMPTY


@admin.register(LeadActivity)
class LeadActivityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "lead", "kind", "actor", "note_short"]
    list_filter = ["kind", "at"]
    search_fields = ["lead__email", "note"]
    ordering = ["-at", "-id"]
    list_select_related = ["lead", "actor"]
    date_hierarchy = "at"
    show_full_result_count = False
    readonly_fields = [*all_field_names(LeadActivity), "data_pretty"]
    fields = ["lead", "kind", "at", "actor", "note", "data_pretty"]

    @admin.display(description="Note")
    def note_short(self, obj: LeadActivity) -> str:
        return obj.note if len(obj.note) <= 80 else obj.note[:79] + "…"

    @admin.display(description="Data")
    def data_pretty(self, obj: LeadActivity) -> str:
        return pretty_json(obj.data)
