"""The demo organisation: territories, reps, time off, accounts, rules and logins from `data`.

Every object is validated with `full_clean()`; an object that already exists (seeding with
`--force`) is kept as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import CommandError

from apps.accounts.models import Account
from apps.core.roles import MANAGERS_GROUP
from apps.demo import data
from apps.demo.leads import HISTORY_DAYS
from apps.demo.logins import DEMO_LOGINS
from apps.reps.models import Rep, TimeOff, WorkingHours
from apps.rules.models import RoutingRule
from apps.territories.models import Territory

User = get_user_model()

#: A working window: weekdays (Monday 0), local start, local end (an end before the start is
#: the next day's).
Window = tuple[list[int], dtime, dtime]


@dataclass(frozen=True)
class Organisation:
    """What the later phases need from the organisation: the reps by username, the manager."""

    reps: dict[str, Rep]
    manager: Any


def _hm(text: str) -> dtime:
    hours, minutes = text.split(":")
    return dtime(int(hours), int(minutes))


def rep_windows(row: dict[str, Any]) -> list[Window]:
    """The working windows of a row of `data.REPS` (weekdays 9 to 5 when it names none)."""
    return [
        (days, _hm(start), _hm(end))
        for days, start, end in row.get("hours", [([0, 1, 2, 3, 4], "09:00", "17:00")])
    ]


def organisation_seed(*, now: datetime) -> Organisation:
    """Create the demo organisation; time off is placed relative to `now`."""
    territories = _territories_ensure()
    reps = {row["username"]: _rep_ensure(row, territories) for row in data.REPS}
    _time_off_ensure(reps, now=now)
    _accounts_ensure(reps)
    _rules_ensure(since=now - timedelta(days=HISTORY_DAYS))
    manager = _logins_ensure(reps)
    return Organisation(reps=reps, manager=manager)


def _territories_ensure() -> dict[str, Territory]:
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
    return territories


def _rep_ensure(row: dict[str, Any], territories: dict[str, Territory]) -> Rep:
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
    for days, start, end in rep_windows(row):
        hours = WorkingHours(rep=rep, weekdays=days, start=start, end=end)
        hours.full_clean()
        hours.save()
    return rep


def _time_off_ensure(reps: dict[str, Rep], *, now: datetime) -> None:
    for username, start_days, end_days, reason in data.TIME_OFF:
        rep = reps[username]
        starts = (now + timedelta(days=start_days)).replace(hour=0, minute=0, second=0)
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


def _accounts_ensure(reps: dict[str, Rep]) -> None:
    for domain, name, owner in data.ACCOUNTS:
        if Account.objects.filter(domain=domain).exists():
            continue
        account = Account(domain=domain, name=name, owner=reps[owner] if owner else None)
        account.full_clean()
        account.save()


def _rules_ensure(*, since: datetime) -> None:
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
            # The demo's SLAs count in the owner's working hours (a lead arriving at night is due
            # the next morning), as a team working across 20 time zones would set them.
            sla_business_hours=row.get("sla_business_hours", True),
            require_skill_from=row.get("require_skill_from", ""),
            require_language=row.get("require_language", False),
            when_no_one_eligible=row.get("when_no_one_eligible", "next_rule"),
        )
        rule.full_clean()
        rule.save()
        # The rules routed the 90 days of history, so they are that old ("took no lead in the
        # last 30 days" must read the demo as it would a real deployment).
        RoutingRule.objects.filter(pk=rule.pk).update(created_at=since)
        position += 1


def _logins_ensure(reps: dict[str, Rep]) -> Any:
    """Give the demo logins their password and role; return the manager's user."""
    managers = Group.objects.get(name=MANAGERS_GROUP)
    for role, username, password in DEMO_LOGINS:
        if role == "rep":
            if username not in reps:
                raise CommandError(f"Demo rep login '{username}' is not one of the demo reps.")
            user = reps[username].user
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
    return User.objects.get(username=next(u for r, u, _ in DEMO_LOGINS if r == "manager"))
