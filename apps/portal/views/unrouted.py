"""The managers' queue: leads routing could not place or escalated, why each waits, filters,
bulk reroute and reassign by hand; and who on the team takes no new leads right now."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.leads.filtersets import LeadFilterSet
from apps.leads.models import LeadStatus
from apps.leads.selectors import lead_attention_reasons, lead_list_needing_manager
from apps.portal.access import portal_page
from apps.portal.forms import BulkRerouteForm, ReassignForm
from apps.portal.views._respond import next_url, page
from apps.reps.selectors import rep_list_assignable, rep_team_availability
from apps.routing.services import leads_reroute

__all__ = ["unrouted", "unrouted_reroute"]

PAGE_SIZE = 50


@require_GET
@portal_page("manager")
def unrouted(request: HttpRequest) -> HttpResponse:
    filterset = LeadFilterSet(request.GET or None, queryset=lead_list_needing_manager())
    paginator = Paginator(filterset.qs, PAGE_SIZE)
    current = paginator.get_page(request.GET.get("page"))
    leads = list(current.object_list)
    reasons = lead_attention_reasons(lead_ids=[lead.pk for lead in leads])
    team = rep_team_availability(now=timezone.now())
    query = request.GET.copy()
    query.pop("page", None)
    return page(
        request,
        "portal/unrouted.html",
        {
            "nav": "unrouted",
            "rows": [{"lead": lead, "reason": reasons.get(lead.pk)} for lead in leads],
            "page_obj": current,
            "total": paginator.count,
            "filterset": filterset,
            "filters": {
                k: request.GET.get(k, "")
                for k in ("status", "escalated", "territory", "lead_source", "search")
            },
            "statuses": [
                (LeadStatus.UNROUTED, "Unrouted"),
                (LeadStatus.ASSIGNED, "Escalated, not contacted"),
                (LeadStatus.CONTACTED, "Escalated, contacted"),
            ],
            "reassign_form": ReassignForm(),
            "reps": rep_list_assignable(),
            "team_out": [each for each in team if not each.available],
            "team_size": len(team),
            "team_available": sum(1 for each in team if each.available),
            "querystring": query.urlencode(),
        },
    )


@require_POST
@portal_page("manager")
def unrouted_reroute(request: HttpRequest) -> HttpResponse:
    """Run routing again for the ticked leads; each that still finds no rep stays, with why."""
    back = next_url(request, "/queue/unrouted/")
    form = BulkRerouteForm(request.POST)
    if not form.is_valid():
        for problem in form.errors.get("leads", []):
            messages.error(request, problem)
        return redirect(back)
    # Only leads still waiting for a manager: one another manager placed meanwhile stays put.
    waiting = set(
        lead_list_needing_manager()
        .filter(pk__in=form.cleaned_data["leads"])
        .values_list("pk", flat=True)
    )
    outcomes = leads_reroute(lead_ids=sorted(waiting), actor=request.user)
    placed = [pk for pk, outcome in outcomes.items() if not isinstance(outcome, str)]
    failed = {pk: outcome for pk, outcome in outcomes.items() if isinstance(outcome, str)}
    gone = len(form.cleaned_data["leads"]) - len(waiting)
    if placed:
        messages.success(request, f"{len(placed)} lead{'s' if len(placed) != 1 else ''} rerouted.")
    for pk, why in failed.items():
        messages.warning(request, f"Lead #{pk} stays: {why}")
    if gone:
        messages.info(
            request,
            f"{gone} ticked lead{'s' if gone != 1 else ''} no longer waited here (placed meanwhile).",
        )
    return redirect(back)
