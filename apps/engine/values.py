"""Lead values as conditions see them (normalised) and as traces quote them (raw, formatted)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from .types import LEAD_FIELDS

__all__ = [
    "ANCESTORS_KEY",
    "NUMBER_TYPES",
    "as_text",
    "format_value",
    "is_lead_field",
    "is_missing",
    "is_number",
    "normalise_lead",
    "raw_lead",
    "to_num",
]

#: key of the lead territory's ancestor set inside the normalised values (not a valid field name)
ANCESTORS_KEY = "\x00ancestors"

NUMBER_TYPES = (int, float, Decimal)


def is_lead_field(name: object) -> bool:
    """A known lead field, or ``extra.<key>``."""
    return isinstance(name, str) and (
        name in LEAD_FIELDS or (name.startswith("extra.") and len(name) > 6)
    )


def _norm(v: object) -> object:
    """Normalise one lead value for comparisons; ``None`` means missing."""
    t = type(v)
    if t is str:
        s = v.strip().lower()  # type: ignore[attr-defined]
        return s or None
    if v is None or t is bool or t is int or t is float or t is Decimal:
        return v
    if isinstance(v, str):
        return v.strip().lower() or None
    if isinstance(v, list | tuple | set | frozenset):
        items = tuple(n for n in map(_norm, v) if n is not None)
        return items or None
    if isinstance(v, (*NUMBER_TYPES, datetime.date)):
        return v
    return str(v).strip().lower() or None


def normalise_lead(
    fields: Mapping[str, object], territory: str | None, ancestors: frozenset[str]
) -> dict[str, object]:
    """Lead fields as conditions see them: missing values dropped, strings lower-cased,
    ``extra`` flattened to ``extra.<key>``, ``email_domain`` derived from ``email`` if absent."""
    vals: dict[str, object] = {}
    for key, value in fields.items():
        if key == "extra":
            if isinstance(value, Mapping):
                for ekey, evalue in value.items():
                    n = _norm(evalue)
                    if n is not None:
                        vals["extra." + str(ekey)] = n
            continue
        if key == "territory":
            continue
        n = _norm(value)
        if n is not None:
            vals[key] = n
    if "email_domain" not in vals:
        email = vals.get("email")
        if isinstance(email, str) and "@" in email:
            vals["email_domain"] = email.rsplit("@", 1)[1]
    if territory is not None:
        vals["territory"] = territory.lower()
        vals[ANCESTORS_KEY] = ancestors
    return vals


def raw_lead(
    fields: Mapping[str, object], territory: str | None, email_domain: object
) -> dict[str, object]:
    """The lead's values as given, with ``extra`` flattened to ``extra.<key>`` and the derived
    ``territory`` and ``email_domain``: what trace details quote."""
    raw = dict(fields)
    extra = fields.get("extra")
    if isinstance(extra, Mapping):
        for key, value in extra.items():
            raw["extra." + str(key)] = value
    raw["territory"] = territory
    if raw.get("email_domain") is None:
        raw["email_domain"] = email_domain
    return raw


def format_value(v: object) -> str:
    """Values in trace details: strings quoted, JSON-ish otherwise."""
    if isinstance(v, str):
        return f"'{v}'"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime.datetime):
        return v.isoformat()
    if isinstance(v, list | tuple | set | frozenset):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    return str(v)


def is_missing(v: object) -> bool:
    """Absent for a condition: ``None``, an empty string or an empty collection."""
    return v is None or v == "" or (isinstance(v, list | tuple | set | frozenset) and not v)


def to_num(s: str) -> Decimal | None:
    """A numeric string as a finite Decimal ("1e3" -> 1000), else None."""
    try:
        n = Decimal(s)
    except (InvalidOperation, ValueError):
        return None
    return n if n.is_finite() else None


def as_text(v: object) -> str:
    """A non-string value as a condition compares it to text: lower case, JSON booleans."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime.datetime):
        return v.isoformat()
    return str(v).lower()


def is_number(v: object) -> bool:
    """int, float or Decimal, but not bool."""
    return isinstance(v, NUMBER_TYPES) and not isinstance(v, bool)
