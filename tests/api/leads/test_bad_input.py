"""Whatever a form or script sends, intake answers 400 naming the field and saves nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from apps.leads.models import Lead
from apps.routing.tasks import route_lead

pytestmark = pytest.mark.django_db

URL = "/api/leads/"
MB = "x" * (1024 * 1024)

STRING_FIELDS = (
    "external_id",
    "first_name",
    "last_name",
    "phone",
    "company",
    "title",
    "city",
    "country",
    "region",
    "postal_code",
    "industry",
    "lead_source",
    "product_interest",
    "language",
)


@pytest.fixture(autouse=True)
def _no_broker():  # type: ignore[no-untyped-def]
    with mock.patch.object(route_lead, "apply_async"):
        yield


def assert_refused(response, field):  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body, body
    assert Lead.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        '{"email": "a@b.com",}',
        "",
        "\ufeff{",
        '{"email": "a@b.com", "lead_score": NaN}',
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=["broken", "trailing-comma", "empty", "bom", "nan", "deeply-nested"],
)
def test_malformed_json(manager_client, body):
    response = manager_client.generic("POST", URL, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "detail" in response.json() or "email" in response.json()
    assert Lead.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [[], [{"email": "a@b.com"}], "a@b.com", 42, None, True],
    ids=["empty-list", "list", "string", "number", "null", "bool"],
)
def test_non_object_bodies(manager_client, body):
    response = manager_client.generic(
        "POST", URL, json.dumps(body), content_type="application/json"
    )
    assert_refused(response, "non_field_errors")


@pytest.mark.parametrize("field", [*STRING_FIELDS, "email"])
@pytest.mark.parametrize("value", [["a"], {"a": 1}, True], ids=["list", "object", "bool"])
def test_wrong_type_for_string_fields(manager_client, field, value):
    payload = {"email": "a@b.com", field: value}
    assert_refused(manager_client.post(URL, payload, format="json"), field)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("company_size", "many"),
        ("company_size", 1.5),
        ("company_size", True),
        ("company_size", [1]),
        ("company_size", 10**30),
        ("company_size", -1),
        ("lead_score", "high"),
        ("lead_score", 101),
        ("lead_score", -1),
        ("lead_score", {"v": 1}),
        ("annual_revenue", "lots"),
        ("annual_revenue", "NaN"),
        ("annual_revenue", "Infinity"),
        ("annual_revenue", "1e40"),
        ("annual_revenue", -3),
        ("annual_revenue", [1]),
        ("created_at", "yesterday"),
        ("created_at", 12345),
        ("created_at", "2026-02-30T00:00:00Z"),
        ("created_at", ["2026-01-01"]),
        ("created_at", "0001-01-01T00:00:00+14:00"),
        ("extra", "text"),
        ("extra", [1, 2]),
        ("extra", 5),
        ("extra", {"k": "nul\x00"}),
        ("extra", {"nul\x00": 1}),
        ("extra", {"deep": [{"x": "\x00"}]}),
        ("email", 5),
        ("email", "two@@at.com"),
        ("email", ""),
        ("email", None),
    ],
)
def test_wrong_types_and_ranges(manager_client, field, value):
    payload = {"email": "a@b.com", field: value}
    assert_refused(manager_client.post(URL, payload, format="json"), field)


@pytest.mark.parametrize("field", [*STRING_FIELDS, "email"])
def test_one_megabyte_strings(manager_client, field):
    assert_refused(manager_client.post(URL, {"email": "a@b.com", field: MB}, format="json"), field)


def test_one_megabyte_extra(manager_client):
    assert_refused(
        manager_client.post(URL, {"email": "a@b.com", "extra": {"notes": MB}}, format="json"),
        "extra",
    )


@pytest.mark.parametrize("field", [*STRING_FIELDS, "email"])
def test_nul_characters_in_strings(manager_client, field):
    assert_refused(
        manager_client.post(URL, {"email": "a@b.com", field: "a\x00b"}, format="json"), field
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("country", "Atlantis"),
        ("country", "XX"),
        ("region", "US-ZZ"),
        ("region", "Narnia"),
        ("language", "xx"),
        ("language", "english"),
        ("language", "eng"),
    ],
)
def test_unknown_codes(manager_client, field, value):
    payload = {"email": "a@b.com", "country": "US", field: value}
    assert_refused(manager_client.post(URL, payload, format="json"), field)


def test_future_created_at(manager_client):
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert_refused(
        manager_client.post(URL, {"email": "a@b.com", "created_at": future}, format="json"),
        "created_at",
    )


def test_several_bad_fields_are_all_named(manager_client):
    response = manager_client.post(
        URL, {"email": "nope", "lead_score": 500, "country": "Mars", "extra": []}, format="json"
    )
    assert_refused(response, "email")
    assert set(response.json()) == {"email", "lead_score", "country", "extra"}


def test_form_encoded_bad_input(manager_client):
    response = manager_client.post(URL, {"email": "nope", "company_size": "x"})
    assert_refused(response, "company_size")


def test_unsupported_media_type(manager_client):
    response = manager_client.generic("POST", URL, "<lead/>", content_type="application/xml")
    assert response.status_code == 415
    assert Lead.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "payload", "field"),
    [
        ("contact", {"at": "soon"}, "at"),
        ("contact", {"at": 5}, "at"),
        ("contact", {"note": ["x"]}, "note"),
        ("contact", {"note": MB}, "note"),
        ("convert", {"reason": {"a": 1}}, "reason"),
        ("disqualify", {"reason": MB}, "reason"),
        ("reassign", {"rep": ["bob"], "note": "x"}, "rep"),
        ("reassign", {"rep": "bob", "note": ["x"]}, "note"),
        ("reassign", {"rep": "x" * 10_000, "note": "x"}, "rep"),
    ],
)
def test_action_bad_input(manager_client, name, payload, field):
    from tests.factories import LeadFactory, RepFactory

    lead = LeadFactory(owner=RepFactory(), status="assigned")
    response = manager_client.post(f"{URL}{lead.pk}/{name}/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    lead.refresh_from_db()
    assert lead.status == "assigned"


@pytest.mark.parametrize("name", ["contact", "convert", "reassign"])
def test_action_non_object_body(manager_client, name):
    from tests.factories import LeadFactory, RepFactory

    lead = LeadFactory(owner=RepFactory(), status="assigned")
    response = manager_client.generic(
        "POST", f"{URL}{lead.pk}/{name}/", json.dumps(["x"]), content_type="application/json"
    )
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


# JSON that parses but cannot be stored: 400 naming the field, on every endpoint ----------------


def post_raw(client, body: str, url: str = URL):  # type: ignore[no-untyped-def]
    return client.generic("POST", url, body, content_type="application/json")


def nested(depth: int) -> dict:  # type: ignore[type-arg]
    value: dict = {"leaf": 1}  # type: ignore[type-arg]
    for _ in range(depth - 1):
        value = {"k": value}
    return value


def test_extra_nested_hundreds_of_levels(manager_client):
    body = '{"email": "a@b.com", "extra": ' + '{"k": ' * 400 + "1" + "}" * 400 + "}"
    assert_refused(post_raw(manager_client, body), "extra")


def test_extra_nested_past_its_limit(manager_client):
    assert_refused(
        manager_client.post(URL, {"email": "a@b.com", "extra": nested(12)}, format="json"),
        "extra",
    )


def test_extra_nested_within_its_limit_is_kept(manager_client):
    response = manager_client.post(URL, {"email": "a@b.com", "extra": nested(10)}, format="json")
    assert response.status_code == 201, response.content
    assert Lead.objects.get().extra == nested(10)


@pytest.mark.parametrize("field", ["lead_score", "company_size", "annual_revenue"])
@pytest.mark.parametrize("number", ["1e400", "-1e400"])
def test_overflowing_float(manager_client, field, number):
    assert_refused(post_raw(manager_client, f'{{"email": "a@b.com", "{field}": {number}}}'), field)


def test_overflowing_float_in_extra(manager_client):
    assert_refused(post_raw(manager_client, '{"email": "a@b.com", "extra": {"n": 1e400}}'), "extra")


@pytest.mark.parametrize("field", ["lead_score", "company_size", "annual_revenue"])
def test_huge_integer(manager_client, field):
    huge = "9" * 5000  # past Python's int-from-text limit
    assert_refused(post_raw(manager_client, f'{{"email": "a@b.com", "{field}": {huge}}}'), field)


def test_huge_integer_in_extra(manager_client):
    huge = "9" * 5000
    assert_refused(post_raw(manager_client, f'{{"email": "a@b.com", "extra": [{huge}]}}'), "extra")


@pytest.mark.parametrize("field", [*STRING_FIELDS, "email"])
def test_unpaired_surrogate_in_a_value(manager_client, field):
    assert_refused(
        post_raw(manager_client, f'{{"email": "a@b.com", "{field}": "x\\ud800"}}'), field
    )


@pytest.mark.parametrize(
    "extra",
    ['{"k": "\\udfff"}', '{"\\ud800": 1}', '{"k": ["\\ud800"]}', '{"k": {"\\udc00x": 1}}'],
    ids=["value", "key", "in-list", "nested-key"],
)
def test_unpaired_surrogate_in_extra(manager_client, extra):
    assert_refused(post_raw(manager_client, f'{{"email": "a@b.com", "extra": {extra}}}'), "extra")


def test_unpaired_surrogate_in_an_unknown_field_name(manager_client):
    response = post_raw(manager_client, '{"email": "a@b.com", "x\\ud800": 1}')
    assert_refused(response, "x\\ud800")


def test_paired_surrogates_are_fine(manager_client):
    response = post_raw(manager_client, '{"email": "a@b.com", "company": "Fish \\ud83d\\udc1f"}')
    assert response.status_code == 201, response.content
    assert Lead.objects.get().company == "Fish \U0001f41f"


def test_unpaired_surrogate_as_an_idempotency_key_of_an_invalid_body(manager_client):
    # The repeat lookup must not send it to PostgreSQL either.
    assert_refused(post_raw(manager_client, '{"external_id": "\\ud800"}'), "external_id")


@pytest.mark.parametrize("value", [8841, 1.5, 0], ids=["int", "float", "zero"])
def test_external_id_must_be_a_string(manager_client, value):
    assert_refused(
        manager_client.post(URL, {"email": "a@b.com", "external_id": value}, format="json"),
        "external_id",
    )


def test_oversized_json_body_is_a_json_400(manager_client):
    body = json.dumps({"email": "a@b.com", "company": "x" * (3 * 1024 * 1024)})
    response = post_raw(manager_client, body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "larger than" in response.json()["detail"]
    assert Lead.objects.count() == 0


def test_oversized_form_body_is_a_json_400(manager_client):
    response = manager_client.post(
        URL,
        {"email": "a@b.com", "company": "x" * (3 * 1024 * 1024)},
        format="multipart",
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()
    assert Lead.objects.count() == 0


def test_database_data_error_is_a_400(manager_client):
    from django.db import DataError

    with mock.patch(
        "apps.api.leads.views.lead_create",
        side_effect=DataError("value too long for type character varying(255)"),
    ):
        response = manager_client.post(URL, {"email": "a@b.com"}, format="json")
    assert response.status_code == 400
    assert "too long" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("PUT", "/api/routing/config/", '{"rules": "\\ud800"}', "rules"),
        ("POST", "/api/territories/", '{"code": "X\\ud800", "name": "x"}', "code"),
        ("POST", "/api/territories/", '{"code": "X", "name": 1e400}', "name"),
        ("POST", "/api/routing/simulate/", '{"lead": {"company_size": 1e400}}', "lead"),
    ],
    ids=["config-surrogate", "territory-surrogate", "territory-overflow", "simulate-overflow"],
)
def test_every_endpoint_uses_the_safe_parser(manager_client, method, url, body, field):
    response = manager_client.generic(method, url, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in response.json()
