"""Benchmark of the pure routing engine: 200 rules, 1,000 reps, ~40 territories.

Prints compile time and the median / p99 microseconds per ``decide`` call over several
repetitions of 20,000 decisions on varied leads. Budget (DESIGN.md): <= 200 us per lead.
It never asserts on time. Run: ``.venv/bin/python bench/engine.py [--decisions N] [--reps N]``.
"""

from __future__ import annotations

import argparse
import datetime
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from apps.engine import (
    ConfigSnapshot,
    LeadFacts,
    RepLoad,
    RepProfile,
    RotationState,
    RuleDef,
    TerritoryDef,
    TimeOffPeriod,
    WorkingWindow,
    compile_config,
    decide,
)

UTC = datetime.UTC
NOW = datetime.datetime(2026, 3, 4, 15, 30, tzinfo=UTC)  # a Wednesday

# (code, parent, countries, regions, postal prefixes, time zone of its reps)
TERRITORIES = [
    ("WORLD", None, [], [], [], "UTC"),
    ("AMER", "WORLD", ["US", "CA", "MX", "BR", "AR", "CL", "CO"], [], [], "America/New_York"),
    (
        "EMEA",
        "WORLD",
        [
            "GB",
            "IE",
            "DE",
            "AT",
            "CH",
            "FR",
            "BE",
            "NL",
            "ES",
            "PT",
            "IT",
            "SE",
            "NO",
            "DK",
            "FI",
            "PL",
            "AE",
            "ZA",
        ],
        [],
        [],
        "Europe/London",
    ),
    ("APAC", "WORLD", ["JP", "AU", "NZ", "SG", "IN", "KR", "CN", "HK"], [], [], "Asia/Singapore"),
    ("NA", "AMER", ["US", "CA"], [], [], "America/Chicago"),
    ("LATAM", "AMER", ["MX", "BR", "AR", "CL", "CO"], [], [], "America/Sao_Paulo"),
    ("US-WEST", "NA", [], ["US-CA", "US-WA", "US-OR", "US-NV", "US-AZ"], [], "America/Los_Angeles"),
    ("US-CENTRAL", "NA", [], ["US-TX", "US-IL", "US-CO", "US-MN", "US-MO"], [], "America/Chicago"),
    (
        "US-EAST",
        "NA",
        [],
        ["US-NY", "US-MA", "US-NJ", "US-PA", "US-FL", "US-GA"],
        [],
        "America/New_York",
    ),
    ("CANADA", "NA", ["CA"], [], [], "America/Toronto"),
    (
        "SF-BAY",
        "US-WEST",
        [],
        [],
        ["940", "941", "943", "944", "945", "950"],
        "America/Los_Angeles",
    ),
    (
        "LA-METRO",
        "US-WEST",
        [],
        [],
        ["900", "902", "903", "904", "905", "906", "907", "908"],
        "America/Los_Angeles",
    ),
    (
        "NYC",
        "US-EAST",
        [],
        [],
        ["100", "101", "102", "103", "104", "112", "113", "114"],
        "America/New_York",
    ),
    ("BOSTON", "US-EAST", [], [], ["021", "022", "024"], "America/New_York"),
    ("TEXAS", "US-CENTRAL", [], ["US-TX"], [], "America/Chicago"),
    ("MEXICO", "LATAM", ["MX"], [], [], "America/Mexico_City"),
    ("BRAZIL", "LATAM", ["BR"], [], [], "America/Sao_Paulo"),
    ("SOUTHERN-CONE", "LATAM", ["AR", "CL"], [], [], "America/Argentina/Buenos_Aires"),
    ("UKI", "EMEA", ["GB", "IE"], [], [], "Europe/London"),
    ("LONDON", "UKI", [], [], ["E", "EC", "N", "NW", "SE", "SW", "W", "WC"], "Europe/London"),
    ("DACH", "EMEA", ["DE", "AT", "CH"], [], [], "Europe/Berlin"),
    ("MUNICH", "DACH", ["DE"], [], ["80", "81", "85"], "Europe/Berlin"),
    ("BERLIN", "DACH", ["DE"], [], ["10", "12", "13", "14"], "Europe/Berlin"),
    ("FRANCE", "EMEA", ["FR", "BE"], [], [], "Europe/Paris"),
    ("PARIS", "FRANCE", ["FR"], [], ["75", "92", "93", "94"], "Europe/Paris"),
    ("BENELUX", "EMEA", ["NL"], [], [], "Europe/Amsterdam"),
    ("IBERIA", "EMEA", ["ES", "PT"], [], [], "Europe/Madrid"),
    ("ITALY", "EMEA", ["IT"], [], [], "Europe/Rome"),
    ("NORDICS", "EMEA", ["SE", "NO", "DK", "FI"], [], [], "Europe/Stockholm"),
    ("CEE", "EMEA", ["PL"], [], [], "Europe/Warsaw"),
    ("MEA", "EMEA", ["AE", "ZA"], [], [], "Asia/Dubai"),
    ("JAPAN", "APAC", ["JP"], [], [], "Asia/Tokyo"),
    ("TOKYO", "JAPAN", ["JP"], [], ["10", "11", "12", "13", "14", "15"], "Asia/Tokyo"),
    ("ANZ", "APAC", ["AU", "NZ"], [], [], "Australia/Sydney"),
    ("SYDNEY", "ANZ", ["AU"], [], ["20", "21"], "Australia/Sydney"),
    ("INDIA", "APAC", ["IN"], [], [], "Asia/Kolkata"),
    ("SEA", "APAC", ["SG"], [], [], "Asia/Singapore"),
    ("GREATER-CHINA", "APAC", ["CN", "HK"], [], [], "Asia/Shanghai"),
    ("KOREA", "APAC", ["KR"], [], [], "Asia/Seoul"),
    ("STRATEGIC", "WORLD", [], [], [], "UTC"),
]
INDUSTRIES = [
    "healthcare",
    "finance",
    "retail",
    "manufacturing",
    "software",
    "education",
    "government",
    "media",
    "energy",
    "logistics",
]
SOURCES = ["web", "webinar", "partner", "event", "outbound", "referral", "ads"]
PRODUCTS = ["core", "analytics", "security", "platform", "support"]
LANGS = ["en", "es", "de", "fr", "ja", "pt", "it", "nl"]
REGIONS = {
    "US": [
        "US-CA",
        "US-WA",
        "US-OR",
        "US-TX",
        "US-IL",
        "US-NY",
        "US-MA",
        "US-FL",
        "US-GA",
        "US-CO",
        "US-OH",
    ],
    "CA": ["CA-ON", "CA-QC", "CA-BC"],
}
POSTALS = {
    "US": [
        "94103",
        "94105",
        "90012",
        "10001",
        "11201",
        "02110",
        "60601",
        "73301",
        "98101",
        "33101",
    ],
    "DE": ["80331", "10115", "50667", "20095"],
    "FR": ["75001", "69001", "13001"],
    "GB": ["SW1A 1AA", "EC1A 1BB", "M1 1AE", "B1 1AA"],
    "JP": ["100-0001", "530-0001", "150-0002"],
    "AU": ["2000", "3000", "4000"],
}
COUNTRY_WEIGHTS = {
    "US": 40,
    "CA": 5,
    "GB": 8,
    "DE": 8,
    "FR": 5,
    "JP": 5,
    "AU": 4,
    "BR": 3,
    "MX": 3,
    "IN": 3,
    "NL": 2,
    "ES": 2,
    "IT": 2,
    "SE": 2,
    "SG": 2,
    "PL": 1,
    "AE": 1,
    "KR": 1,
    "AR": 1,
    "ZA": 1,
}


def build_snapshot(rng: random.Random, n_reps: int, n_rules: int) -> ConfigSnapshot:
    territories = tuple(
        TerritoryDef(
            code=c,
            name=c.title(),
            parent=p,
            countries=frozenset(cs),
            regions=frozenset(rs),
            postal_prefixes=tuple(pp),
        )
        for c, p, cs, rs, pp, _ in TERRITORIES
    )
    tz_of = {c: tz for c, _, _, _, _, tz in TERRITORIES}
    leaves = [
        c for c, *_ in TERRITORIES if c not in {"WORLD", "AMER", "EMEA", "APAC", "NA", "LATAM"}
    ]
    reps = []
    for i in range(1, n_reps + 1):
        home = rng.choice(leaves)
        terrs = {home} | ({rng.choice(leaves)} if rng.random() < 0.1 else set())
        hours: tuple[WorkingWindow, ...] = ()
        r = rng.random()
        if r < 0.7:
            hours = (
                WorkingWindow(
                    weekdays=frozenset(range(5)),
                    start=datetime.time(8 + rng.randrange(3)),
                    end=datetime.time(16 + rng.randrange(3)),
                ),
            )
        elif r < 0.8:
            hours = (
                WorkingWindow(
                    weekdays=frozenset({0, 1, 2, 3}), start=datetime.time(22), end=datetime.time(6)
                ),
            )
        time_off: tuple[TimeOffPeriod, ...] = ()
        if rng.random() < 0.15:
            start = NOW + datetime.timedelta(days=rng.randint(-10, 30))
            time_off = (
                TimeOffPeriod(
                    starts_at=start,
                    ends_at=start + datetime.timedelta(days=rng.randint(1, 14)),
                    reason="vacation",
                ),
            )
        reps.append(
            RepProfile(
                rep_id=i,
                username=f"rep{i:04d}",
                time_zone=tz_of[home],
                active=rng.random() > 0.03,
                territories=frozenset(terrs),
                weight=rng.choice([1, 1, 1, 2, 3]),
                max_open_leads=rng.choice([None, 40, 60, 80]),
                max_daily_leads=rng.choice([None, None, 15, 25]),
                skills=frozenset(rng.sample(INDUSTRIES, rng.randint(0, 3))),
                languages=frozenset({"en"} | set(rng.sample(LANGS, rng.randint(0, 2)))),
                working_hours=hours,
                time_off=time_off,
            )
        )
    accounts = {f"acct{k}.com": rng.randint(1, n_reps) for k in range(2000)}
    codes = [c for c, *_ in TERRITORIES]
    strategies = [
        "round_robin",
        "round_robin",
        "weighted_round_robin",
        "load_balanced",
        "performance_weighted",
    ]
    rules = [
        RuleDef(
            rule_id=1,
            name="Named accounts",
            position=0,
            conditions=(),
            target=None,
            strategy="account_owner",
            sla_minutes=15,
        )
    ]

    def condition() -> dict[str, object]:
        kind = rng.randrange(9)
        if kind == 0:
            return {"field": "industry", "op": "eq", "value": rng.choice(INDUSTRIES).title()}
        if kind == 1:
            return {
                "field": "company_size",
                "op": rng.choice(["gte", "gt", "lt"]),
                "value": rng.choice([50, 200, 1000, 5000]),
            }
        if kind == 2:
            return {"field": "territory", "op": "within", "value": rng.choice(codes)}
        if kind == 3:
            return {"field": "lead_source", "op": "in", "value": rng.sample(SOURCES, 2)}
        if kind == 4:
            return {"field": "country", "op": "eq", "value": rng.choice(list(COUNTRY_WEIGHTS))}
        if kind == 5:
            return {
                "field": "extra.tier",
                "op": "eq",
                "value": rng.choice(["gold", "silver", "platinum"]),
            }
        if kind == 6:
            return {
                "any": [
                    {"field": "annual_revenue", "op": "gte", "value": 10_000_000},
                    {"field": "lead_score", "op": "gte", "value": rng.choice([80, 90])},
                ]
            }
        if kind == 7:
            return {"field": "product_interest", "op": "eq", "value": rng.choice(PRODUCTS)}
        return {
            "field": "email_domain",
            "op": "ends_with",
            "value": rng.choice([".edu", ".gov", ".io"]),
        }

    for k in range(2, n_rules):
        # three or four conditions each: specific rules that rarely all hold for a given lead
        conds = [condition() for _ in range(rng.randint(2, 4))]
        t = rng.random()
        if t < 0.5:
            target: dict[str, object] = {"territory": rng.choice(leaves)}
        elif t < 0.8:
            target = {"territory": "$lead"}
        else:
            target = {
                "reps": [
                    {"username": f"rep{rng.randint(1, n_reps):04d}", "weight": rng.randint(1, 3)}
                    for _ in range(rng.randint(3, 8))
                ]
            }
        # dedupe listed reps
        if "reps" in target:
            seen: dict[str, dict[str, object]] = {}
            for item in target["reps"]:  # type: ignore[attr-defined]
                seen[item["username"]] = item
            target = {"reps": list(seen.values())}
        rules.append(
            RuleDef(
                rule_id=k,
                name=f"Rule {k}",
                position=k,
                active=rng.random() > 0.05,
                conditions=tuple(conds),
                target=target,
                strategy=rng.choice(strategies),
                sla_minutes=rng.choice([None, 30, 60]),
                respect_working_hours=rng.random() < 0.6,
                require_skill_from="industry" if rng.random() < 0.15 else None,
                require_language=rng.random() < 0.2,
                when_no_one_eligible=rng.choice(
                    ["next_rule", "next_rule", "next_rule", "assign_anyway"]
                ),
            )
        )
    rules.append(
        RuleDef(
            rule_id=n_rules,
            name="Everyone else",
            position=n_rules,
            conditions=(),
            target={"territory": "$lead"},
            strategy="load_balanced",
            respect_working_hours=True,
        )
    )
    return ConfigSnapshot(
        version=1, territories=territories, reps=tuple(reps), accounts=accounts, rules=tuple(rules)
    )


def build_leads(rng: random.Random, n: int) -> list[LeadFacts]:
    countries = list(COUNTRY_WEIGHTS)
    weights = list(COUNTRY_WEIGHTS.values())
    leads = []
    for i in range(n):
        country = rng.choices(countries, weights)[0]
        fields: dict[str, object] = {
            "email": f"person{i}@"
            + (
                f"acct{rng.randrange(2000)}.com"
                if rng.random() < 0.1
                else f"company{rng.randrange(100000)}.{rng.choice(['com', 'io', 'edu', 'de'])}"
            ),
            "first_name": "Pat",
            "last_name": f"Lead{i}",
            "company": f"Company {i}",
            "country": country,
            "industry": rng.choice(INDUSTRIES).title(),
            "lead_source": rng.choice(SOURCES),
            "product_interest": rng.choice(PRODUCTS),
            "company_size": rng.choice([5, 30, 120, 250, 800, 2000, 12000]),
            "annual_revenue": Decimal(rng.choice([100_000, 2_500_000, 40_000_000])),
            "lead_score": rng.randint(0, 100),
            "language": rng.choice(LANGS),
            "extra": {"tier": rng.choice(["gold", "silver", "bronze"]), "utm_campaign": "spring"},
        }
        if country in REGIONS and rng.random() < 0.8:
            fields["region"] = rng.choice(REGIONS[country])
        if country in POSTALS and rng.random() < 0.6:
            fields["postal_code"] = rng.choice(POSTALS[country])
        leads.append(LeadFacts(lead_id=i, fields=fields))
    return leads


def build_loads(rng: random.Random, n_reps: int) -> dict[int, RepLoad]:
    return {
        i: RepLoad(
            rep_id=i,
            away=rng.random() < 0.05,
            open_leads=rng.randint(0, 70),
            leads_today=rng.randint(0, 20),
            last_assigned_at=None
            if rng.random() < 0.1
            else NOW - datetime.timedelta(minutes=rng.randint(1, 5000)),
            conversion_rate_90d=None if rng.random() < 0.2 else rng.random() * 0.3,
        )
        for i in range(1, n_reps + 1)
        if rng.random() < 0.95
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--rules", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(42)
    snapshot = build_snapshot(rng, args.reps, args.rules)
    compile_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        compiled = compile_config(snapshot)
        compile_times.append(time.perf_counter() - t0)
    leads = build_leads(rng, 2000)
    loads = build_loads(rng, args.reps)
    print(
        f"config: {len(snapshot.rules)} rules, {len(snapshot.reps)} reps, {len(snapshot.territories)} territories, "
        f"{len(snapshot.accounts)} accounts"
    )
    print(
        f"compile_config: median {statistics.median(compile_times) * 1000:.1f} ms over {len(compile_times)} runs"
    )

    medians, p99s = [], []
    for rep in range(args.repetitions):
        rotations: dict[int, RotationState] = {}
        samples = []
        full_path = []  # decisions that evaluated every rule (fell through to the catch-all)
        outcomes: dict[str, int] = {}
        rules_evaluated = 0
        perf = time.perf_counter_ns
        for k in range(args.decisions):
            lead = leads[k % len(leads)]
            now = NOW + datetime.timedelta(seconds=37 * k)
            t0 = perf()
            decision = decide(compiled, lead, loads=loads, rotations=rotations, now=now)
            samples.append(perf() - t0)
            if decision.new_rotation is not None:
                rotations[decision.new_rotation.rule_id] = decision.new_rotation
            outcomes[decision.outcome] = outcomes.get(decision.outcome, 0) + 1
            rules_evaluated += len(decision.trace["rules"])
            if len(decision.trace["rules"]) == len(compiled.rules):
                full_path.append(samples[-1])
        samples.sort()
        med = samples[len(samples) // 2] / 1000
        p99 = samples[int(len(samples) * 0.99)] / 1000
        medians.append(med)
        p99s.append(p99)
        print(
            f"run {rep + 1}: {args.decisions} decisions, median {med:.1f} us, p99 {p99:.1f} us, "
            f"mean {sum(samples) / len(samples) / 1000:.1f} us; outcomes {outcomes}; "
            f"{rules_evaluated / args.decisions:.0f} rules evaluated per lead; "
            f"all {len(compiled.rules)} rules evaluated: {len(full_path)} leads, "
            f"median {statistics.median(full_path) / 1000 if full_path else 0:.1f} us"
        )
    print(
        f"decide: median of medians {statistics.median(medians):.1f} us, median p99 {statistics.median(p99s):.1f} us "
        f"(budget 200 us per lead)"
    )


if __name__ == "__main__":
    main()
