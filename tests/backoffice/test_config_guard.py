"""Admin edits go through the configuration's own checks: routing never stops because of one,
and a form opened on an older version does not silently undo a newer change."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Account
from apps.configuration.export import routing_config_export
from apps.configuration.services import rule_save
from apps.configuration.snapshot import config_snapshot_build
from apps.engine import compile_config
from apps.leads.models import Lead
from apps.reps.models import Rep
from apps.routing.services import lead_route
from apps.rules.models import RoutingRule
from apps.territories.models import Territory
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, db):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def _territory_data(territory: Territory, **overrides) -> dict:
    data = {
        "code": territory.code,
        "name": territory.name,
        "parent": territory.parent_id or "",
        "countries": ", ".join(territory.countries),
        "regions": ", ".join(territory.regions),
        "postal_prefixes": ", ".join(territory.postal_prefixes),
        "children-TOTAL_FORMS": "0",
        "children-INITIAL_FORMS": str(territory.children.count()),
    }
    data.update(overrides)
    return data


def _compiles() -> bool:
    compile_config(config_snapshot_build())
    return True


def test_deleting_a_territory_a_rule_targets_is_refused_with_the_rule_named(admin_client, west_org):
    west = west_org["west"]
    url = f"/admin/territories/territory/{west.pk}/delete/"
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Rule &#x27;Enterprise West&#x27; target: unknown territory &#x27;US-WEST&#x27;" in page
    assert Territory.objects.filter(code="US-WEST").exists()
    assert _compiles()


def test_renaming_a_territory_code_renames_it_in_the_rules_and_routing_goes_on(
    admin_client, west_org
):
    west = west_org["west"]
    response = admin_client.post(
        f"/admin/territories/territory/{west.pk}/change/",
        _territory_data(west, code="US-PACIFIC"),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    rule = RoutingRule.objects.get(pk=west_org["enterprise"].pk)
    assert rule.target == {"territory": "US-PACIFIC"}
    assert {"field": "territory", "op": "within", "value": "US-PACIFIC"} in rule.conditions
    assert _compiles()
    lead = LeadFactory(company_size=5000, country="US", region="US-CA")
    lead_route(lead_id=lead.pk)
    assert Lead.objects.get(pk=lead.pk).rule_id == rule.pk
    # One version records the rename, rules included.
    document = routing_config_export()
    assert document["rules"][0]["target"] == {"territory": "US-PACIFIC"}


def test_a_territory_edit_that_breaks_the_configuration_is_a_form_error(admin_client, west_org):
    amer = west_org["amer"]
    response = admin_client.post(
        f"/admin/territories/territory/{amer.pk}/change/",
        _territory_data(amer, parent=west_org["west"].pk),
    )
    assert response.status_code == 200
    assert "parent cycle: AMER -&gt; US-WEST -&gt; AMER" in response.content.decode()
    assert Territory.objects.get(pk=amer.pk).parent_id is None


def test_deleting_a_rep_a_rule_targets_is_refused(admin_client, west_org):
    enterprise = west_org["enterprise"]
    item = {**routing_config_export()["rules"][0], "target": {"reps": [{"username": "bob"}]}}
    rule_save(name=enterprise.name, item=item, actor=None)
    bob = Rep.objects.get(user__username="bob")
    response = admin_client.post(f"/admin/reps/rep/{bob.pk}/delete/", {"post": "yes"})
    assert response.status_code == 200
    assert "unknown rep &#x27;bob&#x27;" in response.content.decode()
    assert Rep.objects.filter(pk=bob.pk).exists()


def test_deleting_a_rule_that_owns_open_leads_is_refused_naming_the_count(admin_client, west_org):
    rule = west_org["enterprise"]
    for _ in range(3):
        lead_route(lead_id=LeadFactory(company_size=5000, country="US", region="US-CA").pk)
    response = admin_client.post(f"/admin/rules/routingrule/{rule.pk}/delete/", {"post": "yes"})
    assert response.status_code == 200
    assert "Rule &#x27;Enterprise West&#x27; still owns 3 open lead(s)" in response.content.decode()
    assert RoutingRule.objects.filter(pk=rule.pk).exists()


def test_a_form_opened_on_an_older_version_refuses_to_save_unless_forced(admin_client, west_org):
    alice = west_org["reps"][0]
    Account.objects.create(domain="acme.com", name="Acme", owner=alice)
    account = Account.objects.get()
    url = f"/admin/accounts/account/{account.pk}/change/"
    opened = admin_client.get(url)
    based_on = opened.context["adminform"].form.initial["based_on_version"]
    # Meanwhile another manager changes the configuration.
    item = {**routing_config_export()["rules"][0], "sla_minutes": 45}
    version = rule_save(name="Enterprise West", item=item, actor=None)

    data = {"domain": "acme.com", "name": "Acme Inc", "owner": alice.pk}
    stale = admin_client.post(url, {**data, "based_on_version": based_on})
    assert stale.status_code == 200
    page = stale.content.decode()
    assert f"changed since version {based_on}" in page
    assert f"current version is {version.number}" in page
    assert Account.objects.get().name == "Acme"

    forced = admin_client.post(url, {**data, "based_on_version": based_on, "save_anyway": "on"})
    assert forced.status_code == 302
    assert Account.objects.get().name == "Acme Inc"
    # The other manager's change was not undone by the admin save.
    assert RoutingRule.objects.get(name="Enterprise West").sla_minutes == 45
