"""/audit/backtest/: managers upload a draft and read the report; nothing is written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.leads.models import Lead
from apps.routing.models import Assignment, RotationState
from tests.routing.backtest_scenario import draft_document, scenario

pytestmark = pytest.mark.django_db
URL = "/audit/backtest/"


def upload(content: bytes | str, name: str = "draft.json") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="application/json")


def post(client: Client, document: Any = None, **fields: Any) -> Any:
    data = {"start": "2026-03-01", "end": "2026-03-31", **fields}
    if document is not None:
        data["document"] = upload(document if isinstance(document, str) else json.dumps(document))
    return client.post(URL, data)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_goes_to_sign_in() -> None:
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/audit/backtest/")
    assert Client().post(URL).status_code == 302


def test_a_rep_and_an_integration_account_are_refused(webform: Any) -> None:
    data = scenario()
    for user in (data["reps"]["ann"].user, webform):
        client = signed_in(user)
        assert client.get(URL).status_code == 403
        assert post(client, draft_document()).status_code == 403


def test_a_manager_sees_the_form(boss: Any) -> None:
    response = signed_in(boss).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert "at most 92" in html


def test_a_manager_runs_a_backtest(boss: Any) -> None:
    scenario()
    response = post(signed_in(boss), draft_document())
    assert response.status_code == 200, response.content.decode()[:2000]
    html = response.content.decode()
    report = response.context["report"]
    assert report["changed"]["count"] == 4
    assert '<span class="kpi-value" id="kpi-leads">7</span>' in html
    assert '<span class="kpi-value" id="kpi-changed">4</span>' in html
    assert '<span class="kpi-value" id="kpi-gini">0.381 → 0.0</span>' in html
    assert (
        '<tr><th scope="row">cid</th><td class="num">0</td><td class="num">2</td>'
        '<td class="num">+2</td></tr>' in html
    )
    assert "+ Germany: all 1 condition hold -&gt; cid" in html  # the draft's trace, readable
    assert "What was approximated" in html
    assert Lead.objects.count() == 7
    assert Assignment.objects.count() == 7
    assert not RotationState.objects.exists()


@pytest.mark.parametrize(
    ("document", "fields", "message"),
    [
        (None, {}, "document: This field is required."),
        ("{not json", {}, "The file is not valid JSON"),
        ("[1, 2]", {}, "must hold a configuration document"),
        ("DRAFT", {"start": "2026-02-30"}, "start: Enter a valid date."),
        ("DRAFT", {"end": "2026-02-01"}, "end: Must be on or after the first day."),
        ("DRAFT", {"end": "2026-06-30"}, "end: At most 92 days here"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    boss: Any, document: str | None, fields: dict[str, str], message: str
) -> None:
    body = json.dumps(draft_document()) if document == "DRAFT" else document
    response = post(signed_in(boss), body, **fields)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_an_invalid_draft_lists_every_error_by_path(boss: Any) -> None:
    document = draft_document()
    document["rules"][0]["strategy"] = "coin_toss"
    document["reps"][1]["time_zone"] = "Mars/Base"
    response = post(signed_in(boss), document)
    assert response.status_code == 400
    lines = response.context["document_errors"]
    assert any(line.startswith("rules.0.strategy: ") for line in lines)
    assert any(line.startswith("reps.1.time_zone: ") for line in lines)
    assert "The draft is not valid (2 errors)" in response.content.decode()
