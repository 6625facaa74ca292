"""Condition predicates: one closure per leaf condition over the normalised lead values.

Each builder takes a field and a normalised constant and returns ``check(vals) -> bool``; the
common case (a plain string value) takes a fast path before the general comparison.
"""

from __future__ import annotations

import datetime
import operator
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from .values import as_text, is_number, to_num

__all__ = [
    "COMPARE",
    "Check",
    "Vals",
    "compare_check",
    "eq_check",
    "in_check",
    "loose_eq",
    "text_check",
]

Vals = Mapping[str, object]
Check = Callable[[Vals], bool]

COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def loose_eq(v: object, cv: object) -> bool:
    """Equality between a normalised lead value and a normalised constant."""
    if isinstance(v, tuple):
        return any(loose_eq(x, cv) for x in v)
    if isinstance(cv, bool):
        return v is cv or (isinstance(v, str) and v == as_text(cv))
    if isinstance(cv, str):
        return (v if isinstance(v, str) else as_text(v)) == cv
    # cv is a number
    if isinstance(v, bool):
        return False
    if isinstance(v, str):
        n = to_num(v)
        return n is not None and n == cv
    return is_number(v) and v == cv


def eq_check(f: str, cv: object) -> Check:
    if isinstance(cv, str):

        def check_str(vals: Vals) -> bool:
            v = vals.get(f)
            if type(v) is str:
                return v == cv
            return v is not None and loose_eq(v, cv)

        return check_str

    def check(vals: Vals) -> bool:
        v = vals.get(f)
        return v is not None and loose_eq(v, cv)

    return check


def in_check(f: str, values: Sequence[object]) -> Check:
    strs = frozenset(v for v in values if isinstance(v, str))
    nums = frozenset(v for v in values if is_number(v))
    bools = frozenset(v for v in values if isinstance(v, bool))

    def member(v: object) -> bool:
        if isinstance(v, str):
            if v in strs:
                return True
            n = to_num(v) if nums else None
            return n is not None and n in nums
        if isinstance(v, bool):
            return v in bools or as_text(v) in strs
        if isinstance(v, tuple):
            return any(member(x) for x in v)
        if is_number(v):
            return v in nums or (bool(strs) and as_text(v) in strs)
        return as_text(v) in strs

    def check(vals: Vals) -> bool:
        v = vals.get(f)
        if type(v) is str:
            return v in strs or (bool(nums) and member(v))
        return v is not None and member(v)

    return check


def compare_check(f: str, cv: object, op: Callable[[Any, Any], bool]) -> Check:
    if isinstance(cv, datetime.datetime):

        def check_dt(vals: Vals) -> bool:
            v = vals.get(f)
            if not isinstance(v, datetime.datetime):
                return False
            if v.tzinfo is None:
                v = v.replace(tzinfo=datetime.UTC)
            return op(v, cv)

        return check_dt

    def compare(v: object) -> bool:
        if isinstance(v, str):
            n = to_num(v)
            return n is not None and op(n, cv)
        if isinstance(v, tuple):
            return any(compare(x) for x in v)
        return is_number(v) and op(v, cv)

    def check(vals: Vals) -> bool:
        v = vals.get(f)
        t = type(v)
        if t is int or t is Decimal or t is float:
            return op(v, cv)
        return v is not None and compare(v)

    return check


def text_check(f: str, cv: str, op: str) -> Check:
    test: Callable[[str], bool]
    if op == "contains":
        test = cv.__contains__
    elif op == "starts_with":

        def test(s: str) -> bool:
            return s.startswith(cv)

    else:

        def test(s: str) -> bool:
            return s.endswith(cv)

    def slow(v: object) -> bool:
        if isinstance(v, tuple):
            # a list "contains" an element; starts_with/ends_with test each element
            if op == "contains":
                return any(loose_eq(x, cv) for x in v)
            return any(test(as_text(x)) for x in v)
        return test(as_text(v))

    if op == "contains":

        def check_contains(vals: Vals) -> bool:
            v = vals.get(f)
            if type(v) is str:
                return cv in v
            return v is not None and slow(v)

        return check_contains
    if op == "starts_with":

        def check_starts(vals: Vals) -> bool:
            v = vals.get(f)
            if type(v) is str:
                return v.startswith(cv)
            return v is not None and slow(v)

        return check_starts

    def check_ends(vals: Vals) -> bool:
        v = vals.get(f)
        if type(v) is str:
            return v.endswith(cv)
        return v is not None and slow(v)

    return check_ends
