"""Configuration writers cannot undo each other: lock first, conditional requests, merged time
off, stable rule keys (issue 11, "Configuration writes")."""

from __future__ import annotations

import io
import json
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.test import APIClient

from apps.configuration import apply as config_apply
from apps.configuration import services as rule_services
from apps.configuration.export import routing_config_export
from apps.configuration.models import RoutingConfigVersion
from apps.configuration.services import routing_config_apply
from apps.leads.models import Lead
from apps.reps.models import TimeOff, TimeOffSource
from apps.routing.models import RotationState
from apps.routing.services import lead_route
from apps.rules.models import RoutingRule
from tests.factories import LeadFactory, TimeOffFactory

CONFIG = "/api/routing/config/"
RULES = "/api/rules/"


def _version() -> int:
    return RoutingConfigVersion.objects.order_by("-number").values_list("number", flat=True)[0]


def _rule_item(name: str) -> dict:
    return next(r for r in routing_config_export()["rules"] if r["name"] == name)


# --- 1. lock before reading ----------------------------------------------------------------------


def _race(monkeypatch, module, name, first, second) -> None:
    """Run ``first`` and, once it has read the configuration, ``second`` in another thread.

    ``first`` waits (a while at most) for ``second`` to finish after its read: a writer that
    reads before taking the lock then writes back a stale document over ``second``'s change. A
    writer that locks first keeps ``second`` waiting on the lock instead, so both survive.
    """
    real = getattr(module, name)
    has_read, second_done = threading.Event(), threading.Event()
    first_thread: list[threading.Thread] = []

    def export_then_pause(*args, **kwargs):
        result = real(*args, **kwargs)
        if threading.current_thread() is first_thread[0] and not has_read.is_set():
            has_read.set()
            second_done.wait(timeout=3)
        return result

    monkeypatch.setattr(module, name, export_then_pause)
    errors: list[BaseException] = []

    def run(fn, done=None):
        try:
            fn()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            if done is not None:
                done.set()
            connection.close()

    a = threading.Thread(target=run, args=(first,))
    first_thread.append(a)
    a.start()
    assert has_read.wait(timeout=30)
    b = threading.Thread(target=run, args=(second, second_done))
    b.start()
    a.join(timeout=60)
    b.join(timeout=60)
    assert not errors, errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_rule_puts_both_survive(west_org, monkeypatch):
    west = {**_rule_item("Enterprise West"), "sla_minutes": 45}
    everyone = {**_rule_item("Everyone else"), "sla_minutes": 99}
    _race(
        monkeypatch,
        config_apply,
        "export_parts",
        lambda: rule_services.rule_save(name="Enterprise West", item=west, actor=None),
        lambda: rule_services.rule_save(name="Everyone else", item=everyone, actor=None),
    )
    slas = dict(RoutingRule.objects.values_list("name", "sla_minutes"))
    assert slas == {"Enterprise West": 45, "Everyone else": 99}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reorder_and_a_concurrent_rule_put_both_survive(west_org, monkeypatch):
    everyone = {**_rule_item("Everyone else"), "sla_minutes": 99}
    ids = [west_org["everyone"].pk, west_org["enterprise"].pk]
    _race(
        monkeypatch,
        rule_services,
        "routing_config_export",
        lambda: rule_services.rule_reorder(order=ids, actor=None),
        lambda: rule_services.rule_save(name="Everyone else", item=everyone, actor=None),
    )
    rules = list(RoutingRule.objects.order_by("position").values_list("name", "sla_minutes"))
    assert rules == [("Everyone else", 99), ("Enterprise West", 30)]


# --- 2. conditional requests -------------------------------------------------------------------


def test_config_get_sends_the_version_as_etag_and_a_stale_if_match_is_412(
    manager_client, manager_user, west_org
):
    routing_config_apply(document=routing_config_export(), actor=manager_user, source="api")
    first = manager_client.get(CONFIG)
    assert first["ETag"] == f'"{_version()}"'
    stale = first["ETag"]
    document = first.json()
    # Someone else changes the configuration in between.
    west = {**_rule_item("Enterprise West"), "sla_minutes": 45}
    put = manager_client.put(f"{RULES}{west_org['enterprise'].pk}/", west, format="json")
    assert put.status_code == 200
    current = _version()

    document["rules"][1]["sla_minutes"] = 5
    refused = manager_client.put(CONFIG, document, format="json", HTTP_IF_MATCH=stale)
    assert refused.status_code == 412
    body = refused.json()
    assert body["based_on_version"] == int(stale.strip('"'))
    assert body["current_version"] == current
    assert body["changed_by"] == "manager"
    assert f"current version is {current}" in body["detail"]
    # Nothing changed: the other manager's edit stands.
    assert RoutingRule.objects.get(name="Enterprise West").sla_minutes == 45
    assert _version() == current

    fresh = manager_client.get(CONFIG)
    document = fresh.json()
    document["rules"][1]["sla_minutes"] = 5
    applied = manager_client.put(CONFIG, document, format="json", HTTP_IF_MATCH=fresh["ETag"])
    assert applied.status_code == 200
    assert applied["ETag"] == f'"{applied.json()["version"]}"'
    # No If-Match: unconditional, as before.
    assert manager_client.put(CONFIG, document, format="json").status_code == 200


def test_item_endpoints_send_etag_and_refuse_stale_writes(manager_client, west_org):
    url = f"{RULES}{west_org['enterprise'].pk}/"
    got = manager_client.get(url)
    assert got["ETag"] == '"0"'  # no version recorded yet
    stale = got["ETag"]
    first = manager_client.patch(url, {"sla_minutes": 40}, format="json", HTTP_IF_MATCH=stale)
    assert first.status_code == 200
    refused = manager_client.patch(url, {"sla_minutes": 50}, format="json", HTTP_IF_MATCH=stale)
    assert refused.status_code == 412
    assert refused.json()["current_version"] == _version()
    deleted = manager_client.delete(f"{RULES}{west_org['everyone'].pk}/", HTTP_IF_MATCH=stale)
    assert deleted.status_code == 412
    reorder = manager_client.post(
        RULES + "reorder/",
        {"order": [west_org["everyone"].pk, west_org["enterprise"].pk]},
        format="json",
        HTTP_IF_MATCH=stale,
    )
    assert reorder.status_code == 412
    assert list(RoutingRule.objects.values_list("name", "sla_minutes")) == [
        ("Enterprise West", 40),
        ("Everyone else", None),
    ]
    bad = manager_client.patch(url, {"sla_minutes": 50}, format="json", HTTP_IF_MATCH="v7")
    assert bad.status_code == 400
    assert "If-Match" in bad.json()
    current = manager_client.get(url)["ETag"]
    ok = manager_client.patch(url, {"sla_minutes": 50}, format="json", HTTP_IF_MATCH=current)
    assert ok.status_code == 200
    assert ok["ETag"] == f'"{_version()}"'


def test_export_names_its_version_and_import_refuses_a_stale_one_unless_forced(
    tmp_path, manager_user, west_org
):
    routing_config_apply(document=routing_config_export(), actor=manager_user, source="api")
    path = tmp_path / "config.json"
    call_command("export_routing_config", str(path), stderr=io.StringIO())
    document = json.loads(path.read_text())
    assert document["based_on_version"] == _version()
    # Importing what was just exported is fine (the key is accepted).
    call_command("import_routing_config", str(path), stdout=io.StringIO())

    rule = RoutingRule.objects.get(name="Enterprise West")
    rule_services.rule_save(
        name=rule.name, item={**_rule_item(rule.name), "sla_minutes": 45}, actor=manager_user
    )
    current = _version()
    with pytest.raises(CommandError) as refused:
        call_command("import_routing_config", str(path), stdout=io.StringIO())
    message = str(refused.value)
    assert f"version {document['based_on_version']}" in message
    assert f"current version is {current}" in message
    assert "--force" in message
    assert RoutingRule.objects.get(pk=rule.pk).sla_minutes == 45

    call_command("import_routing_config", str(path), "--force", stdout=io.StringIO())
    assert RoutingRule.objects.get(pk=rule.pk).sla_minutes == 30


# --- 3. reps' own time off is merged ------------------------------------------------------------


def test_a_document_keeps_time_off_reps_added_themselves(manager_client, west_org):
    alice, bob, _ = west_org["reps"]
    TimeOffFactory(rep=bob, starts_at="2026-11-01T00:00:00Z", ends_at="2026-11-02T00:00:00Z")
    document = manager_client.get(CONFIG).json()  # taken before alice books her leave
    rep_client = APIClient()
    rep_client.force_authenticate(alice.user)
    booked = rep_client.post(
        "/api/time-off/",
        {"starts_at": "2026-12-21T00:00:00Z", "ends_at": "2027-01-04T00:00:00Z"},
        format="json",
    )
    assert booked.status_code == 201
    assert TimeOff.objects.get(pk=booked.json()["id"]).source == TimeOffSource.REP

    bob_item = next(r for r in document["reps"] if r["username"] == "bob")
    bob_item["time_off"] = []  # the document drops the period it wrote itself
    assert manager_client.put(CONFIG, document, format="json").status_code == 200

    assert list(TimeOff.objects.values_list("rep__user__username", "starts_at__month")) == [
        ("alice", 12)
    ]
    # Re-applying the (newer) export changes nothing and keeps it.
    again = manager_client.put(CONFIG, manager_client.get(CONFIG).json(), format="json")
    assert again.json()["summary"] == "no changes"
    assert TimeOff.objects.filter(rep=alice).count() == 1


def test_a_document_period_overlapping_a_kept_one_is_a_400(manager_client, west_org):
    alice = west_org["reps"][0]
    TimeOffFactory(
        rep=alice,
        starts_at="2026-12-21T00:00:00Z",
        ends_at="2027-01-04T00:00:00Z",
        source=TimeOffSource.REP,
    )
    document = routing_config_export()
    document["reps"][0]["time_off"] = [
        {
            "starts_at": "2027-01-01T00:00:00Z",
            "ends_at": "2027-01-10T00:00:00Z",
            "reason": "vacation",
        }
    ]
    response = manager_client.put(CONFIG, document, format="json")
    assert response.status_code == 400
    assert "added outside the document" in response.json()["reps"]["0"]["time_off"][0]
    assert TimeOff.objects.count() == 1


# --- 4. stable rule keys -----------------------------------------------------------------------


def test_renaming_a_rule_in_a_document_keeps_its_id_rotation_and_leads(manager_client, west_org):
    rule = west_org["enterprise"]
    assert rule.key == "enterprise-west"
    lead = LeadFactory(company_size=5000, country="US", region="US-CA")
    lead_route(lead_id=lead.pk)
    assert Lead.objects.get(pk=lead.pk).rule_id == rule.pk
    document = manager_client.get(CONFIG).json()
    assert document["rules"][0]["key"] == "enterprise-west"
    document["rules"][0]["name"] = "Enterprise Pacific"
    response = manager_client.put(CONFIG, document, format="json")
    assert response.status_code == 200
    assert response.json()["summary"] == "rules: +0 ~1 -0"
    renamed = RoutingRule.objects.get(pk=rule.pk)
    assert (renamed.name, renamed.key) == ("Enterprise Pacific", "enterprise-west")
    assert RotationState.objects.get(rule=renamed).assignments == 1
    assert Lead.objects.get(pk=lead.pk).rule_id == rule.pk


def test_two_rules_swap_names_and_an_old_document_without_keys_matches_by_name(
    manager_client, west_org
):
    document = routing_config_export()
    a, b = document["rules"]
    a["name"], b["name"] = b["name"], a["name"]
    assert manager_client.put(CONFIG, document, format="json").status_code == 200
    assert RoutingRule.objects.get(pk=west_org["enterprise"].pk).name == "Everyone else"

    old = routing_config_export()
    for item in old["rules"]:
        del item["key"]
    old["rules"][0]["sla_minutes"] = 12
    assert manager_client.put(CONFIG, old, format="json").status_code == 200
    assert RoutingRule.objects.get(pk=west_org["enterprise"].pk).sla_minutes == 12
    assert RoutingRule.objects.count() == 2


def test_a_rule_key_cannot_be_changed_through_its_item(manager_client, west_org):
    url = f"{RULES}{west_org['enterprise'].pk}/"
    response = manager_client.patch(url, {"key": "other"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"key": ["a rule's key cannot be changed (it is 'enterprise-west')"]}


def test_deleting_a_rule_that_owns_open_leads_needs_force(manager_client, west_org):
    rule = west_org["enterprise"]
    for _ in range(2):
        lead_route(lead_id=LeadFactory(company_size=5000, country="US", region="US-CA").pk)
    url = f"{RULES}{rule.pk}/"
    refused = manager_client.delete(url)
    assert refused.status_code == 400
    assert refused.json() == {
        "non_field_errors": [
            "rules: removing rule 'Enterprise West' (key enterprise-west) would orphan 2 open "
            "lead(s); reassign them first, or force it"
        ]
    }
    document = routing_config_export()
    document["rules"] = document["rules"][1:]
    by_document = manager_client.put(CONFIG, document, format="json")
    assert by_document.status_code == 400
    assert "2 open lead(s)" in by_document.json()["rules"][0]
    assert RoutingRule.objects.filter(pk=rule.pk).exists()

    forced = manager_client.put(CONFIG + "?force=true", document, format="json")
    assert forced.status_code == 200
    assert not RoutingRule.objects.filter(pk=rule.pk).exists()


def test_a_rule_owning_open_leads_is_deleted_with_force(manager_client, west_org):
    rule = west_org["enterprise"]
    lead_route(lead_id=LeadFactory(company_size=5000, country="US", region="US-CA").pk)
    assert manager_client.delete(f"{RULES}{rule.pk}/?force=true").status_code == 204
    assert not RoutingRule.objects.filter(pk=rule.pk).exists()
