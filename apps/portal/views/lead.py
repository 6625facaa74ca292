"""A lead's page (facts, why, activity and assignment history) and the actions on a lead.

Someone else's lead is a 404, as in the API; a lead the rep held until a moment ago answers
with a plain "it was moved" instead, since they know it exists.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.leads.models import WORKING_STATUSES, Lead
from apps.leads.selectors import lead_activity_list, lead_list_visible
from apps.portal.access import portal_page
from apps.portal.forms import CloseForm, ContactForm, ReassignForm
from apps.portal.views._respond import (
    action_done,
    action_invalid,
    action_refused,
    next_url,
    page,
)
from apps.portal.views.queue import lead_cards
from apps.reps.selectors import rep_list_assignable
from apps.routing.selectors import lead_assignment_list, lead_held_by
from apps.routing.services import (
    LeadMovedError,
    LeadStateError,
    RoutingError,
    lead_contact,
    lead_convert,
    lead_disqualify,
    lead_reassign,
    lead_reroute,
)
from apps.routing.trace import reason_for_viewer

__all__ = [
    "lead_contact_action",
    "lead_convert_action",
    "lead_detail",
    "lead_disqualify_action",
    "lead_reassign_action",
    "lead_reroute_action",
]

MOVED = "This lead was moved to another rep a moment ago: it is no longer in your queue."


def _visible_lead(request: HttpRequest, pk: int) -> Lead | None:
    """The lead if the viewer may see it; None when it moved away from this rep; else 404."""
    lead = lead_list_visible(user=request.user).filter(pk=pk).first()
    if lead is not None:
        return lead
    rep = request.viewer.rep  # type: ignore[attr-defined]
    if rep is not None and lead_held_by(lead_id=pk, rep=rep):
        return None
    raise Http404("No such lead.")


def _lead_page(
    request: HttpRequest, lead: Lead, *, forms: dict[str, Form] | None = None, status: int = 200
) -> HttpResponse:
    viewer = request.viewer  # type: ignore[attr-defined]
    full = viewer.is_manager
    [card] = lead_cards([lead], viewer=viewer)
    if forms:
        card.update(forms)
    activities = [
        {"activity": each, "note": reason_for_viewer(each.note, full=full)}
        for each in lead_activity_list(lead_id=lead.pk)
    ]
    assignments = [
        {"assignment": each, "reason": reason_for_viewer(each.reason, full=full)}
        for each in lead_assignment_list(lead_id=lead.pk)
    ]
    context: dict[str, Any] = {
        "nav": "unrouted" if full and viewer.rep is None else "queue",
        "card": card,
        "lead": lead,
        "activities": activities,
        "assignments": assignments,
        "can_work": lead.status in WORKING_STATUSES
        and (full or (viewer.rep is not None and lead.owner_id == viewer.rep.pk)),
    }
    if full:
        context["reassign_form"] = (forms or {}).get("reassign_form") or ReassignForm()
        context["reps"] = rep_list_assignable()
    return page(request, "portal/lead.html", context, status=status)


@require_GET
@portal_page("member")
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible_lead(request, pk)
    if lead is None:
        raise Http404(MOVED)
    return _lead_page(request, lead)


def _card_html(request: HttpRequest, lead_id: int) -> tuple[str, bool]:
    """The lead's refreshed queue card, or ("", True) when it left the queue."""
    lead = lead_list_visible(user=request.user).filter(pk=lead_id).first()
    if lead is None or lead.status not in WORKING_STATUSES:
        return "", True
    [card] = lead_cards([lead], viewer=request.viewer)  # type: ignore[attr-defined]
    context = {
        **card,
        "in_queue": True,
        "actions": True,
        "next_path": next_url(request, reverse("portal:queue")),
    }
    html = render_to_string("portal/_lead_card.html", context, request=request)
    return html, False


def _act(
    request: HttpRequest, pk: int, *, form: Form, form_key: str, run: Any, done: Any
) -> HttpResponse:
    """Validate ``form``, run the one service call, and answer (JSON for the script, else a
    redirect with a message, or the lead page with the form's errors)."""
    lead_page_url = reverse("portal:lead", args=[pk])
    lead = _visible_lead(request, pk)
    if lead is None:
        return action_refused(
            request, message=MOVED, default_next=reverse("portal:queue"), remove=True
        )
    if not form.is_valid():
        return action_invalid(
            request, form, fallback=_lead_page(request, lead, forms={form_key: form}, status=400)
        )
    try:
        result = run(lead, form.cleaned_data)
    except LeadMovedError:
        return action_refused(
            request, message=MOVED, default_next=reverse("portal:queue"), remove=True
        )
    except (LeadStateError, RoutingError) as error:
        return action_refused(request, message=str(error), default_next=lead_page_url)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
        return action_invalid(
            request, form, fallback=_lead_page(request, lead, forms={form_key: form}, status=400)
        )
    html, gone = _card_html(request, pk)
    message = done(result) if callable(done) else done
    return action_done(request, message=message, default_next=lead_page_url, html=html, remove=gone)


@require_POST
@portal_page("member")
def lead_contact_action(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        form=ContactForm(request.POST, prefix=f"c{pk}"),
        form_key="contact_form",
        run=lambda lead, data: lead_contact(lead_id=lead.pk, actor=request.user, note=data["note"]),
        done="Contact logged.",
    )


@require_POST
@portal_page("member")
def lead_convert_action(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        form=CloseForm(request.POST, prefix=f"v{pk}"),
        form_key="convert_form",
        run=lambda lead, data: lead_convert(
            lead_id=lead.pk, actor=request.user, reason=data["reason"]
        ),
        done="Converted. Well done!",
    )


@require_POST
@portal_page("member")
def lead_disqualify_action(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        form=CloseForm(request.POST, prefix=f"d{pk}", reason_required=True),
        form_key="disqualify_form",
        run=lambda lead, data: lead_disqualify(
            lead_id=lead.pk, actor=request.user, reason=data["reason"]
        ),
        done="Disqualified.",
    )


@require_POST
@portal_page("manager")
def lead_reassign_action(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        form=ReassignForm(request.POST),
        form_key="reassign_form",
        run=lambda lead, data: lead_reassign(
            lead_id=lead.pk, rep=data["rep"], note=data["note"], actor=request.user
        ),
        done=lambda assignment: f"Reassigned to {assignment.rep.name}.",
    )


@require_POST
@portal_page("manager")
def lead_reroute_action(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        form=Form(request.POST),
        form_key="reroute_form",
        run=lambda lead, data: lead_reroute(lead_id=lead.pk, actor=request.user),
        done=lambda result: (
            f"Rerouted to {result.lead.owner.name}." if result.lead.owner_id else "Rerouted."
        ),
    )
