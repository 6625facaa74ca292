"""Rule conditions: validated and compiled once into closures over normalised lead values.

Semantics (API.md "Rules", plus what it leaves open):

* Strings compare case-insensitively (both sides are lower-cased, surrounding spaces stripped).
* A field is *missing* when absent, ``None``, an empty string or an empty list. On a missing
  value every positive op (eq, in, gt..lte, contains, starts_with, ends_with, within) is false and
  the negative ops ``ne`` and ``not_in`` are true: a lead with no industry is certainly not in
  healthcare. ``exists`` tests presence explicitly.
* Numeric ops compare numbers as numbers (int, Decimal, float); a numeric string (typically in
  ``extra``) compares numerically too. ``created_at`` accepts an ISO 8601 datetime for gt..lte.
* A list value (in ``extra``) matches when any element does; ``contains`` on a list means
  "has this element".
* Groups: ``{"any": [...]}`` holds when one member holds; ``{"all": [...]}`` (an extension)
  when all do; they nest.

This module validates and compiles; the predicates themselves live in checks.py, and the lead
values they read (normalised, or raw and formatted for traces) in values.py.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .checks import COMPARE, Check, Vals, compare_check, eq_check, in_check, text_check
from .grammar import DATETIME_FIELDS, op_accepted
from .types import CONDITION_OPS, NUMERIC_FIELDS
from .values import ANCESTORS_KEY, format_value, is_lead_field, is_missing, is_number, to_num

__all__ = ["Condition", "compile_conditions"]

_EMPTY: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, eq=False)
class Condition:
    """A compiled condition: ``check`` runs per lead, ``failure`` explains a false result."""

    check: Check
    text: str
    #: the fields the condition reads; ``field`` is the first (the only one for a leaf)
    fields: tuple[str, ...]
    field: str
    group: bool
    #: "company_size gte 1000 failed: lead has "
    failed_prefix: str = ""
    #: key of the lead-value description in a per-decision cache: the field, or the fields of a group
    shown_key: object = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "failed_prefix", f"{self.text} failed: lead has ")
        object.__setattr__(self, "shown_key", self.fields if self.group else self.field)

    def failure(self, raw: Mapping[str, object]) -> str:
        """E.g. "company_size gte 1000 failed: lead has 250". ``raw`` comes from :func:`raw_lead`."""
        return self.failed_prefix + self.shown(raw)

    def shown(self, raw: Mapping[str, object]) -> str:
        """What the lead has: "250", "no industry", or for a group "country 'DE', no region"."""
        if self.group:
            parts = []
            for name in self.fields:
                v = raw.get(name)
                parts.append(f"no {name}" if is_missing(v) else f"{name} {format_value(v)}")
            return ", ".join(parts)
        v = raw.get(self.field)
        return f"no {self.field}" if is_missing(v) else format_value(v)


def _scalar_ok(v: object) -> bool:
    return isinstance(v, str | bool | int | float | Decimal)


def _norm_const(v: object) -> object:
    return v.strip().lower() if isinstance(v, str) else v


class _Compiler:
    def __init__(self, territory_codes: frozenset[str], errors: dict[str, list[str]]) -> None:
        self.territory_codes = territory_codes
        self.errors = errors

    def err(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def compile(self, raw: object, path: str) -> Condition | None:
        if not isinstance(raw, Mapping):
            self.err(path, "a condition must be an object with field, op and value, or any")
            return None
        for group in ("any", "all"):
            if group in raw:
                return self.compile_group(raw, group, path)
        return self.compile_leaf(raw, path)

    def compile_group(self, raw: Mapping[str, Any], group: str, path: str) -> Condition | None:
        extra = set(raw) - {group}
        if extra:
            self.err(path, f"unknown keys beside '{group}': {', '.join(sorted(map(str, extra)))}")
        members = raw[group]
        if not isinstance(members, list | tuple) or not members:
            self.err(f"{path}.{group}", f"'{group}' needs a non-empty list of conditions")
            return None
        compiled = [self.compile(m, f"{path}.{group}.{k}") for k, m in enumerate(members)]
        subs = [c for c in compiled if c is not None]
        if len(subs) != len(compiled):
            return None
        checks = tuple(c.check for c in subs)
        check: Check
        if group == "any":
            if len(checks) == 2:
                k1, k2 = checks
                check = lambda vals: k1(vals) or k2(vals)  # noqa: E731
            else:

                def check_any(vals: Vals) -> bool:
                    for k in checks:  # noqa: SIM110 - a plain loop beats any(<genexpr>) here
                        if k(vals):
                            return True
                    return False

                check = check_any
        else:
            if len(checks) == 2:
                k1, k2 = checks
                check = lambda vals: k1(vals) and k2(vals)  # noqa: E731
            else:

                def check_all(vals: Vals) -> bool:
                    for k in checks:  # noqa: SIM110 - a plain loop beats all(<genexpr>) here
                        if not k(vals):
                            return False
                    return True

                check = check_all
        fields: list[str] = []
        for c in subs:
            fields.extend(x for x in c.fields if x not in fields)
        text = f"{group}(" + ", ".join(c.text for c in subs) + ")"
        return Condition(check=check, text=text, fields=tuple(fields), field=fields[0], group=True)

    def compile_leaf(self, raw: Mapping[str, Any], path: str) -> Condition | None:
        ok = True
        unknown = set(raw) - {"field", "op", "value"}
        if unknown:
            self.err(path, f"unknown keys: {', '.join(sorted(map(str, unknown)))}")
            ok = False
        field = raw.get("field")
        op = raw.get("op")
        if not is_lead_field(field):
            self.err(f"{path}.field", f"unknown field {format_value(field)}")
            ok = False
        if op not in CONDITION_OPS:
            self.err(f"{path}.op", f"unknown op {format_value(op)}")
            ok = False
        if not ok:
            return None
        assert isinstance(field, str) and isinstance(op, str)
        if "value" not in raw and op != "exists":
            self.err(f"{path}.value", f"'{op}' needs a value")
            return None
        value = raw.get("value", True)
        check = self.build(field, op, value, f"{path}.value", f"{path}.op")
        if check is None:
            return None
        return Condition(
            check=check,
            text=f"{field} {op} {format_value(value)}",
            fields=(field,),
            field=field,
            group=False,
        )

    def check_territories(self, field: str, values: Sequence[object], vpath: str) -> bool:
        if field != "territory":
            return True
        bad = [v for v in values if not (isinstance(v, str) and v in self.territory_codes)]
        for v in bad:
            self.err(vpath, f"unknown territory {format_value(v)}")
        return not bad

    def build(self, f: str, op: str, value: object, vpath: str, opath: str) -> Check | None:
        numeric_field = f in NUMERIC_FIELDS
        if not op_accepted(f, op):  # the grammar's table (grammar.KIND_OPS) decides
            if op == "within":
                self.err(opath, "'within' applies to the field 'territory' only")
            else:
                self.err(opath, f"'{op}' needs a numeric field; '{f}' is text")
            return None
        if op in ("eq", "ne"):
            if not _scalar_ok(value):
                self.err(
                    vpath, f"'{op}' needs a string, number or boolean, got {format_value(value)}"
                )
                return None
            if numeric_field and (
                isinstance(value, bool) or (isinstance(value, str) and to_num(value) is None)
            ):
                self.err(vpath, f"'{f}' is a number; {format_value(value)} is not")
                return None
            if not self.check_territories(f, [value], vpath):
                return None
            eq = eq_check(f, _norm_const(value))
            if op == "eq":
                return eq
            return lambda vals: not eq(vals)
        if op in ("in", "not_in"):
            if not isinstance(value, list | tuple) or not value or not all(map(_scalar_ok, value)):
                self.err(vpath, f"'{op}' needs a non-empty list of strings or numbers")
                return None
            if not self.check_territories(f, value, vpath):
                return None
            member = in_check(f, [_norm_const(v) for v in value])
            if op == "in":
                return member
            return lambda vals: not member(vals)
        if op in COMPARE:
            cv: object
            if f in DATETIME_FIELDS:
                parsed = _parse_datetime(value)
                if parsed is None:
                    self.err(vpath, f"'{op}' on {f} needs an ISO 8601 datetime")
                    return None
                cv = parsed
            elif is_number(value):
                cv = value
            else:
                self.err(vpath, f"'{op}' needs a number, got {format_value(value)}")
                return None
            return compare_check(f, cv, COMPARE[op])
        if op in ("contains", "starts_with", "ends_with"):
            if not isinstance(value, str) or not value.strip():
                self.err(vpath, f"'{op}' needs a non-empty string")
                return None
            return text_check(f, value.strip().lower(), op)
        if op == "exists":
            if not isinstance(value, bool):
                self.err(vpath, "'exists' needs true or false")
                return None
            if value:
                return lambda vals: f in vals
            return lambda vals: f not in vals
        # within (on territory only: checked above)
        if not isinstance(value, str) or value not in self.territory_codes:
            self.err(vpath, f"unknown territory {format_value(value)}")
            return None
        code = value

        def within(vals: Vals) -> bool:
            return code in vals.get(ANCESTORS_KEY, _EMPTY)  # type: ignore[operator]

        return within


def _parse_datetime(value: object) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=datetime.UTC)


def compile_conditions(
    raw: object,
    path: str,
    *,
    territory_codes: frozenset[str],
    errors: dict[str, list[str]],
) -> tuple[Condition, ...]:
    """Compile a rule's condition list; problems go to ``errors`` keyed by path."""
    if not isinstance(raw, list | tuple):
        errors.setdefault(path, []).append("conditions must be a list")
        return ()
    compiler = _Compiler(territory_codes, errors)
    out = []
    for j, item in enumerate(raw):
        c = compiler.compile(item, f"{path}.{j}")
        if c is not None:
            out.append(c)
    return tuple(out)
