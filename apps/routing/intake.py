"""Lead intake: save a new lead (idempotent on external_id) and queue its routing on commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction

from apps.leads.models import Lead
from apps.leads.services import email_domain_of
from apps.routing.tasks import route_lead_enqueue


def _lead_insert(lead: Lead) -> None:
    if transaction.get_connection().in_atomic_block:
        # A savepoint, so a lost external_id race leaves the caller's transaction usable.
        with transaction.atomic():
            lead.save(force_insert=True)
    else:
        # Autocommit: one INSERT round trip, no BEGIN/COMMIT (intake's hot path).
        lead.save(force_insert=True)


def lead_build(*, data: dict[str, Any], submitted_by: Any = None) -> Lead:
    """An unsaved `new` lead from validated intake data (lower-cased email, its domain, no
    blank key): what `lead_create` saves, and what the CSV import saves in bulk."""
    email = data["email"].strip().lower()
    external_id = data.get("external_id") or None
    lead = Lead(**{**data, "email": email, "external_id": external_id}, submitted_by=submitted_by)
    lead.email_domain = email_domain_of(email)
    return lead


def lead_rows(*, datas: Sequence[dict[str, Any]], submitted_by: Any) -> list[dict[str, Any]]:
    """The attribute values (`attname` -> value) of the leads `lead_build` builds from `datas`,
    without building a model instance per lead (the import saves thousands a second: each
    instance cost more than its insert, bench/import.py). Defaults are the model's, evaluated
    once for the batch: its leads share one `created_at` unless the data gives one."""
    template = Lead(submitted_by=submitted_by)
    defaults = {
        field.attname: getattr(template, field.attname)
        for field in Lead._meta.concrete_fields
        if not field.primary_key
    }
    rows = []
    for data in datas:
        unknown = data.keys() - defaults.keys()
        if unknown:  # as Lead(**data) would
            raise TypeError(
                f"Lead() got unexpected keyword arguments: {', '.join(sorted(unknown))}"
            )
        email = data["email"].strip().lower()
        row = {**defaults, **data, "email": email, "external_id": data.get("external_id") or None}
        row["email_domain"] = email_domain_of(email)
        if "extra" not in data:
            row["extra"] = {}  # a dict of its own, as the model's default gives each lead
        rows.append(row)
    return rows


def lead_create(*, data: dict[str, Any], submitted_by: Any = None) -> tuple[Lead, bool]:
    """Save a validated lead as `new`, sent by `submitted_by`, and queue its routing on commit.

    Returns `(lead, created)`; an `external_id` this account already sent returns its existing
    lead and routes nothing, also when two identical requests race (the unique constraint
    decides, without a prior read). Another account's identical key is another lead.
    """
    lead = lead_build(data=data, submitted_by=submitted_by)
    external_id = lead.external_id
    try:
        _lead_insert(lead)
    except IntegrityError as error:
        existing = (
            Lead.objects.filter(external_id=external_id, submitted_by=submitted_by)
            .order_by()
            .first()
            if external_id is not None and submitted_by is not None
            else None
        )
        if existing is None:
            raise error from None  # another constraint failed: not an idempotent repeat
        return existing, False
    # On commit: immediately in autocommit, after the caller's transaction otherwise.
    route_lead_enqueue(lead.pk)
    return lead, True


__all__ = ["lead_build", "lead_create", "lead_rows"]
