"""Which CSV column feeds which lead field in `import_leads`.

A column named like an intake field (API.md, `POST /api/leads/`) or one of its common aliases
("Email Address", "Company Name", "Zip") maps itself, compared case-insensitively and ignoring
spaces, underscores and punctuation. An explicit mapping wins; it can send a column to
`extra.<key>` (a custom attribute) or skip it (""). Columns with an empty header (the trailing
comma of many exports) are always skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from apps.core.csvfiles import is_placeholder
from apps.routing.intake_serializer import INTAKE_FIELDS

#: Fields a column may feed (everything intake takes, `extra` through `extra.<key>`).
FIELDS = tuple(name for name in INTAKE_FIELDS if name != "extra")
EXTRA_PREFIX = "extra."

_ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("externalid", "id", "leadid", "recordid", "importid"),
    "email": ("emailaddress", "mail", "emailid", "workemail", "businessemail"),
    "first_name": ("firstname", "first", "givenname", "forename"),
    "last_name": ("lastname", "last", "surname", "familyname"),
    "phone": ("phonenumber", "telephone", "tel", "mobile", "mobilephone", "phoneno"),
    "company": ("companyname", "organization", "organisation", "accountname", "employer"),
    "title": ("jobtitle", "position", "role"),
    "city": ("town",),
    "country": ("countryname", "countrycode", "nation"),
    "region": ("state", "province", "stateprovince", "regioncode", "statecode", "county"),
    "postal_code": ("postalcode", "zip", "zipcode", "postcode"),
    "industry": ("sector", "vertical"),
    "lead_source": ("leadsource", "source", "channel"),
    "product_interest": ("productinterest", "product", "interest"),
    "company_size": ("companysize", "employees", "numberofemployees", "headcount"),
    "annual_revenue": ("annualrevenue", "revenue"),
    "lead_score": ("leadscore", "score"),
    "language": ("lang", "preferredlanguage"),
    "created_at": ("createdat", "createddate", "created", "datecreated", "createdon"),
}


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.casefold())


_BY_KEY: dict[str, str] = {}
for _field in FIELDS:
    _BY_KEY[_key(_field)] = _field
    for _alias in _ALIASES.get(_field, ()):
        _BY_KEY.setdefault(_alias, _field)


class MappingError(ValueError):
    """A mapping names a field that does not exist, or a column the file does not have."""


def target_check(target: str) -> str:
    """`target` itself if a column may feed it (a field, `extra.<key>` or "" to skip)."""
    if target == "" or target in FIELDS:
        return target
    if target.startswith(EXTRA_PREFIX) and len(target) > len(EXTRA_PREFIX):
        return target
    raise MappingError(
        f"'{target}' is not a lead field; use one of {', '.join(FIELDS)}, "
        f"extra.<key>, or nothing to skip the column."
    )


def mapping_parse(pairs: Sequence[str]) -> dict[str, str]:
    """`["Column=field", ...]` (the command's `--mapping`) -> {column: field}."""
    columns: dict[str, str] = {}
    for pair in pairs:
        column, sep, target = pair.partition("=")
        if not sep or not column.strip():
            raise MappingError(f"--mapping '{pair}': write COLUMN=FIELD (FIELD empty skips it).")
        columns[column.strip()] = target_check(target.strip())
    return columns


def extra_key(column: str) -> str:
    """A custom attribute's key for an unmapped column ("Lead Quality" -> "lead_quality")."""
    return re.sub(r"[^0-9a-z]+", "_", column.casefold()).strip("_") or "column"


def columns_resolve(
    header: Sequence[str], *, explicit: Mapping[str, str], extra_unknown: bool = False
) -> list[str]:
    """The target of each header column, in order ("" = skipped).

    An explicit entry wins (a column it names must exist: a typo would silently import
    nothing); then the field names and aliases; then `extra.<key>` if `extra_unknown`.
    Two columns may not feed the same field.
    """
    by_folded = {name.casefold(): name for name in header if name}
    for column in explicit:
        if column.casefold() not in by_folded:
            raise MappingError(
                f"The mapping names column '{column}', which the file does not have "
                f"(its columns: {', '.join(name for name in header if name)})."
            )
    explicit_folded = {column.casefold(): target for column, target in explicit.items()}
    targets: list[str] = []
    for name in header:
        if not name:
            targets.append("")
        elif name.casefold() in explicit_folded:
            targets.append(target_check(explicit_folded[name.casefold()]))
        elif _key(name) in _BY_KEY:
            targets.append(_BY_KEY[_key(name)])
        elif extra_unknown:
            targets.append(EXTRA_PREFIX + extra_key(name))
        else:
            targets.append("")
    seen: dict[str, str] = {}
    for name, target in zip(header, targets, strict=True):
        if target and target in seen:
            raise MappingError(
                f"Columns '{seen[target]}' and '{name}' both map to {target}; "
                f"map one of them elsewhere (or to nothing)."
            )
        if target:
            seen[target] = name
    return targets


def row_payload(cells: Sequence[str], targets: Sequence[str]) -> dict[str, Any]:
    """An intake payload from one row: blank and placeholder cells are left out (as if the
    column were absent), custom attributes gathered under `extra`."""
    data: dict[str, Any] = {}
    extra: dict[str, str] = {}
    for value, target in zip(cells, targets, strict=False):
        if not target or is_placeholder(value):
            continue
        value = value.strip()
        if target.startswith(EXTRA_PREFIX):
            extra[target[len(EXTRA_PREFIX) :]] = value
        else:
            data[target] = value
    if extra:
        data["extra"] = extra
    return data


__all__ = [
    "EXTRA_PREFIX",
    "FIELDS",
    "MappingError",
    "columns_resolve",
    "extra_key",
    "mapping_parse",
    "row_payload",
    "target_check",
]
