"""`manage.py seed_demo`: a realistic demo organisation with 90 days of routed lead history.

Leads are routed by the real routing service in `created_at` order, as of their own creation
time, and their history (first contact, conversion, disqualification, a manager's hand-over)
goes through the real lead services at the simulated moment, so rotations, load counters,
assignments and traces are exactly what production would have recorded.
"""

from __future__ import annotations

import heapq
import math
import random
import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from apps.accounts.models import Account
from apps.configuration.apply import config_version_record
from apps.configuration.models import RoutingConfigVersion
from apps.core.roles import MANAGERS_GROUP
from apps.demo import data
from apps.demo.logins import DEMO_LOGINS
from apps.leads.models import Lead, LeadStatus
from apps.leads.services import email_domain_of, lead_contact, lead_convert, lead_disqualify
from apps.reps.models import Rep, TimeOff, WorkingHours
from apps.routing.models import Assignment
from apps.routing.outbox import notifications_suppressed
from apps.routing.selectors import config_cache_clear
from apps.routing.services import lead_reassign, lead_route
from apps.rules.models import RoutingRule
from apps.territories.models import Territory

User = get_user_model()

HISTORY_DAYS = 90
DUPLICATE_SHARE = 0.03
NEVER_CONTACTED_SHARE = 0.03
CLOSE_SHARE = 0.66


@dataclass
class RepSim:
    """What the simulation knows about a rep: how fast they answer and how well they close."""

    rep: Rep
    zone: ZoneInfo
    windows: list[tuple[list[int], dtime, dtime]]
    speed_minutes: float
    win_rate: float


@dataclass(order=True)
class Event:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    lead_id: int = field(compare=False)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", _ascii(text))[:24] or "company"


def _weighted(rng: random.Random, rows: list[Any], weight_index: int = 1) -> Any:
    return rng.choices(rows, weights=[row[weight_index] for row in rows])[0]


def _hm(text: str) -> dtime:
    hours, minutes = text.split(":")
    return dtime(int(hours), int(minutes))


def next_working_moment(at: datetime, sim: RepSim) -> datetime:
    """`at` if the rep works then, else the start of their next working window."""
    local = at.astimezone(sim.zone)
    best: datetime | None = None
    for offset in range(-1, 8):
        day: date = local.date() + timedelta(days=offset)
        for weekdays, start, end in sim.windows:
            if day.weekday() not in weekdays:
                continue
            begins = datetime.combine(day, start, tzinfo=sim.zone)
            ends = datetime.combine(
                day + timedelta(days=1 if end <= start else 0), end, tzinfo=sim.zone
            )
            if begins <= local < ends:
                return at
            if begins > local and (best is None or begins < best):
                best = begins
    return best.astimezone(at.tzinfo) if best is not None else at


class Command(BaseCommand):
    help = (
        "Create a demo organisation (territories, reps, accounts, rules, logins) and "
        "90 days of leads routed by the real routing engine."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--leads", type=int, default=3000, help="How many leads (default 3000)."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already holds reps or leads (for `make run`).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even though the database holds data: missing demo objects are created "
            "and new leads are added.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["leads"] < 0:
            raise CommandError("--leads must be 0 or more.")
        populated = Rep.objects.exists() or Lead.objects.exists()
        if populated and options["if_empty"]:
            self.stdout.write("seed_demo: the database already holds reps or leads; nothing to do.")
            return
        if populated and not options["force"]:
            raise CommandError(
                "The database already holds reps or leads. Use --if-empty to skip quietly, "
                "or --force to add the demo data anyway."
            )
        started = time.monotonic()
        self.rng = random.Random(options["seed"])
        self.now = timezone.now().replace(microsecond=0)
        # One transaction for the whole seed: a failure in any phase leaves nothing behind.
        # History is back-filled: the reps get no mail and no webhook fires for it (the
        # on-commit hooks run at the end of the block, still inside the suppression).
        with notifications_suppressed(), transaction.atomic():
            self._phase("organisation", self._seed_organisation)
            # Version 1 of the configuration: every demo assignment points at it.
            config_version_record(
                actor=User.objects.filter(username="admin").first(),
                source=RoutingConfigVersion.Source.SEED,
                summary="Demo organisation created by seed_demo",
            )
            leads = self._phase(
                "leads", lambda: self._seed_leads(options["leads"], options["seed"])
            )
            self._phase("routing and history", lambda: self._simulate(leads))
        config_cache_clear()
        self._summary(time.monotonic() - started)

    def _phase(self, name: str, func: Any) -> Any:
        began = time.monotonic()
        self.stdout.write(f"seed_demo: {name}...")
        result = func()
        self.stdout.write(f"seed_demo: {name} done in {time.monotonic() - began:.1f}s")
        return result

    # ---------------------------------------------------------------- organisation

    def _seed_organisation(self) -> None:
        territories: dict[str, Territory] = {}
        for code, name, parent, countries, regions, prefixes in data.TERRITORIES:
            territory = Territory.objects.filter(code=code).first()
            if territory is None:
                territory = Territory(
                    code=code,
                    name=name,
                    parent=territories.get(parent) if parent else None,
                    countries=countries,
                    regions=regions,
                    postal_prefixes=prefixes,
                )
                territory.full_clean()
                territory.save()
            territories[code] = territory

        self.reps: dict[str, RepSim] = {}
        for row in data.REPS:
            rep = self._rep_ensure(row, territories)
            windows = [
                (days, _hm(start), _hm(end))
                for days, start, end in row.get("hours", [([0, 1, 2, 3, 4], "09:00", "17:00")])
            ]
            self.reps[row["username"]] = RepSim(
                rep=rep,
                zone=ZoneInfo(rep.time_zone),
                windows=windows,
                speed_minutes=float(row["speed"]),
                win_rate=float(row["win"]),
            )

        for username, start_days, end_days, reason in data.TIME_OFF:
            rep = self.reps[username].rep
            starts = (self.now + timedelta(days=start_days)).replace(hour=0, minute=0, second=0)
            period = TimeOff(
                rep=rep,
                starts_at=starts,
                ends_at=starts + timedelta(days=end_days - start_days),
                reason=reason,
            )
            if TimeOff.objects.filter(rep=rep, reason=reason).exists():
                continue  # --force on a seeded database
            period.full_clean()
            period.save()

        for domain, name, owner in data.ACCOUNTS:
            if Account.objects.filter(domain=domain).exists():
                continue
            account = Account(
                domain=domain, name=name, owner=self.reps[owner].rep if owner else None
            )
            account.full_clean()
            account.save()

        # Positions count from 0 (first), as the rules API and the admin's ordering number them.
        last = RoutingRule.objects.order_by("-position").values_list("position", flat=True).first()
        position = 0 if last is None else last + 1
        for row in data.RULES:
            if RoutingRule.objects.filter(name=row["name"]).exists():
                continue
            rule = RoutingRule(
                name=row["name"],
                description=row.get("description", ""),
                position=position,
                active=row.get("active", True),
                conditions=row.get("conditions", []),
                target=row.get("target"),
                strategy=row["strategy"],
                sla_minutes=row.get("sla_minutes"),
                respect_working_hours=row.get("respect_working_hours", False),
                require_skill_from=row.get("require_skill_from", ""),
                require_language=row.get("require_language", False),
                when_no_one_eligible=row.get("when_no_one_eligible", "next_rule"),
            )
            rule.full_clean()
            rule.save()
            position += 1

        self._logins_ensure()

    def _rep_ensure(self, row: dict[str, Any], territories: dict[str, Territory]) -> Rep:
        username = row["username"]
        user, user_created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": row["first"],
                "last_name": row["last"],
                "email": f"{username}@northwind.example",
            },
        )
        if user_created:
            # Only demo logins get a usable password: hashing one costs ~0.3 s.
            user.set_unusable_password()
            user.save(update_fields=["password"])
        existing = Rep.objects.filter(user=user).first()
        if existing is not None:
            return existing
        rep = Rep(
            user=user,
            time_zone=row["tz"],
            weight=row.get("weight", 1),
            max_open_leads=row.get("max_open"),
            max_daily_leads=row.get("max_daily"),
            skills=row.get("skills", []),
            languages=row.get("languages", []),
        )
        rep.full_clean()
        rep.save()
        rep.territories.set([territories[code] for code in row["territories"]])
        for days, start, end in row.get("hours", [([0, 1, 2, 3, 4], "09:00", "17:00")]):
            hours = WorkingHours(rep=rep, weekdays=days, start=_hm(start), end=_hm(end))
            hours.full_clean()
            hours.save()
        return rep

    def _logins_ensure(self) -> None:
        managers = Group.objects.get(name=MANAGERS_GROUP)
        for role, username, password in DEMO_LOGINS:
            if role == "rep":
                if username not in self.reps:
                    raise CommandError(f"Demo rep login '{username}' is not one of the demo reps.")
                user = self.reps[username].rep.user
            else:
                user, _ = User.objects.get_or_create(
                    username=username,
                    defaults={
                        "email": f"{username}@northwind.example",
                        "first_name": "Morgan" if role == "manager" else "Site",
                        "last_name": "Reyes" if role == "manager" else "Admin",
                    },
                )
                user.is_staff = True
                user.is_superuser = role == "admin"
            user.set_password(password)
            user.save()
            if role == "manager":
                user.groups.add(managers)
        self.manager = User.objects.get(
            username=next(u for r, u, _ in DEMO_LOGINS if r == "manager")
        )

    # ---------------------------------------------------------------- leads

    def _seed_leads(self, count: int, seed: int) -> list[Lead]:
        rows = self.lead_rows(count, seed)
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
        created = Lead.objects.bulk_create(leads, batch_size=500)
        repeats = len(rows) - len({row["email"] for row in rows})
        self.stdout.write(f"seed_demo: {len(created)} leads ({repeats} repeat an earlier email)")
        return created

    def lead_rows(self, count: int, seed: int) -> list[dict[str, Any]]:
        """Field values of `count` leads in `created_at` order; no database access."""
        from faker import Faker

        locales = sorted({row[3] for row in data.COUNTRIES})
        self.fake = Faker(locales)
        self.fake.seed_instance(seed)
        duplicates = round(count * DUPLICATE_SHARE) if count >= 20 else 0
        rows = [self._lead_row(n) for n in range(count - duplicates)]
        latest = self.now - timedelta(minutes=5)
        for _ in range(duplicates):
            original = self.rng.choice(rows)
            later = original["created_at"] + timedelta(minutes=self.rng.expovariate(1 / 2880))
            copy = {**original, "created_at": min(later, latest), "external_id": None}
            copy["lead_source"] = _weighted(self.rng, data.LEAD_SOURCES)[0]
            rows.append(copy)
        rows.sort(key=lambda r: r["created_at"])
        return rows

    def _created_at(self, zone_name: str) -> datetime:
        # A generator of its own: the other fields of a seed stay the same whatever today is.
        rng = random.Random(self.rng.getrandbits(64))
        zone = ZoneInfo(zone_name)
        while True:
            # Volume grows a little over the quarter; weekends are quiet.
            days_back = HISTORY_DAYS * (1 - math.sqrt(rng.random()))
            day = (self.now - timedelta(days=days_back)).astimezone(zone).date()
            if day.weekday() >= 5 and rng.random() < 0.8:
                continue
            hour = (
                min(max(rng.gauss(12.5, 2.6), 0), 23.99)
                if rng.random() > 0.06
                else rng.uniform(0, 24)
            )
            local = datetime.combine(day, dtime(0), tzinfo=zone) + timedelta(hours=hour)
            created = local.astimezone(self.now.tzinfo).replace(microsecond=0)
            if created < self.now - timedelta(minutes=5):
                return created

    def _lead_row(self, n: int) -> dict[str, Any]:
        rng = self.rng
        country, _, zone_name, locale, language, tld, cities = _weighted(rng, data.COUNTRIES)
        fake = self.fake[locale]
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
            first, last = fake.first_romanized_name(), fake.last_romanized_name()
        else:
            first, last = fake.first_name(), fake.last_name()

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
                company = f"{fake.last_romanized_name()} {rng.choice(['Industries', 'Holdings', 'Systems', 'Trading', 'Electric'])}"
            else:
                company = fake.company()
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
            extra["utm_campaign"] = rng.choice(
                ["q-pipeline", "routing-guide", "brand", "competitor"]
            )
        if rng.random() < 0.05:
            extra["seats"] = rng.randint(5, 500)
        revenue = None
        if rng.random() > 0.12:
            revenue = Decimal(round(size * rng.uniform(60_000, 400_000), -3)).quantize(
                Decimal("1.00")
            )
        return {
            "external_id": f"web-{rng.getrandbits(48):012x}" if source == "web form" else None,
            "email": f"{local_part}@{domain}".lower(),
            "first_name": first,
            "last_name": last,
            "phone": fake.phone_number()[:50],
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
            "created_at": self._created_at(zone_name),
        }

    # ---------------------------------------------------------------- history

    def _simulate(self, leads: list[Lead]) -> None:
        """Route every lead as of its creation and play its history in time order."""
        self.events: list[Event] = []
        self.seq = 0
        self.by_rep_id = {sim.rep.pk: sim for sim in self.reps.values()}
        self.outcomes: Counter[str] = Counter()
        handover_at = self.now - timedelta(days=data.REP_INACTIVE_SINCE_DAYS)
        handed_over = False
        current_day = None
        total = len(leads)
        for i, lead in enumerate(leads, start=1):
            self._play_until(lead.created_at)
            if not handed_over and lead.created_at >= handover_at:
                self._play_until(handover_at)
                self._rep_leaves(data.REP_INACTIVE, at=handover_at)
                handed_over = True
            if lead.created_at.date() != current_day:
                # Performance-weighted routing caches conversion rates: refresh them daily.
                config_cache_clear()
                current_day = lead.created_at.date()
            result = lead_route(lead_id=lead.pk, now=lead.created_at)
            self.outcomes[result.outcome] += 1
            if result.outcome == "assigned" and result.lead.owner_id is not None:
                self._plan_contact(lead, result.lead.owner_id)
            if i % 500 == 0 or i == total:
                self.stdout.write(f"seed_demo:   routed {i}/{total}")
        if not handed_over:
            self._rep_leaves(data.REP_INACTIVE, at=handover_at)
        self._play_until(self.now)
        away = self.reps[data.REP_AWAY].rep
        away.away = True
        away.save()

    def _schedule(self, at: datetime, kind: str, lead_id: int) -> None:
        if at <= self.now:
            self.seq += 1
            heapq.heappush(self.events, Event(at=at, seq=self.seq, kind=kind, lead_id=lead_id))

    def _plan_contact(self, lead: Lead, rep_id: int) -> None:
        rng = self.rng
        sim = self.by_rep_id[rep_id]
        if rng.random() < NEVER_CONTACTED_SHARE:
            return
        minutes = sim.speed_minutes * math.exp(rng.gauss(0, 0.9))
        if rng.random() < 0.05:
            minutes *= rng.uniform(5, 30)  # the long tail: a lead forgotten for a while
        at = next_working_moment(lead.created_at + timedelta(minutes=minutes), sim)
        self._schedule(at.replace(microsecond=0), "contact", lead.pk)

    def _play_until(self, moment: datetime) -> None:
        while self.events and self.events[0].at <= moment:
            event = heapq.heappop(self.events)
            lead = Lead.objects.only("status", "owner_id").get(pk=event.lead_id)
            if lead.owner_id is None:
                continue
            sim = self.by_rep_id[lead.owner_id]
            actor = sim.rep.user
            if event.kind == "contact" and lead.status == LeadStatus.ASSIGNED:
                lead_contact(lead_id=lead.pk, at=event.at, actor=actor)
                if self.rng.random() < CLOSE_SHARE:
                    hours = 24 * 4 * math.exp(self.rng.gauss(0, 0.8))
                    close_at = next_working_moment(event.at + timedelta(hours=hours), sim)
                    self._schedule(close_at.replace(microsecond=0), "close", lead.pk)
            elif event.kind == "close" and lead.status == LeadStatus.CONTACTED:
                if self.rng.random() < sim.win_rate:
                    lead_convert(
                        lead_id=lead.pk,
                        at=event.at,
                        actor=actor,
                        reason=self.rng.choice(data.CONVERT_REASONS),
                    )
                else:
                    lead_disqualify(
                        lead_id=lead.pk,
                        at=event.at,
                        actor=actor,
                        reason=self.rng.choice(data.DISQUALIFY_REASONS),
                    )

    def _rep_leaves(self, username: str, *, at: datetime) -> None:
        """The rep leaves the team: deactivated, and a manager hands over their open leads."""
        rep = self.reps[username].rep
        rep.active = False
        rep.save()
        peers = [
            sim.rep
            for sim in self.reps.values()
            if sim.rep.pk != rep.pk and set(sim.rep.territories.all()) & set(rep.territories.all())
        ] or [sim.rep for sim in self.reps.values() if sim.rep.pk != rep.pk][:1]
        open_leads = Lead.objects.filter(
            owner=rep, status__in=[LeadStatus.ASSIGNED, LeadStatus.CONTACTED]
        ).order_by("created_at")
        for k, lead_id in enumerate(open_leads.values_list("pk", flat=True)):
            lead_reassign(
                lead_id=lead_id,
                rep=peers[k % len(peers)],
                actor=self.manager,
                now=at,
                note=f"{rep.name} left the team; handing over open leads.",
            )

    # ---------------------------------------------------------------- report

    def _summary(self, seconds: float) -> None:
        statuses = Counter(
            dict(
                Lead.objects.values_list("status")
                .annotate(n=Count("id"))
                .values_list("status", "n")
            )
        )
        kinds = dict(
            Assignment.objects.values_list("kind").annotate(n=Count("id")).values_list("kind", "n")
        )
        out = self.stdout
        out.write(self.style.SUCCESS(f"seed_demo: done in {seconds:.1f}s"))
        out.write(
            f"  territories {Territory.objects.count()}, reps {Rep.objects.count()} "
            f"(time zones {Rep.objects.values('time_zone').distinct().count()}), "
            f"accounts {Account.objects.count()}, rules {RoutingRule.objects.count()}"
        )
        out.write(
            f"  leads {sum(statuses.values())}: "
            + ", ".join(f"{status} {statuses.get(status, 0)}" for status in LeadStatus.values)
        )
        out.write(
            f"  assignments {sum(kinds.values())}: "
            + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
        )
        logins = ", ".join(f"{username} ({role})" for role, username, _ in DEMO_LOGINS)
        out.write(f"  logins: {logins}; password '{DEMO_LOGINS[0][2]}'")
