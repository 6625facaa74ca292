from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from apps.core.roles import user_is_manager, user_may_submit_leads, user_rep


class IsManager(BasePermission):
    """A superuser or a member of `RevOps managers`."""

    message = "Only RevOps managers may do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        return user_is_manager(request.user)


class IsManagerOrRep(BasePermission):
    """A manager, or a user linked to a rep: the people who read the routing configuration.

    Integration accounts (granted only `leads.add_lead`) and users with no role are refused,
    so a lead-submitting credential cannot read rules, territories, named accounts or reps.
    """

    message = "Only RevOps managers and reps may read this."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return user_is_manager(user) or user_rep(user) is not None


class CanSubmitLeads(BasePermission):
    """Managers, and integration users granted `leads.add_lead` (web forms, CRMs)."""

    message = "This account may not submit leads."

    def has_permission(self, request: Any, view: Any) -> bool:
        return user_may_submit_leads(request.user)
