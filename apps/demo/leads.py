"""Demo leads: plausible rows over the last 90 days, a few repeating an earlier email.

The rows come from the seed alone (`rng`, and Faker seeded with `seed`); only `created_at`
depends on `now`.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from datetime import datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from apps.demo import data
from apps.leads.models import Lead
from apps.leads.services import email_domain_of

HISTORY_DAYS = 90
DUPLICATE_SHARE = 0.03
#: Leads that arrived in the last minutes before the seed (FRESH_MINUTES, shorter than any demo
#: SLA): their owners have not answered yet, so every queue opens with new work in it.
FRESH_SHARE = 0.005
FRESH_MINIMUM = 3
FRESH_MINUTES = (5, 10)


def leads_create(rows: list[dict[str, Any]]) -> list[Lead]:
    """Validate and insert `rows` (from `lead_rows`) as new leads, in their order."""
    leads = []
    for row in rows:
        lead = Lead(**row)
        lead.email_domain = email_domain_of(lead.email)
        lead.clean_fields()
        leads.append(lead)
    # With --force on a seeded database the same seed repeats its intake ids.
    taken = set(
        Lead.objects.filter(
            external_id__in=[lead.external_id for lead in leads if lead.external_id]
        ).values_list("external_id", flat=True)
    )
    for lead in leads:
        if lead.external_id in taken:
            lead.external_id = None
    return Lead.objects.bulk_create(leads, batch_size=500)


def repeated_emails(rows: list[dict[str, Any]]) -> int:
    """How many rows repeat the email of an earlier one."""
    return len(rows) - len({row["email"] for row in rows})


def lead_rows(count: int, *, seed: int, rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    """Field values of `count` leads in `created_at` order; no database access."""
    # Faker comes with the dev tools (factory_boy), not the app's dependencies: imported here,
    # `seed_demo --if-empty` (which `runportal` calls) still loads on an install without it.
    from faker import Faker

    locales = sorted({row[3] for row in data.COUNTRIES})
    fake = Faker(locales)
    fake.seed_instance(seed)
    duplicates = round(count * DUPLICATE_SHARE) if count >= 20 else 0
    fresh = min(count - duplicates, max(FRESH_MINIMUM, round(count * FRESH_SHARE)))
    rows = [_lead_row(n, rng=rng, fake=fake, now=now) for n in range(count - duplicates)]
    for row in rows[:fresh]:
        row["created_at"] = (now - timedelta(minutes=rng.uniform(*FRESH_MINUTES))).replace(
            microsecond=0
        )
    latest = now - timedelta(minutes=5)
    for _ in range(duplicates):
        original = rng.choice(rows)
        later = original["created_at"] + timedelta(minutes=rng.expovariate(1 / 2880))
        copy = {**original, "created_at": min(later, latest), "external_id": None}
        copy["lead_source"] = _weighted(rng, data.LEAD_SOURCES)[0]
        rows.append(copy)
    rows.sort(key=lambda r: r["created_at"])
    return rows


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", _ascii(text))[:24] or "company"


def _weighted(rng: random.Random, rows: list[Any], weight_index: int = 1) -> Any:
    return rng.choices(rows, weights=[row[weight_index] for row in rows])[0]


def _created_at(zone_name: str, *, rng: random.Random, now: datetime) -> datetime:
    # A generator of its own: the other fields of a seed stay the same whatever today is.
    own = random.Random(rng.getrandbits(64))
    zone = ZoneInfo(zone_name)
    while True:
        # Volume grows a little over the quarter; weekends are quiet.
        days_back = HISTORY_DAYS * (1 - math.sqrt(own.random()))
        day = (now - timedelta(days=days_back)).astimezone(zone).date()
        if day.weekday() >= 5 and own.random() < 0.8:
            continue
        hour = (
            min(max(own.gauss(12.5, 2.6), 0), 23.99) if own.random() > 0.06 else own.uniform(0, 24)
        )
        local = datetime.combine(day, dtime(0), tzinfo=zone) + timedelta(hours=hour)
        created = local.astimezone(now.tzinfo).replace(microsecond=0)
        if created < now - timedelta(minutes=5):
            return created


def _lead_row(n: int, *, rng: random.Random, fake: Any, now: datetime) -> dict[str, Any]:
    country, _, zone_name, locale, language, tld, cities = _weighted(rng, data.COUNTRIES)
    local_fake = fake[locale]
    region = postal = ""
    if country == "US":
        region, _, us_cities, prefixes = _weighted(rng, data.US_REGIONS)
        city = rng.choice(us_cities)
        postal = f"{rng.choice(prefixes)}{rng.randint(0, 99):02d}"
        zone_name = data.US_REGION_TIME_ZONES.get(region, "America/New_York")
    else:
        city = rng.choice(cities)
        if country == "GB" and city in data.GB_POSTAL:
            postal = rng.choice(data.GB_POSTAL[city])
    if locale == "ja_JP":
        first, last = local_fake.first_romanized_name(), local_fake.last_romanized_name()
    else:
        first, last = local_fake.first_name(), local_fake.last_name()

    industry = _weighted(rng, data.INDUSTRIES)[0]
    source = _weighted(rng, data.LEAD_SOURCES)[0]
    size = int(min(max(round(math.exp(rng.gauss(4.3, 1.9))), 1), 250_000))
    roll = rng.random()
    if roll < 0.08:
        domain, company, _ = rng.choice(data.ACCOUNTS)
        size = max(size, rng.randint(800, 40_000))
        if rng.random() < 0.15:
            domain = f"{rng.choice(['eu', 'us', 'corp'])}.{domain}"
    else:
        if locale == "ja_JP":
            company = f"{local_fake.last_romanized_name()} {rng.choice(['Industries', 'Holdings', 'Systems', 'Trading', 'Electric'])}"
        else:
            company = local_fake.company()
        domain = rng.choice(data.FREE_MAIL) if roll < 0.2 else f"{_slug(company)}.{tld}"
    names = [re.sub(r"[^a-z0-9]+", "", _ascii(part)) for part in (first, last)]
    local_part = ".".join(part for part in names if part) or f"lead{n}"
    interest = _weighted(rng, data.PRODUCT_INTEREST)[0]
    score = rng.gauss(45, 18) + {
        "webinar": 8,
        "trade show": 5,
        "partner referral": 12,
        "content download": -6,
    }.get(source, 0)
    score += 12 if interest == "enterprise" else 0
    extra: dict[str, Any] = {}
    if source in data.PARTNER_SOURCES:
        extra["partner"] = rng.choice(
            ["Northwind Partners", "Contoso Consulting", "Fabrikam Solutions"]
        )
    if source in ("paid search", "content download") and rng.random() < 0.5:
        extra["utm_campaign"] = rng.choice(["q-pipeline", "routing-guide", "brand", "competitor"])
    if rng.random() < 0.05:
        extra["seats"] = rng.randint(5, 500)
    revenue = None
    if rng.random() > 0.12:
        revenue = Decimal(round(size * rng.uniform(60_000, 400_000), -3)).quantize(Decimal("1.00"))
    return {
        "external_id": f"web-{rng.getrandbits(48):012x}" if source == "web form" else None,
        "email": f"{local_part}@{domain}".lower(),
        "first_name": first,
        "last_name": last,
        "phone": local_fake.phone_number()[:50],
        "company": company[:255],
        "title": rng.choice(data.TITLES),
        "city": city,
        "country": country,
        "region": region,
        "postal_code": postal,
        "industry": industry,
        "lead_source": source,
        "product_interest": interest,
        "company_size": size,
        "annual_revenue": revenue,
        "lead_score": None if rng.random() < 0.05 else int(min(max(score, 0), 100)),
        "language": language if rng.random() < 0.85 else "en",
        "extra": extra,
        "created_at": _created_at(zone_name, rng=rng, now=now),
    }
