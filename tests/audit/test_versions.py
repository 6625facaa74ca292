"""Configuration versions in the audit: the list, a diff between any two (page and API), and
restoring one through the ordinary apply path (validated, refused when stale)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.configuration.export import routing_config_export
from apps.configuration.models import RoutingConfigVersion
from apps.configuration.services import routing_config_apply
from apps.leads.models import Lead
from apps.reps.models import Rep
from apps.rules.models import RoutingRule
from tests.audit.conftest import V1, v2_document
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def versions(boss):  # type: ignore[no-untyped-def]
    v1 = routing_config_apply(document=V1, actor=boss, source="api")
    v2 = routing_config_apply(document=v2_document(), actor=boss, source="admin", note="tidy")
    return v1, v2


@pytest.fixture
def api(boss) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(boss)
    return client


def test_the_list_shows_every_version_with_author_source_and_summary(versions, boss_client) -> None:  # type: ignore[no-untyped-def]
    _, v2 = versions
    html = boss_client.get("/audit/versions/").content.decode()
    assert 'id="version-1"' in html and 'id="version-2"' in html
    assert v2.summary in html and "tidy" in html and "Admin" in html and "boss" in html
    assert "/audit/versions/diff/?from=1&amp;to=2" in html


def test_the_diff_page_groups_changes_and_offers_restore_of_the_older_version(
    versions, boss_client
) -> None:  # type: ignore[no-untyped-def]
    html = boss_client.get("/audit/versions/diff/?from=1&to=2").content.decode()
    assert "Version 1 to version 2" in html
    assert (
        '<li data-kind="rule_renamed">Rule &#x27;Webinar&#x27; renamed to &#x27;Webinars&#x27;</li>'
        in html
    )
    assert 'data-kind="rule_removed"' in html and 'data-kind="rule_conditions"' in html
    assert 'action="/audit/versions/1/restore/"' in html
    assert 'name="based_on_version" value="2"' in html
    # Against itself: nothing to show, nothing to restore.
    same = boss_client.get("/audit/versions/diff/?from=2").content.decode()
    assert "configure routing the same way" in same and "/restore/" not in same


def test_the_diff_api(versions, api) -> None:  # type: ignore[no-untyped-def]
    body = api.get("/api/audit/versions/diff/?from=1&to=2").json()
    assert body["from"]["number"] == 1 and body["to"]["number"] == 2
    assert body["to"]["note"] == "tidy"
    assert [c["kind"] for c in body["changes"]] == [
        "rule_renamed",
        "rule_conditions",
        "rule_removed",
    ]
    assert body["changes"][0] == {
        "kind": "rule_renamed",
        "section": "rules",
        "key": "webinar",
        "subject": "Webinars",
        "summary": "Rule 'Webinar' renamed to 'Webinars'",
    }
    # Backwards reads as what a restore would change; `to` defaults to the current version.
    back = api.get("/api/audit/versions/diff/?from=2&to=1").json()
    assert [c["kind"] for c in back["changes"]] == ["rule_renamed", "rule_conditions", "rule_added"]
    assert api.get("/api/audit/versions/diff/?from=1").json()["to"]["number"] == 2


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [("", 400, "from"), ("from=x", 400, "from"), ("from=1&to=0", 400, "to"), ("from=9", 404, None)],
)
def test_a_bad_diff_request(versions, api, boss_client, query, status, field) -> None:  # type: ignore[no-untyped-def]
    response = api.get(f"/api/audit/versions/diff/?{query}")
    assert response.status_code == status
    if field:
        assert field in response.json()
    assert boss_client.get(f"/audit/versions/diff/?{query}").status_code == status


def test_restore_from_the_page_makes_a_new_version_with_the_old_document(
    versions, boss_client
) -> None:  # type: ignore[no-untyped-def]
    v1, _ = versions
    response = boss_client.post("/audit/versions/1/restore/", {"based_on_version": 2})
    assert response.status_code == 302 and response["Location"] == "/audit/versions/"
    v3 = RoutingConfigVersion.objects.get(number=3)
    assert (
        v3.source == "restore" and v3.note == "Restored version 1" and v3.author.username == "boss"
    )
    assert routing_config_export()["rules"] == v1.document["rules"]
    assert v3.document == v1.document
    assert RoutingRule.objects.filter(key="legacy", name="Legacy").exists()
    assert "Version 1 restored as version 3" in boss_client.get("/audit/versions/").content.decode()


def test_a_stale_restore_is_refused_and_changes_nothing(versions, boss_client, api) -> None:  # type: ignore[no-untyped-def]
    response = api.post("/api/audit/versions/1/restore/", {"based_on_version": 1}, format="json")
    assert response.status_code == 412
    assert response.json()["current_version"] == 2
    page = boss_client.post("/audit/versions/1/restore/", {"based_on_version": 1}, follow=True)
    assert "Not restored: The configuration changed since version 1" in page.content.decode()
    assert RoutingConfigVersion.objects.count() == 2
    assert not RoutingRule.objects.filter(key="legacy").exists()


def test_restore_through_the_api(versions, api) -> None:  # type: ignore[no-untyped-def]
    response = api.post("/api/audit/versions/1/restore/", {"based_on_version": 2}, format="json")
    assert response.status_code == 201
    assert response.json()["version"] == 3 and response.json()["restored"] == 1
    assert api.post("/api/audit/versions/1/restore/", {}, format="json").json() == {
        "based_on_version": ["This field is required."]
    }
    assert (
        api.post(
            "/api/audit/versions/9/restore/", {"based_on_version": 3}, format="json"
        ).status_code
        == 404
    )


def test_a_restore_that_no_longer_validates_is_refused_with_the_reason(versions, boss, api) -> None:  # type: ignore[no-untyped-def]
    # v1 lacks a rule that now owns an open lead: removing it is refused, as for any write.
    doc = v2_document()
    doc["rules"].insert(0, {"key": "vip", "name": "VIP", "conditions": [{"field": "lead_score",
                       "op": "gte", "value": 99}], "target": {"territory": "US"}})  # fmt: skip
    routing_config_apply(document=doc, actor=boss, source="api")
    rule = RoutingRule.objects.get(key="vip")
    LeadFactory(status="assigned", owner=Rep.objects.get(user__username="ann"), rule=rule)
    response = api.post("/api/audit/versions/1/restore/", {"based_on_version": 3}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "rules": [
            "removing rule 'VIP' (key vip) would orphan 1 open lead(s); reassign them first, "
            "or force it"
        ]
    }
    assert RoutingConfigVersion.objects.count() == 3
    assert Lead.objects.filter(rule=rule).exists()
