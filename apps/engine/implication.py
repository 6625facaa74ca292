"""Does one rule's condition list imply another's? A sound, deliberately incomplete answer.

``conditions_imply(b, a, tree)`` is True only when every lead that satisfies all of ``b``
certainly satisfies all of ``a`` (under the semantics of conditions.py). False means "not
proven", never "proven not": the analysis misses some implications rather than ever claim a
false one, because its answer tells a manager that a rule can never fire.

What it proves (``b => a``, field by field; strings compare case-insensitively):

* an empty ``a`` (a catch-all) is implied by anything;
* a list of conditions: each condition of ``a`` is implied by one condition of ``b``
  (``all`` groups in ``b`` are flattened into the list);
* an ``any`` group in ``a`` is implied when one of its members is; an ``any`` group in ``b``
  implies ``a`` when each of its members does; an ``all`` group in ``a`` when each member is;
* leaves on the same field: equal conditions; ``eq``/``in`` sets inside ``in`` sets (or outside
  ``ne``/``not_in`` sets); numeric and ``created_at`` ranges (``gte 5000`` implies ``gte 1000``);
  text prefixes, suffixes and substrings; ``exists``; and territory ``within``/``eq``/``in`` over
  the territory tree (``within US-WEST`` implies ``within AMER``).

Negative conclusions (``ne``, ``not_in``) and substring reasoning are only drawn for the known
lead fields, which hold one value; an ``extra.<key>`` may hold a list, where ``eq 'x'`` does not
exclude ``ne 'y'``. Constants of different kinds (a number against a string) never imply
anything. Facts across fields (``country`` and ``territory``) are not reasoned about.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .territories import TerritoryIndex
from .types import LEAD_FIELDS
from .values import is_number

__all__ = ["condition_implies", "conditions_imply", "flatten_conditions"]

_POSITIVE = frozenset(
    {"eq", "in", "gt", "gte", "lt", "lte", "contains", "starts_with", "ends_with", "within"}
)
_LOWER = frozenset({"gt", "gte"})
_UPPER = frozenset({"lt", "lte"})


@dataclass(frozen=True, slots=True)
class _Tree:
    """The territory facts implication needs: codes lower-cased, as conditions compare them."""

    #: lower-cased code -> the lower-cased codes of it and its ancestors
    ancestors: Mapping[str, frozenset[str]]
    #: lower-cased code -> the lower-cased codes of it and its descendants
    descendants: Mapping[str, frozenset[str]]


def _tree(index: TerritoryIndex | None) -> _Tree:
    if index is None:
        return _Tree(ancestors={}, descendants={})
    return _Tree(
        ancestors={c.lower(): frozenset(a.lower() for a in s) for c, s in index.ancestors.items()},
        descendants={
            c.lower(): frozenset(d.lower() for d in s) for c, s in index.descendants.items()
        },
    )


def _const(v: object) -> tuple[str, object] | None:
    """A constant as (kind, normalised value); None when it is not a plain scalar."""
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, str):
        return ("str", v.strip().lower())
    if is_number(v):
        return ("num", Decimal(str(v)))
    return None


def _consts(values: object) -> tuple[str, frozenset[object]] | None:
    """A list constant as (kind, values) when every item is of one kind, else None."""
    if not isinstance(values, list | tuple) or not values:
        return None
    items = [_const(v) for v in values]
    kinds = {i[0] for i in items if i is not None}
    if None in items or len(kinds) != 1:
        return None
    return kinds.pop(), frozenset(i[1] for i in items if i is not None)


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _bound(field: str, v: object) -> Decimal | None:
    """A comparison constant as an exact number: the value, or for ``created_at`` the datetime's
    seconds since the epoch (a naive one is UTC, as conditions.py reads it)."""
    if field != "created_at":
        return Decimal(str(v)) if is_number(v) else None
    if isinstance(v, datetime.datetime):
        dt = v
    elif isinstance(v, str):
        try:
            dt = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    delta = (dt if dt.tzinfo is not None else dt.replace(tzinfo=datetime.UTC)) - _EPOCH
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 1_000_000


def _range_implies(field: str, op_b: str, vb: object, op_a: str, va: object) -> bool:
    """``field op_b vb`` => ``field op_a va`` for gt/gte/lt/lte (lists: the same element)."""
    cb, ca = _bound(field, vb), _bound(field, va)
    if cb is None or ca is None:
        return False
    if op_a in _LOWER and op_b in _LOWER:
        # x > cb (or >= cb) and cb >= ca  =>  x > ca only when the first is strict or cb > ca
        return cb >= ca if op_a == "gte" else cb > ca or (cb == ca and op_b == "gt")
    if op_a in _UPPER and op_b in _UPPER:
        return cb <= ca if op_a == "lte" else cb < ca or (cb == ca and op_b == "lt")
    return False


def _value_satisfies(field: str, kind: str, value: object, op_a: str, va: object) -> bool:
    """Whether a lead whose ``field`` equals ``value`` (a normalised constant) meets ``a``."""
    if op_a in _LOWER or op_a in _UPPER:
        if kind != "num" or field == "created_at":
            return False
        ca = _bound(field, va)
        if not isinstance(ca, Decimal):
            return False
        assert isinstance(value, Decimal)
        return {
            "gt": value > ca,
            "gte": value >= ca,
            "lt": value < ca,
            "lte": value <= ca,
        }[op_a]
    if op_a in ("starts_with", "ends_with", "contains"):
        if kind != "str" or not isinstance(va, str):
            return False
        s, text = va.strip().lower(), str(value)
        if op_a == "starts_with":
            return text.startswith(s)
        if op_a == "ends_with":
            return text.endswith(s)
        # on a list value "contains" means "has this element": only equality is safe there
        return s == text or (field in LEAD_FIELDS and s in text)
    return False


def _leaf_implies(b: Mapping[str, Any], a: Mapping[str, Any], tree: _Tree) -> bool:
    field = b.get("field")
    if not isinstance(field, str) or a.get("field") != field:
        return False
    op_b, op_a = b.get("op"), a.get("op")
    vb, va = b.get("value", True), a.get("value", True)
    single = field in LEAD_FIELDS  # one value per lead; extra.<key> may hold a list

    if op_a == "exists":
        if va is True:
            return op_b in _POSITIVE or (op_b == "exists" and vb is True)
        return op_b == "exists" and vb is False

    # b pins the value to a finite set: every member must satisfy a
    pinned: tuple[str, frozenset[object]] | None = None
    if op_b == "eq":
        c = _const(vb)
        pinned = (c[0], frozenset({c[1]})) if c is not None else None
    elif op_b == "in":
        pinned = _consts(vb)

    if op_a in ("eq", "in"):
        wanted = _const(va) if op_a == "eq" else None
        allowed = (wanted[0], frozenset({wanted[1]})) if wanted is not None else _consts(va)
        if allowed is None:
            return False
        if pinned is not None:
            return pinned[0] == allowed[0] and pinned[1] <= allowed[1]
        if op_b == "within" and field == "territory" and allowed[0] == "str":
            code = vb.lower() if isinstance(vb, str) else ""
            below = tree.descendants.get(code)
            return below is not None and below <= allowed[1]
        return False

    if op_a in ("ne", "not_in"):
        excluded = _const(va) if op_a == "ne" else None
        banned = (excluded[0], frozenset({excluded[1]})) if excluded is not None else _consts(va)
        if banned is None:
            return False
        if op_b == "exists" and vb is False:
            return True  # a missing value is outside every set
        # the same negative condition, or a wider one
        if op_b in ("ne", "not_in"):
            c = _const(vb) if op_b == "ne" else None
            b_banned = (c[0], frozenset({c[1]})) if c is not None else _consts(vb)
            return b_banned is not None and b_banned[0] == banned[0] and banned[1] <= b_banned[1]
        if not single:
            return False
        if pinned is not None:
            return pinned[0] == banned[0] and not (pinned[1] & banned[1])
        if op_b == "within" and field == "territory" and banned[0] == "str":
            code = vb.lower() if isinstance(vb, str) else ""
            below = tree.descendants.get(code)
            return below is not None and not (below & banned[1])
        return False

    if op_a == "within":
        if field != "territory" or not isinstance(va, str):
            return False
        top = va.lower()
        if op_b == "within" and isinstance(vb, str):
            return top in tree.ancestors.get(vb.lower(), frozenset())
        if pinned is not None and pinned[0] == "str":
            return all(top in tree.ancestors.get(str(code), frozenset()) for code in pinned[1])
        return False

    if op_a in _LOWER or op_a in _UPPER:
        if op_b in _LOWER or op_b in _UPPER:
            return _range_implies(field, op_b, vb, op_a, va)
        if pinned is not None:
            return all(_value_satisfies(field, pinned[0], v, op_a, va) for v in pinned[1])
        return False

    if op_a in ("contains", "starts_with", "ends_with"):
        if not isinstance(va, str) or not isinstance(vb, str):
            if pinned is not None:
                return all(_value_satisfies(field, pinned[0], v, op_a, va) for v in pinned[1])
            return False
        s, t = va.strip().lower(), vb.strip().lower()
        if op_b == op_a:
            if op_a == "starts_with":
                return t.startswith(s)
            if op_a == "ends_with":
                return t.endswith(s)
            return s == t or (single and s in t)
        if single and op_a == "contains" and op_b in ("starts_with", "ends_with"):
            return s in t
        if pinned is not None:
            return all(_value_satisfies(field, pinned[0], v, op_a, va) for v in pinned[1])
        return False
    return False


def _group(c: Mapping[str, Any]) -> tuple[str, Sequence[Any]] | None:
    for name in ("any", "all"):
        members = c.get(name)
        if isinstance(members, list | tuple):
            return name, members
    return None


def flatten_conditions(conditions: Sequence[Any]) -> list[Mapping[str, Any]]:
    """A condition list with its ``all`` groups spliced in (they are conjunctions too)."""
    out: list[Mapping[str, Any]] = []
    for c in conditions:
        if not isinstance(c, Mapping):
            continue
        group = _group(c)
        if group is not None and group[0] == "all":
            out.extend(flatten_conditions(group[1]))
        else:
            out.append(c)
    return out


def _implies(b: Mapping[str, Any], a: Mapping[str, Any], tree: _Tree) -> bool:
    group_a = _group(a)
    if group_a is not None:
        name, members = group_a
        if name == "all":
            return all(isinstance(m, Mapping) and _implies(b, m, tree) for m in members)
        if any(isinstance(m, Mapping) and _implies(b, m, tree) for m in members):
            return True
    group_b = _group(b)
    if group_b is not None:
        name, members = group_b
        if name == "any":
            return all(isinstance(m, Mapping) and _implies(m, a, tree) for m in members)
        return any(isinstance(m, Mapping) and _implies(m, a, tree) for m in members)
    if group_a is not None:
        return False
    return _leaf_implies(b, a, tree)


def condition_implies(
    b: Mapping[str, Any], a: Mapping[str, Any], territories: TerritoryIndex | None = None
) -> bool:
    """True when every lead satisfying condition ``b`` certainly satisfies condition ``a``."""
    return _implies(b, a, _tree(territories))


def conditions_imply(
    b: Sequence[Any], a: Sequence[Any], territories: TerritoryIndex | None = None
) -> bool:
    """True when every lead satisfying all of ``b`` certainly satisfies all of ``a``.

    An empty ``a`` (a catch-all rule) is implied by anything; each condition of ``a`` must
    otherwise follow from one condition of ``b`` (see the module docstring for what is proven).
    """
    tree = _tree(territories)
    premises = flatten_conditions(b)
    for a_cond in a:
        if not isinstance(a_cond, Mapping):
            return False
        if not any(_implies(b_cond, a_cond, tree) for b_cond in premises):
            return False
    return True
