"""Property-based fuzzing of the lead endpoints against the live OpenAPI schema: never a 500.

Schemathesis' own pytest plugin does not load under pytest 9, so each operation's strategy is
driven by Hypothesis directly. `LEADS_FUZZ_EXAMPLES=500` runs a deeper search by hand.
"""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

#: Examples per operation (9 operations): keeps the whole test well under a minute.
EXAMPLES = int(os.environ.get("LEADS_FUZZ_EXAMPLES", "30"))


#: The configuration side: config as code, versions, simulate and the CRUD endpoints.
CONFIG_PREFIXES = (
    "/api/routing/",
    "/api/territories/",
    "/api/reps/",
    "/api/accounts/",
    "/api/rules/",
    "/api/time-off/",
)


def operations_under(*prefixes: str):  # type: ignore[no-untyped-def]
    from routing_portal.wsgi import application

    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    return [op for op in operations if op.path.startswith(prefixes)]


def lead_operations():  # type: ignore[no-untyped-def]
    return operations_under("/api/leads/")


@pytest.fixture
def keep_test_connection():  # type: ignore[no-untyped-def]
    """Calls go through the raw WSGI app, which would close the test transaction's connection
    at each request boundary (as Django's own test client prevents)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_lead_endpoints_never_500(manager_user, west_org, keep_test_connection):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Token {Token.objects.create(user=manager_user).key}"}
    lead = LeadFactory(owner=west_org["reps"][0], status="assigned", country="US", region="US-CA")
    operations = lead_operations()
    assert len(operations) >= 9, [op.label for op in operations]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):  # type: ignore[no-untyped-def]
            if case.path_parameters and "id" in case.path_parameters:
                # Aim at a real lead so actions reach their services, not just the 404.
                case.path_parameters["id"] = lead.pk
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()


def test_configuration_endpoints_never_500(manager_user, west_org, keep_test_connection):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Token {Token.objects.create(user=manager_user).key}"}
    real = {
        "code": "US-WEST",
        "username": "alice",
        "id": west_org["enterprise"].pk,
        "number": 1,
    }
    operations = operations_under(*CONFIG_PREFIXES)
    assert any(
        op.path == "/api/routing/config/" and op.method.upper() == "PUT" for op in operations
    )
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=max(5, EXAMPLES // 2),
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):  # type: ignore[no-untyped-def]
            for name in list(case.path_parameters or {}):
                if name in real:
                    case.path_parameters[name] = real[name]
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()


# Hostile JSON the schema cannot describe: generated bodies, never a 500 ---------------------------

#: Strings, some holding an unpaired surrogate (json.dumps escapes it as "\\udXXX"). Built by
#: concatenation: Hypothesis' own character strategies never yield a lone surrogate.
_LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
_hostile_text = st.one_of(
    st.text(max_size=6),
    st.builds(
        lambda head, lone, tail: head + lone + tail,
        st.text(max_size=3),
        st.sampled_from(_LONE_SURROGATES),
        st.text(max_size=3),
    ),
)
_huge_number = st.sampled_from(["1e400", "-1e400", "9" * 5000, "1e-400", "123456789" * 4, "7"])
_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), _hostile_text)
_json_value = st.recursive(
    _json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(_hostile_text, inner, max_size=3)
    ),
    max_leaves=12,
)


def _with_deep_nesting(value: object, depth: int) -> object:
    for _ in range(depth):
        value = {"k": value}
    return value


@st.composite
def hostile_intake_bodies(draw):  # type: ignore[no-untyped-def]
    """A raw JSON intake body, valid but for what the schema cannot express: unpaired
    surrogates, deep nesting, numbers that overflow."""
    body: dict[str, object] = {"email": "a@b.com"}
    for field in draw(st.sets(st.sampled_from(["external_id", "company", "city"]))):
        body[field] = draw(st.one_of(_hostile_text, st.integers(), st.none()))
    body["extra"] = _with_deep_nesting(
        draw(st.dictionaries(_hostile_text, _json_value, max_size=3)),
        draw(st.integers(min_value=0, max_value=15)),
    )
    text = json.dumps(body)
    # Splice raw overflowing numbers in where JSON encoders would never write them.
    for field in draw(st.sets(st.sampled_from(["lead_score", "company_size", "annual_revenue"]))):
        text = text[:-1] + f', "{field}": {draw(_huge_number)}}}'
    return text


def test_intake_never_500s_on_hostile_json(manager_client):  # type: ignore[no-untyped-def]
    from unittest import mock

    from apps.leads.models import Lead
    from apps.routing.tasks import route_lead

    @given(body=hostile_intake_bodies())
    @settings(
        max_examples=EXAMPLES * 3,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(body):  # type: ignore[no-untyped-def]
        before = Lead.objects.count()
        with mock.patch.object(route_lead, "apply_async"):
            response = manager_client.generic(
                "POST", "/api/leads/", body, content_type="application/json"
            )
        assert response.status_code in (200, 201, 400), (response.status_code, body[:300])
        assert response["Content-Type"] == "application/json"
        if response.status_code == 400:
            assert Lead.objects.count() == before  # nothing half-saved

    check()
