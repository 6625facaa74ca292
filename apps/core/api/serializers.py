"""Serializer helpers shared by the API."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

__all__ = ["SharedFieldsMixin"]


class SharedFieldsMixin:
    """Build a serializer's bound fields once per class and share them between instances.

    DRF introspects the model and builds, deep-copies and binds every field on each
    instantiation; on intake (two serializers per request) that was about a third of the
    request's CPU. `bench/serializer_fields.py` prints what sharing buys: about 5x faster than
    DRF's build, and 3x faster than caching `get_fields` per class with a deep copy per
    instance (the supported hook, which costs too much on intake's budget).

    Built the way DRF's own `Serializer.fields` builds them (a `BindingDict` filled from
    `get_fields()`), on a prototype instance with no data and no context. Hence the rule,
    held by tests/api/test_serializer_fields.py for every serializer using this mixin: no field
    may depend on the request (no hidden or context-reading defaults, no method field that
    reads `self.context`); serializer-level code (`validate_*`, `to_representation`) runs on
    the real instance and may use its context. The same tests compare the shared fields with
    DRF's own build, so a DRF upgrade that changes it fails loudly there.
    """

    @property
    def fields(self) -> BindingDict:
        cls = type(self)
        shared = cls.__dict__.get("_shared_fields")
        if shared is None:
            prototype = cls.__new__(cls)
            serializers.BaseSerializer.__init__(prototype)
            shared = BindingDict(prototype)
            for name, field in prototype.get_fields().items():
                shared[name] = field
            cls._shared_fields = shared  # type: ignore[attr-defined]
        return shared
