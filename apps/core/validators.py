"""Validation and normalisation of codes against maintained data.

Countries and subdivisions come from pycountry (ISO 3166-1 / 3166-2), time zones from the
IANA database shipped with Python (zoneinfo + tzdata), languages from ISO 639-1 (pycountry).
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterable

import pycountry
from django.core.exceptions import ValidationError


@functools.cache
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                index[value.casefold()] = country.alpha_2
        index[country.alpha_2.casefold()] = country.alpha_2
        index[country.alpha_3.casefold()] = country.alpha_2
    # Names people type that ISO spells differently.
    aliases = {
        "usa": "US",
        "u.s.": "US",
        "u.s.a.": "US",
        "united states of america": "US",
        "america": "US",
        "uk": "GB",
        "u.k.": "GB",
        "england": "GB",
        "great britain": "GB",
        "scotland": "GB",
        "wales": "GB",
        "northern ireland": "GB",
        "russia": "RU",
        "south korea": "KR",
        "korea": "KR",
        "north korea": "KP",
        "vietnam": "VN",
        "iran": "IR",
        "syria": "SY",
        "taiwan": "TW",
        "czech republic": "CZ",
        "bolivia": "BO",
        "venezuela": "VE",
        "tanzania": "TZ",
        "laos": "LA",
        "moldova": "MD",
        "macedonia": "MK",
        "ivory coast": "CI",
        "uae": "AE",
        "holland": "NL",
        "the netherlands": "NL",
        "hong kong": "HK",
        "macau": "MO",
        "palestine": "PS",
        "brunei": "BN",
        "cape verde": "CV",
        "swaziland": "SZ",
        "turkey": "TR",
        "burma": "MM",
        "vatican": "VA",
    }
    index.update(aliases)
    return index


@functools.cache
def _subdivision_codes() -> frozenset[str]:
    return frozenset(sub.code.upper() for sub in pycountry.subdivisions)


@functools.cache
def _language_codes() -> frozenset[str]:
    return frozenset(
        lang.alpha_2.lower() for lang in pycountry.languages if getattr(lang, "alpha_2", None)
    )


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def normalize_country(value: str) -> str:
    """Return the ISO 3166-1 alpha-2 code for a code or English name, or raise."""
    cleaned = " ".join(str(value).split()).casefold()
    code = _country_index().get(cleaned)
    if code is None:
        raise ValidationError(f"Unknown country '{value}'.", code="unknown_country")
    return code


def normalize_region(value: str, country: str | None = None) -> str:
    """Return an ISO 3166-2 code (`US-CA`); a bare `CA` is resolved against `country`."""
    cleaned = str(value).strip().upper()
    codes = _subdivision_codes()
    if cleaned in codes:
        if country and not cleaned.startswith(f"{country}-"):
            raise ValidationError(
                f"Region '{value}' is not in country {country}.", code="region_mismatch"
            )
        return cleaned
    if country and f"{country}-{cleaned}" in codes:
        return f"{country}-{cleaned}"
    if country:
        # Accept a subdivision's English name within the given country ("California").
        for sub in pycountry.subdivisions.get(country_code=country) or ():
            if sub.name.casefold() == str(value).strip().casefold():
                return str(sub.code).upper()
    raise ValidationError(f"Unknown region '{value}'.", code="unknown_region")


def validate_country_code(value: str) -> None:
    if _country_index().get(str(value).casefold()) != value:
        raise ValidationError(
            f"'{value}' is not an ISO 3166-1 alpha-2 code.", code="invalid_country"
        )


def validate_region_code(value: str) -> None:
    if str(value).upper() not in _subdivision_codes() or value != str(value).upper():
        raise ValidationError(f"'{value}' is not an ISO 3166-2 code.", code="invalid_region")


def validate_time_zone(value: str) -> None:
    if value not in _time_zones():
        raise ValidationError(f"'{value}' is not an IANA time zone.", code="invalid_time_zone")


def validate_language_code(value: str) -> None:
    if str(value).lower() not in _language_codes():
        raise ValidationError(f"'{value}' is not an ISO 639-1 code.", code="invalid_language")


def _validate_each(values: Iterable[str], validator: object, label: str) -> None:
    if not isinstance(values, list | tuple):
        raise ValidationError(f"{label} must be a list.", code="not_a_list")
    errors = []
    for value in values:
        if not isinstance(value, str):
            errors.append(ValidationError(f"{label} entries must be strings.", code="not_string"))
            continue
        try:
            validator(value)  # type: ignore[operator]
        except ValidationError as exc:
            errors.extend(exc.error_list)
    if errors:
        raise ValidationError(errors)


def validate_country_list(values: list[str]) -> None:
    _validate_each(values, validate_country_code, "Countries")


def validate_region_list(values: list[str]) -> None:
    _validate_each(values, validate_region_code, "Regions")


def validate_language_list(values: list[str]) -> None:
    _validate_each(values, validate_language_code, "Languages")


def validate_string_list(values: list[str]) -> None:
    _validate_each(values, lambda v: None, "Entries")


def time_zone_choices() -> list[tuple[str, str]]:
    """Choices for forms (not for model fields: tzdata updates must not change migrations)."""
    return [(tz, tz) for tz in sorted(_time_zones())]
