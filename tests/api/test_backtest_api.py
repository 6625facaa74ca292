"""POST /api/audit/backtest/: managers replay a window through a draft; nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.leads.models import Lead
from apps.routing.models import Assignment, RotationState
from tests.routing.backtest_scenario import draft_document, scenario

pytestmark = pytest.mark.django_db
URL = "/api/audit/backtest/"


def body(**overrides: Any) -> dict[str, Any]:
    return {"document": draft_document(), "start": "2026-03-01", "end": "2026-03-31", **overrides}


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_manager_gets_the_report(manager_client: APIClient) -> None:
    data = scenario()
    response = manager_client.post(URL, body(), format="json")
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["window"] == {"start": "2026-03-01", "end": "2026-03-31", "time_zone": "UTC"}
    assert report["leads"] == 7
    assert {r["rep"]: (r["before"], r["after"]) for r in report["per_rep"]} == {
        "ann": (4, 2),
        "bob": (3, 2),
        "cid": (0, 2),
    }
    assert report["changed"]["count"] == 4
    assert report["changed"]["sample"][0]["lead_id"] == data["leads"][1].pk
    assert report["unrouted"]["after"]["count"] == 1
    assert report["balance"] == {"gini_before": 0.381, "gini_after": 0.0, "reps": 3}
    assert report["capacity_breaches"] == []
    assert report["approximations"]
    assert set(report["stats"]) == {"seconds", "leads_per_second", "compilations"}
    assert Assignment.objects.count() == 7  # the scenario's own, nothing added
    assert Lead.objects.count() == 7
    assert not RotationState.objects.exists()


def test_the_sample_size_is_a_parameter(manager_client: APIClient) -> None:
    scenario()
    report = manager_client.post(URL, body(sample=1), format="json").json()
    assert report["changed"]["count"] == 4
    assert len(report["changed"]["sample"]) == 1


def test_only_managers_may_backtest(webform: Any) -> None:
    data = scenario()
    rep_client = client_for(data["reps"]["ann"].user)
    assert rep_client.post(URL, body(), format="json").status_code == 403
    assert client_for(webform).post(URL, body(), format="json").status_code == 403
    assert APIClient().post(URL, body(), format="json").status_code == 401


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"start": "2026-02-30"}, "start", "Date has wrong format"),
        ({"end": "soon"}, "end", "Date has wrong format"),
        ({"start": None}, "start", "This field may not be null"),
        ({"end": "2026-02-01"}, "end", "must be on or after start"),
        ({"end": "2026-06-30"}, "end", "the window is 122 days; at most 92 here"),
        ({"document": []}, "document", "must be a configuration document"),
        ({"sample": 101}, "sample", "less than or equal to 100"),
    ],
)
def test_bad_input_names_the_field(
    manager_client: APIClient, overrides: dict[str, Any], field: str, message: str
) -> None:
    response = manager_client.post(URL, body(**overrides), format="json")
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert message in str(errors[field])


def test_missing_fields_are_named(manager_client: APIClient) -> None:
    response = manager_client.post(URL, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"document", "start", "end"}


def test_an_invalid_draft_answers_every_error_by_path(manager_client: APIClient) -> None:
    scenario()
    document = draft_document()
    document["rules"][0]["strategy"] = "coin_toss"
    document["rules"][1]["conditions"] = [{"field": "colour", "op": "eq", "value": "red"}]
    document["reps"][0]["time_zone"] = "Mars/Base"
    document["colour"] = "red"
    response = manager_client.post(URL, body(document=document), format="json")
    assert response.status_code == 400
    errors = response.json()["document"]
    assert "strategy" in errors["rules"]["0"]
    assert "colour" in str(errors["rules"]["1"]["conditions"])
    assert "time_zone" in errors["reps"]["0"]
    assert errors["colour"] == ["unknown field 'colour'"]
