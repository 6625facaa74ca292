"""What caching a ModelSerializer's fields per class buys on intake, three ways, same run.

  * `drf`: DRF as shipped (the model is introspected and every field built per instance);
  * `get_fields cache`: DRF's documented `get_fields` hook, fields built once per class and
    deep-copied for each instance (the supported alternative, measured here);
  * `shared bound fields`: the project's SharedFieldsMixin (apps/core/api/serializers.py), one
    bound field set per class shared by every instance.

Each figure is microseconds to validate one lead payload (`LeadIntakeSerializer(data=...)
.is_valid()`), median of --runs runs of --n validations. No database is touched.

Usage: .venv/bin/python bench/serializer_fields.py [--runs 5] [--n 2000]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "routing_portal.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django

django.setup()

from rest_framework import serializers  # noqa: E402
from rest_framework.utils.serializer_helpers import BindingDict  # noqa: E402

from apps.api.leads.serializers import LeadIntakeSerializer  # noqa: E402

PAYLOAD = {
    "email": "ada@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "company": "Analytical Engines",
    "country": "US",
    "region": "US-CA",
    "lead_source": "web",
    "company_size": 1200,
    "extra": {"campaign": "q4"},
}


@property  # type: ignore[misc]
def _per_instance_fields(self):  # type: ignore[no-untyped-def]
    """DRF's own `Serializer.fields`: bound once per instance from `get_fields()`."""
    built = self.__dict__.get("_own_fields")
    if built is None:
        built = self.__dict__["_own_fields"] = BindingDict(self)
        for name, field in self.get_fields().items():
            built[name] = field
    return built


class _GetFieldsCache:
    def get_fields(self):  # type: ignore[no-untyped-def]
        cls = type(self)
        prototypes = cls.__dict__.get("_field_prototypes")
        if prototypes is None:
            prototypes = serializers.ModelSerializer.get_fields(self)
            cls._field_prototypes = prototypes
        return copy.deepcopy(prototypes)

    fields = _per_instance_fields


def _plain(serializer_cls: type) -> type:
    """The same serializer without the cache: DRF's own get_fields every time."""

    class Plain(serializer_cls):  # type: ignore[valid-type,misc]
        fields = _per_instance_fields

        def get_fields(self):  # type: ignore[no-untyped-def]
            return serializers.ModelSerializer.get_fields(self)

        class Meta(serializer_cls.Meta):  # type: ignore[name-defined,misc]
            pass

    return Plain


def _copied(serializer_cls: type) -> type:
    class Copied(_GetFieldsCache, serializer_cls):  # type: ignore[valid-type,misc]
        class Meta(serializer_cls.Meta):  # type: ignore[name-defined,misc]
            pass

    return Copied


def per_validation_us(cls: type, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        serializer = cls(data=PAYLOAD)
        if not serializer.is_valid():
            raise SystemExit(f"{cls.__name__}: {serializer.errors}")
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    variants = {
        "drf": _plain(LeadIntakeSerializer),
        "get_fields cache": _copied(LeadIntakeSerializer),
        "shared bound fields": LeadIntakeSerializer,
    }
    results: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.runs):
        for name, cls in variants.items():  # interleaved: the machine's noise hits all three
            results[name].append(per_validation_us(cls, args.n))
    base = statistics.median(results["drf"])
    print(f"LeadIntakeSerializer(data=lead).is_valid(), median of {args.runs} x {args.n}:")
    for name, values in results.items():
        value = statistics.median(values)
        print(f"  {name:22} {value:8.1f} us   ({value / base:.2f} x drf)")


if __name__ == "__main__":
    main()
