"""The rules list's ordering tools: keyboard move buttons, drag and drop, the routing flow page,
and the rule warnings shown beside them. Every reorder is one configuration version."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from rest_framework.exceptions import ValidationError

from apps.configuration.services import RULE_MOVES, rule_move, rule_reorder
from apps.routing.rule_analysis import FLOW_WINDOWS, RuleWarning, rule_flow, rule_warnings
from apps.rules.models import RoutingRule

__all__ = [
    "MOVE_LABELS",
    "drag_reorder",
    "flow_view",
    "move_buttons",
    "move_view",
    "request_order",
    "request_warnings",
    "warnings_html",
]

FLOW_TEMPLATE = "admin/rules/routingrule/flow.html"
DEFAULT_WINDOW = 30
MOVE_LABELS = {
    "top": ("⤒", "Move to top"),
    "up": ("↑", "Move up"),
    "down": ("↓", "Move down"),
    "bottom": ("⤓", "Move to bottom"),
}


def request_warnings(request: HttpRequest) -> dict[int, list[RuleWarning]]:
    """The rule warnings, computed once per request."""
    cached = getattr(request, "_rp_rule_warnings", None)
    if cached is None:
        cached = rule_warnings()
        request._rp_rule_warnings = cached  # type: ignore[attr-defined]
    return cached


def _order() -> list[int]:
    return list(RoutingRule.objects.order_by("position", "id").values_list("id", flat=True))


def request_order(request: HttpRequest) -> list[int]:
    """The rule ids in routing order, read once per request (for the move buttons' ends)."""
    cached = getattr(request, "_rp_rule_order", None)
    if cached is None:
        cached = _order()
        request._rp_rule_order = cached  # type: ignore[attr-defined]
    return cached


def warnings_html(found: list[RuleWarning]) -> str:
    """Warnings as a list of "⚠ text" lines (each with its code as a class), or an empty string."""
    if not found:
        return ""
    items = format_html_join(
        "",
        '<li class="rp-warning rp-warning-{}">⚠ {}</li>',
        ((w.code, w.text) for w in found),
    )
    return format_html('<ul class="rp-warnings">{}</ul>', items)


def move_buttons(rule: RoutingRule, order: list[int]) -> str:
    """Four POST buttons; they submit the changelist's own form (its CSRF token) to the move URL."""
    first = bool(order) and order[0] == rule.pk
    last = bool(order) and order[-1] == rule.pk
    buttons = []
    for to in RULE_MOVES:
        symbol, label = MOVE_LABELS[to]
        disabled = (first and to in ("top", "up")) or (last and to in ("down", "bottom"))
        buttons.append(
            format_html(
                '<button type="submit" class="rp-move rp-move-{}" formmethod="post" '
                'formaction="{}" formnovalidate title="{}" aria-label="{} {}"{}>{}</button>',
                to,
                reverse("admin:rules_routingrule_move", args=[rule.pk, to]),
                label,
                label,
                rule.name,
                " disabled" if disabled else "",
                symbol,
            )
        )
    return format_html(
        '<span class="rp-moves" role="group" aria-label="Move {}">{}</span>',
        rule.name,
        format_html_join("", "{}", ((b,) for b in buttons)),
    )


def move_view(request: HttpRequest, object_id: str, to: str, *, model_admin: Any) -> HttpResponse:
    """POST: move one rule (top, up, down, bottom), then back to the list with what happened."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    changelist = reverse("admin:rules_routingrule_changelist")
    if to not in RULE_MOVES:
        return HttpResponseBadRequest(f"to: must be one of {', '.join(RULE_MOVES)}")
    rule = RoutingRule.objects.filter(pk=object_id).first() if object_id.isdigit() else None
    if rule is None:
        return HttpResponseBadRequest(f"rule: no rule with id {object_id!r}")
    version = rule_move(rule_id=rule.pk, to=to, actor=request.user)
    if version is None:
        model_admin.message_user(
            request, f"“{rule.name}” is already {'first' if to in ('top', 'up') else 'last'}."
        )
    else:
        position = _order().index(rule.pk) + 1
        model_admin.message_user(
            request,
            f"Moved “{rule.name}” {MOVE_LABELS[to][1].removeprefix('Move ').lower()}: "
            f"it is now rule {position} (configuration version {version.number}).",
            messages.SUCCESS,
        )
    return HttpResponseRedirect(changelist)


def drag_reorder(request: HttpRequest, *, model_admin: Any) -> HttpResponse:
    """adminsortable2's drop endpoint, through the configuration's write path: one version a drop.

    The script posts ``{"updatedItems": [[pk, position], ...]}`` for the rows whose position
    changed; the full order follows from the other rules' current positions.
    """
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    try:
        items = json.loads(request.body).get("updatedItems")
        moves = {int(pk): int(position) for pk, position in items}
    except (ValueError, TypeError, AttributeError):
        return HttpResponseBadRequest("updatedItems: must be a list of [rule id, position] pairs")
    current = list(RoutingRule.objects.order_by("position", "id").values_list("id", "position"))
    known = {pk for pk, _ in current}
    unknown = sorted(set(moves) - known)
    if unknown:
        return HttpResponseBadRequest(f"updatedItems: unknown rule ids {unknown}")
    wanted = [(moves.get(pk, position), k, pk) for k, (pk, position) in enumerate(current)]
    order = [pk for _, _, pk in sorted(wanted)]
    if order == [pk for pk, _ in current]:
        return HttpResponse("Updated 0 items")
    try:
        rule_reorder(order=order, actor=request.user)
    except ValidationError as exc:
        return HttpResponseBadRequest(json.dumps(exc.detail))
    moved = sum(1 for k, (pk, _) in enumerate(current) if order[k] != pk)
    return HttpResponse(f"Updated {moved} items")


def flow_view(request: HttpRequest, *, model_admin: Any) -> TemplateResponse | HttpResponse:
    """The active rules as a flow over the last 7, 30 or 90 days (``?days=``), with warnings."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    raw = request.GET.get("days", str(DEFAULT_WINDOW))
    if not raw.isdigit() or int(raw) not in FLOW_WINDOWS:
        return HttpResponseBadRequest(
            f"days: must be one of {', '.join(str(d) for d in FLOW_WINDOWS)}"
        )
    flow = rule_flow(days=int(raw), warnings=request_warnings(request))
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Routing flow",
        "subtitle": None,
        "opts": opts,
        "flow": flow,
        "windows": FLOW_WINDOWS,
    }
    return TemplateResponse(request, FLOW_TEMPLATE, context)
