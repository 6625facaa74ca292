"""Read side of the configuration document: ORM rows -> the JSON items of API.md."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction

from apps.accounts.models import Account
from apps.accounts.selectors import account_list
from apps.reps.models import Rep, TimeOff, WorkingHours
from apps.reps.selectors import rep_list
from apps.rules.models import RoutingRule
from apps.territories.models import Territory
from apps.territories.selectors import territory_list

from .models import RoutingConfigVersion

__all__ = [
    "DOCUMENT_FORMAT",
    "account_item",
    "config_version_latest",
    "config_version_number",
    "datetime_text",
    "rep_item",
    "routing_config_export",
    "routing_config_export_based",
    "rule_item",
    "territory_item",
    "time_off_item",
    "working_hours_item",
]

#: The document's format version (the `version` key). Config versions are numbered separately.
DOCUMENT_FORMAT = 1


def datetime_text(value: datetime.datetime) -> str:
    """ISO 8601 in UTC with a `Z`, the document's one spelling of an instant."""
    text = value.astimezone(datetime.UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def territory_item(territory: Territory) -> dict[str, Any]:
    return {
        "code": territory.code,
        "name": territory.name,
        "parent": territory.parent.code if territory.parent_id else None,
        "countries": list(territory.countries or []),
        "regions": list(territory.regions or []),
        "postal_prefixes": list(territory.postal_prefixes or []),
    }


def working_hours_item(window: WorkingHours) -> dict[str, Any]:
    return {
        "weekdays": sorted(window.weekdays),
        "start": window.start.strftime("%H:%M"),
        "end": window.end.strftime("%H:%M"),
    }


def time_off_item(period: TimeOff) -> dict[str, Any]:
    return {
        "starts_at": datetime_text(period.starts_at),
        "ends_at": datetime_text(period.ends_at),
        "reason": period.reason,
    }


def rep_item(rep: Rep) -> dict[str, Any]:
    """A rep as in the document; `rep` should come from :func:`apps.reps.selectors.rep_list`."""
    user = rep.user
    return {
        "username": user.username,
        "name": user.get_full_name() or user.username,
        "email": user.email,
        "time_zone": rep.time_zone,
        "active": rep.active,
        "territories": sorted(t.code for t in rep.territories.all()),
        "weight": rep.weight,
        "max_open_leads": rep.max_open_leads,
        "max_daily_leads": rep.max_daily_leads,
        "skills": list(rep.skills or []),
        "languages": list(rep.languages or []),
        "working_hours": [working_hours_item(w) for w in rep.working_hours.all()],
        "time_off": [time_off_item(t) for t in rep.time_off.all()],
    }


def account_item(account: Account) -> dict[str, Any]:
    return {
        "domain": account.domain,
        "name": account.name,
        "owner": account.owner.user.username if account.owner_id else None,
    }


def rule_item(rule: RoutingRule) -> dict[str, Any]:
    return {
        "key": rule.key,
        "name": rule.name,
        "description": rule.description,
        "active": rule.active,
        "conditions": rule.conditions if rule.conditions is not None else [],
        "target": rule.target,
        "strategy": rule.strategy,
        "sla_minutes": rule.sla_minutes,
        "respect_working_hours": rule.respect_working_hours,
        "require_skill_from": rule.require_skill_from or None,
        "require_language": rule.require_language,
        "when_no_one_eligible": rule.when_no_one_eligible,
        "sla_business_hours": rule.sla_business_hours,
    }


def export_parts() -> tuple[dict[str, Any], list[RoutingRule]]:
    """The live document and the rule rows it was read from (writers lock before reading)."""
    territories = [territory_item(t) for t in territory_list()]
    # Working hours and time off are read flat (2 queries), not per rep.
    reps = list(rep_list())
    accounts = [account_item(a) for a in account_list()]
    rules = list(RoutingRule.objects.order_by("position", "id"))
    document = {
        "version": DOCUMENT_FORMAT,
        "territories": territories,
        "reps": [rep_item(r) for r in reps],
        "accounts": accounts,
        "rules": [rule_item(r) for r in rules],
    }
    return document, rules


def routing_config_export() -> dict[str, Any]:
    """The whole live configuration as API.md's JSON document (7 queries)."""
    return export_parts()[0]


def config_version_latest() -> RoutingConfigVersion | None:
    """The current configuration version (the one an ETag names), None before the first."""
    return RoutingConfigVersion.objects.select_related("author").order_by("-number").first()


def config_version_number() -> int:
    """The current version's number, 0 before the first; what ``based_on`` values compare to."""
    latest = RoutingConfigVersion.objects.order_by("-number").values_list("number", flat=True)
    return latest.first() or 0


def routing_config_export_based() -> dict[str, Any]:
    """The document plus ``based_on_version``, read in one transaction so the two agree."""
    with transaction.atomic():
        number = config_version_number()
        document = routing_config_export()
    return {"based_on_version": number, **document}


def rule_ids_by_name() -> dict[str, int]:
    return dict(RoutingRule.objects.values_list("name", "id"))
