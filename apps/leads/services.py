"""Write-side helpers of leads that need nothing above the leads app.

Intake and the lead's lifecycle (contact, convert, disqualify) enqueue routing or give a rep's
capacity back, so they live in the routing app (apps.routing.intake, apps.routing.lead_work).
"""

from __future__ import annotations


def email_domain_of(email: str) -> str:
    """The lower-cased domain of an email address ("" without one)."""
    return email.rsplit("@", 1)[-1].lower() if "@" in email else ""


__all__ = ["email_domain_of"]
