"""The intake fast path (apps.routing.intake_serializer.IntakeFastPath) validates exactly as
LeadIntakeSerializer does: on every payload it accepts, the same validated data; a payload the
serializer rejects is never accepted (the import then reports the serializer's errors)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.routing.import_columns import row_payload
from apps.routing.intake_serializer import IntakeFastPath, LeadIntakeSerializer

FAST = IntakeFastPath()

_TEXT = st.one_of(
    st.sampled_from(
        [
            "Dana",
            "  Dana  Smith ",
            "Müller",
            "N/A",
            "",
            "   ",
            "a\x00b",
            "\ud800",
            "x" * 151,
            "x" * 256,
            "12",
            "-3",
            "1.0",
            " 7 ",
            "٣",  # a non-ASCII digit
        ]
    ),
    st.text(max_size=30),
)
_VALUES: dict[str, Any] = {
    "email": st.one_of(
        st.sampled_from(
            ["Lead1@Example.com", " dana@acme.com ", "not-an-email", "a@b", "x@" + "y" * 260]
        ),
        st.emails().map(str),
        _TEXT,
    ),
    "external_id": _TEXT,
    "first_name": _TEXT,
    "last_name": _TEXT,
    "company": _TEXT,
    "title": _TEXT,
    "city": _TEXT,
    "phone": _TEXT,
    "industry": _TEXT,
    "lead_source": _TEXT,
    "product_interest": _TEXT,
    "postal_code": st.one_of(st.sampled_from(["94105", "sw1a 1aa", "x" * 21]), _TEXT),
    "country": st.one_of(
        st.sampled_from(["US", "USA", "United States", "Russia", "Vietnam", "Narnia", "us"]),
        _TEXT,
    ),
    "region": st.one_of(
        st.sampled_from(["CA", "TX", "US-CA", "California", "FR-75", "ZZ", "ca"]), _TEXT
    ),
    "language": st.one_of(st.sampled_from(["en", "EN", "pt-BR", "xx-yy-zz", "klingon"]), _TEXT),
    "company_size": st.one_of(
        st.sampled_from(["10", "250", "0", "010", "10000001", "-1", "1e3", "10.0", "Select"]),
        st.integers(min_value=-5, max_value=20_000_000).map(str),
        _TEXT,
    ),
    "lead_score": st.one_of(st.sampled_from(["0", "100", "101", "55"]), _TEXT),
    "annual_revenue": st.sampled_from(["1000.50", "-1", "abc"]),
    "created_at": st.sampled_from(["2026-01-02T03:04:05Z", "yesterday"]),
}
_PAYLOADS = st.fixed_dictionaries(
    {"email": _VALUES["email"]},
    optional={name: strategy for name, strategy in _VALUES.items() if name != "email"},
)


def _serializer_answer(payload: dict[str, Any]) -> dict[str, Any] | None:
    serializer = LeadIntakeSerializer(data=payload)
    return dict(serializer.validated_data) if serializer.is_valid() else None


@settings(max_examples=400, deadline=None)
@given(payload=_PAYLOADS)
def test_the_fast_path_accepts_only_what_the_serializer_accepts_and_the_same_way(
    payload: dict[str, Any],
) -> None:
    fast = FAST.validated(dict(payload))
    if fast is not None:
        expected = _serializer_answer(dict(payload))
        assert expected is not None, payload
        assert fast == expected
        assert [type(value) for value in fast.values()] == [
            type(value) for value in expected.values()
        ]


def test_the_fast_path_takes_the_rows_of_a_typical_export() -> None:
    """Without this the import would silently fall back to DRF for every row (slow, not wrong)."""
    targets = ["email", "first_name", "last_name", "company", "country", "region", "company_size"]
    rows = [
        ["Lead1@Example1.com", "Dana", "N/A", "Company 1", "United States", "CA", "250"],
        ["lee@globex.ru", "Lee", "Nguyen", "Globex", "Russia", "", "Select"],
        ["kim@acme.com", "Kim", " Smith  Jr ", "Acme", "USA", "TX", "5000"],
    ]
    for cells in rows:
        payload = row_payload(cells, targets)
        fast = FAST.validated(payload)
        assert fast is not None, payload
        assert fast == _serializer_answer(payload)


def test_what_the_fast_path_leaves_to_the_serializer() -> None:
    """A bad value, a missing email and fields it does not check (decimals, dates, custom
    attributes) all go to the serializer, whose messages the import reports."""
    good = {"email": "dana@acme.com", "country": "US"}
    assert FAST.validated(good) is not None
    for payload in (
        {**good, "email": "not-an-email"},
        {"country": "US"},
        {**good, "country": "Narnia"},
        {**good, "region": "FR-75"},
        {**good, "company_size": "-1"},
        {**good, "lead_score": "101"},
        {**good, "annual_revenue": "1000.50"},
        {**good, "created_at": "2026-01-02T03:04:05Z"},
        {**good, "extra": {"tier": "gold"}},
        {**good, "unknown": "x"},
    ):
        assert FAST.validated(payload) is None, payload
