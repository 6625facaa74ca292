"""A hand-built quarter for the rule audit: a configuration applied as two versions, leads
routed by the real routing service, figures worked out by hand in the tests.

Rules, in order (v2): Enterprise (company_size ≥ 1000 → US), US (country US → US), US big
(company_size ≥ 5000 and country US → US: every lead it meets, Enterprise took first),
Webinars (lead_source webinar → EU; renamed from "Webinar" in v2), Hold APAC (country JP →
APAC, which has no rep; holds), Dead (industry mining; conditions changed in v2, matches no
lead), Catch-all (every lead → bob). "Legacy" existed in v1 only.

Leads: L1 US 10000 (Enterprise; converted; contacted after 10 min), L2 US 2000 (Enterprise;
contacted after 30 min), L3 US 50 (US), L4 DE webinar (Webinars), L5 FR (Catch-all),
L6 JP (held by Hold APAC: unrouted), L7 an unrouted lead with no routing record.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from apps.configuration.services import routing_config_apply
from apps.leads.models import Lead
from apps.routing.services import lead_route
from tests.factories import LeadFactory, UserFactory

AUDIT = "/audit/"
API = "/api/audit/rules/"


def _rule(key: str, name: str, conditions: list[Any], target: Any, **extra: Any) -> dict[str, Any]:
    return {"key": key, "name": name, "conditions": conditions, "target": target, **extra}


def _us(op: str = "eq") -> dict[str, Any]:
    return {"field": "country", "op": op, "value": "US"}


V1: dict[str, Any] = {
    "version": 1,
    "territories": [
        {"code": "US", "name": "United States", "countries": ["US"]},
        {"code": "EU", "name": "Europe", "countries": ["DE", "FR"]},
        {"code": "APAC", "name": "Asia Pacific", "countries": ["JP"]},
    ],
    "reps": [
        {"username": "ann", "territories": ["US"]},
        {"username": "bob", "territories": ["EU"]},
    ],
    "accounts": [],
    "rules": [
        _rule("enterprise", "Enterprise", [{"field": "company_size", "op": "gte", "value": 1000}],
              {"territory": "US"}),
        _rule("us", "US", [_us()], {"territory": "US"}),
        _rule("us-big", "US big", [{"field": "company_size", "op": "gte", "value": 5000}, _us()],
              {"territory": "US"}),
        _rule("webinar", "Webinar", [{"field": "lead_source", "op": "eq", "value": "webinar"}],
              {"territory": "EU"}),
        _rule("hold-apac", "Hold APAC", [{"field": "country", "op": "eq", "value": "JP"}],
              {"territory": "APAC"}, when_no_one_eligible="hold"),
        _rule("dead", "Dead", [{"field": "industry", "op": "eq", "value": "coal"}],
              {"territory": "US"}),
        _rule("legacy", "Legacy", [{"field": "industry", "op": "eq", "value": "fax"}],
              {"territory": "US"}),
        _rule("catch-all", "Catch-all", [], {"reps": [{"username": "bob"}]}),
    ],
}  # fmt: skip


def v2_document() -> dict[str, Any]:
    doc = copy.deepcopy(V1)
    rules = [r for r in doc["rules"] if r["key"] != "legacy"]
    for rule in rules:
        if rule["key"] == "webinar":
            rule["name"] = "Webinars"
        if rule["key"] == "dead":
            rule["conditions"] = [{"field": "industry", "op": "eq", "value": "mining"}]
    doc["rules"] = rules
    return doc


@pytest.fixture
def boss_client(boss) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(boss)
    return client


@pytest.fixture
def window() -> str:
    today = timezone.localdate()
    return f"start={today - timedelta(days=7)}&end={today}"


@pytest.fixture
def quarter(db, boss):  # type: ignore[no-untyped-def]
    editor = UserFactory(username="editor", is_staff=True)
    v1 = routing_config_apply(document=V1, actor=boss, source="api")
    v2 = routing_config_apply(document=v2_document(), actor=editor, source="admin")
    now = timezone.now()

    def lead(country: str, size: int | None = None, source: str = "web") -> Lead:
        created = now - timedelta(hours=2)
        lead = LeadFactory(
            country=country, company_size=size, lead_source=source, created_at=created,
            status="new", owner=None, territory=None, industry="",
        )  # fmt: skip
        lead_route(lead_id=lead.pk, now=timezone.now())
        lead.refresh_from_db()
        return lead

    leads = {
        "L1": lead("US", 10000),
        "L2": lead("US", 2000),
        "L3": lead("US", 50),
        "L4": lead("DE", 50, "webinar"),
        "L5": lead("FR", 10),
        "L6": lead("JP", 10),
    }
    leads["L7"] = LeadFactory(
        country="", status="unrouted", owner=None, territory=None, created_at=now
    )
    for name, minutes, status in (("L1", 10, "converted"), ("L2", 30, "contacted")):
        row = leads[name]
        Lead.objects.filter(pk=row.pk).update(
            status=status, first_contacted_at=row.created_at + timedelta(minutes=minutes)
        )
    return {"v1": v1, "v2": v2, "editor": editor, "leads": leads}
