"""A rep's queue: their open leads by SLA deadline, filtered, each with why it came to them."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from apps.leads.filtersets import LeadFilterSet
from apps.leads.models import LeadStatus
from apps.leads.selectors import lead_queue_of
from apps.portal.access import portal_page
from apps.portal.forms import CloseForm, ContactForm
from apps.portal.views._respond import page
from apps.routing.selectors import lead_current_reasons
from apps.routing.trace import reason_for_viewer

__all__ = ["QUEUE_PAGE_SIZE", "lead_cards", "queue"]

QUEUE_PAGE_SIZE = 50
#: The statuses a queue holds, for its status filter.
QUEUE_STATUSES = [(LeadStatus.ASSIGNED, "Not contacted yet"), (LeadStatus.CONTACTED, "Contacted")]


def lead_cards(leads: list[Any], *, viewer: Any) -> list[dict[str, Any]]:
    """What each lead's card shows: the lead, why its owner got it (redacted for a rep), and
    its action forms."""
    own_rep_id = viewer.rep.pk if viewer.rep is not None else None
    reasons = lead_current_reasons(lead_ids=[lead.pk for lead in leads])
    return [
        {
            "lead": lead,
            "why": reason_for_viewer(reasons.get(lead.pk, ""), full=viewer.is_manager),
            "mine": lead.owner_id is not None and lead.owner_id == own_rep_id,
            "contact_form": ContactForm(prefix=f"c{lead.pk}"),
            "convert_form": CloseForm(prefix=f"v{lead.pk}"),
            "disqualify_form": CloseForm(prefix=f"d{lead.pk}", reason_required=True),
        }
        for lead in leads
    ]


@require_GET
@portal_page("rep")
def queue(request: HttpRequest) -> HttpResponse:
    viewer = request.viewer  # type: ignore[attr-defined]
    mine = lead_queue_of(rep=viewer.rep)
    filterset = LeadFilterSet(request.GET or None, queryset=mine)
    paginator = Paginator(filterset.qs, QUEUE_PAGE_SIZE)
    current = paginator.get_page(request.GET.get("page"))
    # The filter menus offer what this rep's queue holds (two small queries).
    options = mine.order_by()
    sources = sorted(set(options.exclude(lead_source="").values_list("lead_source", flat=True)))
    territories = sorted(
        set(options.filter(territory__isnull=False).values_list("territory__code", flat=True))
    )
    query = request.GET.copy()
    query.pop("page", None)
    return page(
        request,
        "portal/queue.html",
        {
            "nav": "queue",
            "cards": lead_cards(list(current.object_list), viewer=viewer),
            "page_obj": current,
            "total": paginator.count,
            "filterset": filterset,
            "filters": {
                "status": request.GET.get("status", ""),
                "lead_source": request.GET.get("lead_source", ""),
                "territory": request.GET.get("territory", ""),
                "search": request.GET.get("search", ""),
            },
            "filtered": any(
                request.GET.get(k) for k in ("status", "lead_source", "territory", "search")
            ),
            "statuses": QUEUE_STATUSES,
            "sources": sources,
            "territories": territories,
            "querystring": query.urlencode(),
        },
    )
