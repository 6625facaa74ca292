"""Test a lead in the admin: the lead's fields in, where routing would send it and why out.

The page calls the same pure simulation as ``POST /api/routing/simulate/``
(:func:`apps.routing.services.routing_simulate`): nothing is written, no rotation advances.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pycountry
from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from apps.core.validators import normalize_region, validate_language_code
from apps.engine import Decision, Explanation
from apps.leads.models import Lead
from apps.leads.services import email_domain_of
from apps.routing.selectors import lead_facts
from apps.routing.services import routing_explain, routing_simulate

from .traces import later_readable, trace_readable

__all__ = ["LeadTestForm", "lead_test_view"]

TEMPLATE = "admin/rules/routingrule/test_lead.html"
PLAUSIBLE_YEARS = (1970, 2200)  # as the API's simulate (apps.core.api.validators)
TEXT_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "title",
    "industry",
    "lead_source",
    "product_interest",
    "city",
    "postal_code",
    "phone",
)


@functools.cache
def country_choices() -> list[tuple[str, str]]:
    """ISO 3166-1 countries by name: ``("US", "United States (US)")``."""
    names = sorted(
        (getattr(c, "common_name", None) or c.name, c.alpha_2) for c in pycountry.countries
    )
    return [("", "— none —"), *((code, f"{name} ({code})") for name, code in names)]


def _extra_value(text: str) -> Any:
    """``1000`` and ``true`` are a number and a boolean, as they would be in the API's JSON."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, int | float | bool) else text


class LeadTestForm(forms.Form):
    """The facts routing reads, validated as intake validates them (API.md "Leads")."""

    email = forms.EmailField(max_length=254)
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    company = forms.CharField(max_length=200, required=False)
    title = forms.CharField(max_length=200, required=False)
    industry = forms.CharField(max_length=100, required=False)
    company_size = forms.IntegerField(min_value=0, max_value=10_000_000, required=False)
    annual_revenue = forms.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, required=False
    )
    lead_score = forms.IntegerField(min_value=0, max_value=100, required=False)
    lead_source = forms.CharField(
        max_length=100, required=False, widget=forms.TextInput(attrs={"list": "rp-sources"})
    )
    product_interest = forms.CharField(max_length=100, required=False)
    country = forms.ChoiceField(choices=country_choices, required=False)
    region = forms.CharField(
        max_length=100,
        required=False,
        help_text="ISO 3166-2 (US-CA), or within the country its code (CA) or name (California).",
    )
    city = forms.CharField(max_length=100, required=False)
    postal_code = forms.CharField(max_length=20, required=False)
    phone = forms.CharField(max_length=50, required=False)
    language = forms.CharField(
        max_length=20, required=False, help_text="ISO 639-1 code, e.g. en, de."
    )
    extra = forms.CharField(
        required=False,
        label="Custom attributes",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60, "placeholder": "plan=enterprise"}),
        help_text="One key=value a line; conditions read them as extra.<key>. "
        "Numbers and true/false are read as such.",
    )
    at = forms.DateTimeField(
        required=False,
        label="Moment",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    evaluate_all = forms.BooleanField(
        required=False,
        label="Evaluate all rules",
        help_text="Also show, for every rule after the one that decides, whether it would have "
        "matched (or the condition that fails) and whom it would have taken.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # read per request: the admin renders and parses times in the viewer's own zone
        self.fields["at"].help_text = (
            f"When the lead arrives, in your time zone ({timezone.get_current_timezone_name()}); "
            "empty for now. Working hours, time off and loads are those of that moment."
        )

    def clean_language(self) -> str:
        value = self.cleaned_data["language"].strip().lower()
        if value:
            validate_language_code(value)
        return value

    def clean_extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        for number, line in enumerate(self.cleaned_data["extra"].splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise ValidationError(f"Line {number} is not key=value: “{line.strip()}”.")
            extra[key.strip()] = _extra_value(value.strip())
        return extra

    def clean_at(self) -> Any:
        value = self.cleaned_data["at"]
        if value is not None and not PLAUSIBLE_YEARS[0] <= value.year <= PLAUSIBLE_YEARS[1]:
            raise ValidationError(
                f"Must lie between the years {PLAUSIBLE_YEARS[0]} and {PLAUSIBLE_YEARS[1]}."
            )
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        region = (cleaned.get("region") or "").strip()
        if region and "country" not in self.errors:
            try:
                cleaned["region"] = normalize_region(region, cleaned.get("country") or None)
            except ValidationError as exc:
                self.add_error("region", exc)
            else:
                cleaned["country"] = cleaned.get("country") or cleaned["region"].split("-")[0]
        return cleaned

    def lead(self) -> Lead:
        """An unsaved lead with these facts, normalised as intake does."""
        data = self.cleaned_data
        lead = Lead(
            email=data["email"].strip().lower(),
            country=data.get("country") or "",
            region=data.get("region") or "",
            language=data.get("language") or "",
            company_size=data.get("company_size"),
            annual_revenue=data.get("annual_revenue"),
            lead_score=data.get("lead_score"),
            extra=data.get("extra") or {},
            **{name: (data.get(name) or "").strip() for name in TEXT_FIELDS},
        )
        lead.email_domain = email_domain_of(lead.email)
        return lead


def lead_sources_seen(limit: int = 100) -> list[str]:
    """The lead sources in the data, for the source field's suggestions."""
    rows = Lead.objects.exclude(lead_source="").values_list("lead_source", flat=True)
    return list(rows.order_by("lead_source").distinct()[:limit])


def _later_note(decision: Decision, explanation: Explanation | None) -> str:
    """One sentence on what "evaluate all rules" found, for the top of its list."""
    if explanation is None:
        return ""
    if decision.rule_id is None:
        return "No rule decided, so routing already evaluated every rule: all are listed above."
    later = explanation.later
    if not later:
        return f"Routing stopped at “{decision.rule_name}”; no rule comes after it."
    matches = sum(1 for entry in later if entry["matched"])
    listed = (
        "rule after it, evaluated anyway, is"
        if len(later) == 1
        else (f"{len(later)} rules after it, evaluated anyway, are")
    )
    return (
        f"Routing stopped at “{decision.rule_name}”; the {listed} listed below: "
        f"{matches or 'none'} would match."
    )


def lead_test_view(request: HttpRequest, *, model_admin: Any) -> TemplateResponse:
    """GET: the form; POST: the form again with the simulated decision below it."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    form = LeadTestForm(request.POST if request.method == "POST" else None)
    result = None
    if form.is_bound and form.is_valid():
        facts, at = lead_facts(form.lead()), form.cleaned_data["at"]
        explanation: Explanation | None = None
        if form.cleaned_data["evaluate_all"]:
            explanation = routing_explain(facts=facts, at=at)
            decision = explanation.decision
        else:
            decision = routing_simulate(facts=facts, at=at)
        result = {
            "decision": decision,
            "trace": trace_readable(decision.trace),
            "raw": json.dumps(decision.trace, indent=2, ensure_ascii=False, default=str),
            "later": later_readable(explanation.later) if explanation is not None else None,
            "later_note": _later_note(decision, explanation),
        }
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Test a lead",
        "subtitle": None,
        "opts": opts,
        "form": form,
        "result": result,
        "sources": lead_sources_seen(),
    }
    return TemplateResponse(request, TEMPLATE, context)
