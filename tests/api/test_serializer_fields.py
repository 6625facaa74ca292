"""The serializers that share one bound field set per class (SharedFieldsMixin) stay safe.

Sharing is safe only while no field depends on the request, and it mirrors how DRF builds
`Serializer.fields`; these tests fail loudly when either stops being true (a new field that
reads the context, or a DRF upgrade that builds fields differently).
"""

from __future__ import annotations

import inspect

import pytest
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

import apps.api.leads.serializers  # noqa: F401  (registers the serializers under test)
from apps.core.api.serializers import SharedFieldsMixin


def _sharing() -> list[type]:
    found, todo = [], list(SharedFieldsMixin.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.__name__)


SHARING = _sharing()


def _drf_fields(cls: type) -> BindingDict:
    """The fields as DRF's own `Serializer.fields` binds them for a fresh instance."""
    instance = cls()
    return serializers.Serializer.fields.func(instance)  # type: ignore[attr-defined]


def _shape(field: serializers.Field) -> tuple:
    return (
        type(field),
        field.source,
        field.required,
        field.read_only,
        field.write_only,
        field.allow_null,
        sorted(field.error_messages),
        [type(v) for v in field.validators],
    )


def test_the_intake_and_lead_serializers_share_their_fields():
    names = {cls.__name__ for cls in SHARING}
    assert {"LeadIntakeSerializer", "LeadSerializer"} <= names


@pytest.mark.parametrize("cls", SHARING, ids=lambda cls: cls.__name__)
def test_shared_fields_are_the_fields_drf_would_build(cls):
    shared, drf = cls().fields, _drf_fields(cls)
    assert list(shared) == list(drf)
    for name in drf:
        assert _shape(shared[name]) == _shape(drf[name]), name
    assert cls().fields is shared  # built once per class


@pytest.mark.parametrize("cls", SHARING, ids=lambda cls: cls.__name__)
def test_no_shared_field_depends_on_the_request(cls):
    for name, field in cls().fields.items():
        assert not isinstance(field, serializers.HiddenField), name
        default = getattr(field, "default", serializers.empty)
        assert not getattr(default, "requires_context", False), name
        if isinstance(field, serializers.SerializerMethodField):
            method = getattr(cls, field.method_name)
            assert "context" not in inspect.getsource(method), (
                f"{cls.__name__}.{field.method_name} reads the context: a shared method field "
                "would see the prototype's empty context, not this request's"
            )


def test_instances_validate_independently():
    from apps.api.leads.serializers import LeadIntakeSerializer

    good = LeadIntakeSerializer(data={"email": "a@example.com", "country": "US"})
    bad = LeadIntakeSerializer(data={"email": "not an email", "country": "US"})
    assert bad.is_valid() is False and "email" in bad.errors
    assert good.is_valid(), good.errors
    assert good.validated_data["email"] == "a@example.com"
