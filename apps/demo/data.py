"""Static tables behind `manage.py seed_demo`: a plausible global sales organisation.

Plain data only; `apps.demo.organisation` validates every row with the models' `full_clean()`.
"""

from __future__ import annotations

#: code, name, parent, countries, regions, postal prefixes (parents before children).
TERRITORIES: list[tuple[str, str, str | None, list[str], list[str], list[str]]] = [
    ("AMER", "Americas", None, [], [], []),
    ("NA", "North America", "AMER", ["US"], [], []),
    (
        "US-WEST",
        "US West",
        "NA",
        [],
        ["US-CA", "US-WA", "US-OR", "US-NV", "US-AZ", "US-UT", "US-CO"],
        [],
    ),
    ("BAY-AREA", "San Francisco Bay Area", "US-WEST", [], [], [str(p) for p in range(940, 952)]),
    (
        "US-EAST",
        "US East",
        "NA",
        [],
        ["US-NY", "US-MA", "US-NJ", "US-PA", "US-FL", "US-GA", "US-NC", "US-VA", "US-CT", "US-DC"],
        [],
    ),
    (
        "NYC-METRO",
        "New York City metro",
        "US-EAST",
        [],
        [],
        ["100", "101", "102", "103", "104", "112"],
    ),
    (
        "US-CENTRAL",
        "US Central",
        "NA",
        [],
        ["US-TX", "US-IL", "US-MN", "US-MO", "US-OH", "US-MI", "US-WI"],
        [],
    ),
    ("CANADA", "Canada", "NA", ["CA"], [], []),
    ("LATAM", "Latin America", "AMER", ["BR", "MX", "AR", "CL", "CO", "PE"], [], []),
    ("EMEA", "Europe, Middle East & Africa", None, [], [], []),
    ("UK-IE", "UK & Ireland", "EMEA", ["GB", "IE"], [], []),
    (
        "LONDON",
        "Greater London",
        "UK-IE",
        [],
        [],
        ["EC", "WC", "SW1", "SE1", "W1", "NW1", "E1", "N1"],
    ),
    ("DACH", "Germany, Austria, Switzerland", "EMEA", ["DE", "AT", "CH"], [], []),
    ("FRANCE", "France", "EMEA", ["FR"], [], []),
    ("BENELUX", "Benelux", "EMEA", ["NL", "BE", "LU"], [], []),
    ("NORDICS", "Nordics", "EMEA", ["SE", "NO", "DK", "FI", "IS"], [], []),
    ("SOUTHERN-EUROPE", "Southern Europe", "EMEA", ["ES", "IT", "PT", "GR"], [], []),
    ("APAC", "Asia Pacific", None, [], [], []),
    ("ANZ", "Australia & New Zealand", "APAC", ["AU", "NZ"], [], []),
    ("JAPAN", "Japan", "APAC", ["JP"], [], []),
    ("SEA", "South-East Asia", "APAC", ["SG", "MY", "ID", "TH", "PH", "VN"], [], []),
    ("INDIA", "India", "APAC", ["IN"], [], []),
]

_WEEK = [0, 1, 2, 3, 4]
_NINE_TO_FIVE = [(_WEEK, "09:00", "17:00")]
_EIGHT_TO_FOUR = [(_WEEK, "08:00", "16:00")]

#: username, first, last, time zone, territories, weight, max_open, max_daily, skills, languages,
#: working hours [(weekdays, start, end)], median minutes to first contact, conversion rate.
# fmt: off
REPS: list[dict] = [
    dict(username="alice", first="Alice", last="Ng", tz="America/Los_Angeles", territories=["US-WEST"], weight=2, skills=["healthcare", "software"], languages=["en", "es"], speed=9, win=0.31),
    dict(username="brian", first="Brian", last="Walsh", tz="America/Los_Angeles", territories=["BAY-AREA"], skills=["fintech", "software"], languages=["en"], speed=25, win=0.18),
    dict(username="carmen", first="Carmen", last="Ruiz", tz="America/Los_Angeles", territories=["US-WEST"], max_open=40, skills=["retail"], languages=["en", "es"], speed=40, win=0.22),
    dict(username="dmitri", first="Dmitri", last="Volkov", tz="America/Los_Angeles", territories=["BAY-AREA"], weight=3, skills=["manufacturing", "software"], languages=["en", "ru"], hours=_EIGHT_TO_FOUR, speed=14, win=0.27),
    dict(username="owen", first="Owen", last="Reyes", tz="America/Los_Angeles", territories=["ANZ", "SEA"], skills=["software"], languages=["en", "tl"], hours=[(_WEEK, "18:00", "02:00")], speed=30, win=0.15),
    dict(username="erin", first="Erin", last="Park", tz="America/New_York", territories=["US-EAST"], skills=["healthcare"], languages=["en", "ko"], speed=12, win=0.29),
    dict(username="frank", first="Frank", last="Osei", tz="America/New_York", territories=["US-EAST"], weight=2, skills=["fintech"], languages=["en", "fr"], speed=20, win=0.24),
    dict(username="grace", first="Grace", last="Liu", tz="America/New_York", territories=["NYC-METRO"], skills=["fintech", "media"], languages=["en", "zh"], speed=7, win=0.33),
    dict(username="hannah", first="Hannah", last="Goldberg", tz="America/New_York", territories=["US-EAST"], max_daily=6, skills=["education"], languages=["en"], speed=55, win=0.14),
    dict(username="isaac", first="Isaac", last="Brooks", tz="America/Chicago", territories=["US-CENTRAL"], weight=2, skills=["manufacturing", "logistics"], languages=["en"], hours=_EIGHT_TO_FOUR, speed=18, win=0.21),
    dict(username="jasmine", first="Jasmine", last="Patel", tz="America/Chicago", territories=["US-CENTRAL"], skills=["retail", "healthcare"], languages=["en", "hi"], speed=35, win=0.19),
    dict(username="kevin", first="Kevin", last="O'Brien", tz="America/Chicago", territories=["US-CENTRAL"], skills=["logistics"], languages=["en"], speed=90, win=0.09),
    dict(username="liam", first="Liam", last="Tremblay", tz="America/Toronto", territories=["CANADA"], skills=["software", "education"], languages=["en", "fr"], speed=22, win=0.2),
    dict(username="chloe", first="Chloé", last="Gagnon", tz="America/Toronto", territories=["CANADA"], skills=["healthcare"], languages=["en", "fr"], speed=16, win=0.23),
    dict(username="lucas", first="Lucas", last="Oliveira", tz="America/Sao_Paulo", territories=["LATAM"], weight=2, skills=["manufacturing"], languages=["pt", "es", "en"], speed=28, win=0.17),
    dict(username="sofia", first="Sofía", last="Martínez", tz="America/Mexico_City", territories=["LATAM"], skills=["retail", "healthcare"], languages=["es", "en"], speed=19, win=0.21),
    dict(username="mateo", first="Mateo", last="Fernández", tz="America/Sao_Paulo", territories=["LATAM"], skills=["fintech"], languages=["es", "pt", "en"], speed=65, win=0.12),
    dict(username="oliver", first="Oliver", last="Bennett", tz="Europe/London", territories=["UK-IE"], weight=2, skills=["fintech", "software"], languages=["en"], speed=11, win=0.26),
    dict(username="amelia", first="Amelia", last="Hughes", tz="Europe/London", territories=["LONDON"], skills=["healthcare", "media"], languages=["en", "fr"], speed=8, win=0.3),
    dict(username="siobhan", first="Siobhán", last="Murphy", tz="Europe/Dublin", territories=["UK-IE"], skills=["education"], languages=["en", "ga"], speed=24, win=0.2),
    dict(username="jonas", first="Jonas", last="Weber", tz="Europe/Berlin", territories=["DACH"], weight=2, skills=["manufacturing", "logistics"], languages=["de", "en"], hours=_EIGHT_TO_FOUR, speed=15, win=0.28),
    dict(username="lena", first="Lena", last="Fischer", tz="Europe/Berlin", territories=["DACH"], max_open=30, skills=["healthcare"], languages=["de", "en"], speed=10, win=0.32),
    dict(username="felix", first="Felix", last="Huber", tz="Europe/Vienna", territories=["DACH"], skills=["fintech"], languages=["de", "en", "fr"], speed=45, win=0.16),
    dict(username="camille", first="Camille", last="Laurent", tz="Europe/Paris", territories=["FRANCE", "BENELUX"], skills=["retail", "healthcare"], languages=["fr", "en"], speed=21, win=0.22),
    dict(username="julien", first="Julien", last="Moreau", tz="Europe/Paris", territories=["FRANCE"], skills=["manufacturing"], languages=["fr", "en"], speed=33, win=0.18),
    dict(username="sanne", first="Sanne", last="de Vries", tz="Europe/Amsterdam", territories=["BENELUX"], skills=["logistics", "software"], languages=["nl", "en", "de"], speed=13, win=0.25),
    dict(username="astrid", first="Astrid", last="Lindqvist", tz="Europe/Stockholm", territories=["NORDICS"], skills=["fintech", "software"], languages=["sv", "en", "no"], speed=17, win=0.24),
    dict(username="mikkel", first="Mikkel", last="Hansen", tz="Europe/Copenhagen", territories=["NORDICS"], skills=["retail"], languages=["da", "en"], speed=38, win=0.15),
    dict(username="giulia", first="Giulia", last="Romano", tz="Europe/Rome", territories=["SOUTHERN-EUROPE"], skills=["retail", "manufacturing"], languages=["it", "en", "es"], speed=26, win=0.19),
    dict(username="javier", first="Javier", last="Torres", tz="Europe/Madrid", territories=["SOUTHERN-EUROPE"], skills=["healthcare", "education"], languages=["es", "pt", "en"], speed=31, win=0.17),
    dict(username="haruto", first="Haruto", last="Sato", tz="Asia/Tokyo", territories=["JAPAN"], weight=2, skills=["manufacturing"], languages=["ja", "en"], hours=_EIGHT_TO_FOUR, speed=12, win=0.27),
    dict(username="yui", first="Yui", last="Tanaka", tz="Asia/Tokyo", territories=["JAPAN"], skills=["healthcare"], languages=["ja"], speed=9, win=0.3),
    dict(username="kenji", first="Kenji", last="Watanabe", tz="Asia/Tokyo", territories=["JAPAN"], skills=["fintech"], languages=["en"], speed=40, win=0.13),
    dict(username="weiling", first="Wei Ling", last="Tan", tz="Asia/Singapore", territories=["SEA"], skills=["fintech", "logistics"], languages=["en", "zh", "ms"], speed=14, win=0.23),
    dict(username="arjun", first="Arjun", last="Mehta", tz="Asia/Kolkata", territories=["INDIA"], weight=2, skills=["education", "software"], languages=["en", "hi"], speed=20, win=0.2),
    dict(username="priya", first="Priya", last="Nair", tz="Asia/Kolkata", territories=["INDIA"], skills=["healthcare"], languages=["en", "hi", "ta"], speed=27, win=0.22),
    dict(username="jack", first="Jack", last="Thompson", tz="Australia/Sydney", territories=["ANZ"], weight=2, skills=["retail", "software"], languages=["en"], speed=16, win=0.25),
    dict(username="mia", first="Mia", last="Wilson", tz="Australia/Sydney", territories=["ANZ"], skills=["healthcare", "education"], languages=["en"], speed=23, win=0.21),
    # Strategic account executives: no territory, reached only through the "Strategic enterprise" rule.
    dict(username="victoria", first="Victoria", last="Chen", tz="America/New_York", territories=[], weight=3, max_daily=4, skills=["software", "fintech"], languages=["en", "zh"], speed=6, win=0.35),
    dict(username="marcus", first="Marcus", last="Hale", tz="Europe/London", territories=[], weight=2, max_daily=4, skills=["manufacturing"], languages=["en", "de"], speed=10, win=0.3),
    dict(username="akiko", first="Akiko", last="Mori", tz="Asia/Singapore", territories=[], weight=1, max_daily=3, skills=["manufacturing"], languages=["en", "ja"], speed=15, win=0.28),
]
# fmt: on

#: Rep availability stories (days relative to now).
REP_INACTIVE = "kevin"  # left the team a month ago; his open leads were handed over by a manager
REP_INACTIVE_SINCE_DAYS = 30
REP_AWAY = "mikkel"
TIME_OFF = [
    ("julien", -3, 7, "vacation"),  # on vacation right now (reasons are TimeOffReason codes)
    ("kenji", 10, 17, "vacation"),  # upcoming
    ("priya", -40, -30, "parental"),  # in the past
    ("jack", -62, -58, "training"),
]

#: domain, name, owner
ACCOUNTS = [
    ("acme.com", "Acme Corporation", "alice"),
    ("globex.com", "Globex", "frank"),
    ("initech.com", "Initech", "isaac"),
    ("umbrella.com", "Umbrella Health", "erin"),
    ("hooli.com", "Hooli", "dmitri"),
    ("soylent.com", "Soylent", "jasmine"),
    ("starkindustries.com", "Stark Industries", "victoria"),
    ("wayneenterprises.com", "Wayne Enterprises", "grace"),
    ("cyberdyne.com", "Cyberdyne Systems", "brian"),
    ("wonka.co.uk", "Wonka Confectionery", "oliver"),
    ("tyrell.de", "Tyrell GmbH", "jonas"),
    ("oceanic.com.au", "Oceanic Airlines", "jack"),
    ("massive-dynamic.com", "Massive Dynamic", "marcus"),
    ("vandelay.com", "Vandelay Industries", "carmen"),
    ("dunder-mifflin.com", "Dunder Mifflin", "hannah"),
    ("nakatomi.co.jp", "Nakatomi Trading", "haruto"),
    ("aperture.fr", "Aperture Science France", "camille"),
    ("pied-piper.com", "Pied Piper", None),
]

PARTNER_SOURCES = ["partner referral", "reseller"]
#: name, weight
LEAD_SOURCES = [
    ("web form", 30),
    ("paid search", 20),
    ("content download", 18),
    ("webinar", 12),
    ("partner referral", 9),
    ("trade show", 7),
    ("reseller", 2),
    ("outbound", 2),
]
INDUSTRIES = [
    ("software", 22),
    ("fintech", 14),
    ("healthcare", 14),
    ("manufacturing", 13),
    ("retail", 12),
    ("education", 9),
    ("logistics", 8),
    ("media", 8),
]
PRODUCT_INTEREST = [
    ("core", 40),
    ("analytics", 25),
    ("integrations", 15),
    ("enterprise", 10),
    ("", 10),
]
TITLES = [
    "VP Sales",
    "Head of Revenue Operations",
    "Sales Operations Manager",
    "CTO",
    "IT Director",
    "Marketing Manager",
    "Operations Director",
    "Founder",
    "Procurement Lead",
    "Product Manager",
    "Chief Revenue Officer",
    "Business Analyst",
    "Head of Growth",
    "Engineering Manager",
]
DISQUALIFY_REASONS = [
    "No budget this year",
    "Student / researcher",
    "Competitor",
    "Bad contact data",
    "Too small for our offering",
    "Went with a competitor",
    "No response after 3 attempts",
    "Duplicate of an existing opportunity",
]
CONVERT_REASONS = [
    "Opportunity created",
    "Demo booked",
    "Trial started",
    "Qualified: budget and timeline",
]
FREE_MAIL = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com"]

#: country, weight, time zone for business-hour timestamps, Faker locale, primary language,
#: top-level domain, cities
COUNTRIES = [
    ("US", 40, "America/Chicago", "en_US", "en", "com", []),
    (
        "GB",
        8,
        "Europe/London",
        "en_GB",
        "en",
        "co.uk",
        ["London", "Manchester", "Edinburgh", "Bristol", "Leeds"],
    ),
    (
        "DE",
        6,
        "Europe/Berlin",
        "de_DE",
        "de",
        "de",
        ["Berlin", "Munich", "Hamburg", "Frankfurt", "Cologne"],
    ),
    (
        "JP",
        5,
        "Asia/Tokyo",
        "ja_JP",
        "ja",
        "co.jp",
        ["Tokyo", "Osaka", "Yokohama", "Nagoya", "Fukuoka"],
    ),
    (
        "AU",
        4,
        "Australia/Sydney",
        "en_AU",
        "en",
        "com.au",
        ["Sydney", "Melbourne", "Brisbane", "Perth"],
    ),
    (
        "CA",
        4,
        "America/Toronto",
        "en_CA",
        "en",
        "ca",
        ["Toronto", "Vancouver", "Montreal", "Calgary"],
    ),
    (
        "FR",
        4,
        "Europe/Paris",
        "fr_FR",
        "fr",
        "fr",
        ["Paris", "Lyon", "Toulouse", "Lille", "Nantes"],
    ),
    (
        "BR",
        3,
        "America/Sao_Paulo",
        "pt_BR",
        "pt",
        "com.br",
        ["São Paulo", "Rio de Janeiro", "Curitiba"],
    ),
    ("IN", 3, "Asia/Kolkata", "en_IN", "en", "in", ["Bengaluru", "Mumbai", "Pune", "Hyderabad"]),
    ("NL", 2, "Europe/Amsterdam", "nl_NL", "nl", "nl", ["Amsterdam", "Rotterdam", "Utrecht"]),
    ("SE", 2, "Europe/Stockholm", "sv_SE", "sv", "se", ["Stockholm", "Gothenburg", "Malmö"]),
    ("ES", 2, "Europe/Madrid", "es_ES", "es", "es", ["Madrid", "Barcelona", "Valencia"]),
    ("IT", 2, "Europe/Rome", "it_IT", "it", "it", ["Milan", "Rome", "Turin"]),
    (
        "MX",
        2,
        "America/Mexico_City",
        "es_MX",
        "es",
        "com.mx",
        ["Mexico City", "Monterrey", "Guadalajara"],
    ),
    ("SG", 2, "Asia/Singapore", "en_US", "en", "com.sg", ["Singapore"]),
    ("CH", 1, "Europe/Zurich", "de_DE", "de", "ch", ["Zurich", "Geneva", "Basel"]),
    ("AT", 1, "Europe/Vienna", "de_DE", "de", "at", ["Vienna", "Graz"]),
    ("IE", 1, "Europe/Dublin", "en_GB", "en", "ie", ["Dublin", "Cork"]),
    ("NZ", 1, "Pacific/Auckland", "en_AU", "en", "co.nz", ["Auckland", "Wellington"]),
    ("DK", 1, "Europe/Copenhagen", "en_GB", "da", "dk", ["Copenhagen", "Aarhus"]),
    ("NO", 1, "Europe/Oslo", "en_GB", "no", "no", ["Oslo", "Bergen"]),
    ("FI", 1, "Europe/Helsinki", "en_GB", "fi", "fi", ["Helsinki", "Espoo"]),
    ("BE", 1, "Europe/Brussels", "fr_FR", "fr", "be", ["Brussels", "Antwerp"]),
    (
        "AR",
        1,
        "America/Argentina/Buenos_Aires",
        "es_ES",
        "es",
        "com.ar",
        ["Buenos Aires", "Córdoba"],
    ),
    ("MY", 1, "Asia/Kuala_Lumpur", "en_US", "en", "com.my", ["Kuala Lumpur", "Penang"]),
    ("PT", 1, "Europe/Lisbon", "pt_BR", "pt", "pt", ["Lisbon", "Porto"]),
    # Not covered by any territory: these end up unrouted, waiting in the managers' queue.
    ("ZA", 0.4, "Africa/Johannesburg", "en_GB", "en", "co.za", ["Johannesburg", "Cape Town"]),
    ("AE", 0.3, "Asia/Dubai", "en_GB", "en", "ae", ["Dubai", "Abu Dhabi"]),
]

#: US region, weight, city, postal prefixes (3 digits)
US_REGIONS = [
    (
        "US-CA",
        16,
        ["San Francisco", "Palo Alto", "Oakland", "San Jose"],
        ["940", "941", "943", "945", "950", "951"],
    ),
    ("US-CA", 8, ["Los Angeles", "San Diego", "Irvine"], ["900", "902", "920", "926"]),
    ("US-WA", 6, ["Seattle", "Bellevue", "Redmond"], ["980", "981"]),
    ("US-OR", 3, ["Portland"], ["970", "972"]),
    ("US-CO", 3, ["Denver", "Boulder"], ["800", "803"]),
    ("US-AZ", 2, ["Phoenix", "Scottsdale"], ["850", "852"]),
    ("US-NY", 12, ["New York", "Brooklyn"], ["100", "101", "112"]),
    ("US-NY", 2, ["Buffalo", "Rochester"], ["142", "146"]),
    ("US-MA", 6, ["Boston", "Cambridge"], ["021", "022"]),
    ("US-NJ", 3, ["Newark", "Jersey City"], ["071", "073"]),
    ("US-PA", 3, ["Philadelphia", "Pittsburgh"], ["191", "152"]),
    ("US-FL", 4, ["Miami", "Tampa", "Orlando"], ["331", "336", "328"]),
    ("US-GA", 3, ["Atlanta"], ["303"]),
    ("US-NC", 2, ["Charlotte", "Raleigh"], ["282", "276"]),
    ("US-VA", 2, ["Arlington", "Richmond"], ["222", "232"]),
    ("US-TX", 8, ["Austin", "Dallas", "Houston"], ["787", "752", "770"]),
    ("US-IL", 6, ["Chicago", "Evanston"], ["606", "602"]),
    ("US-MN", 2, ["Minneapolis"], ["554"]),
    ("US-OH", 2, ["Columbus", "Cleveland"], ["432", "441"]),
    ("US-MI", 2, ["Detroit", "Ann Arbor"], ["482", "481"]),
    ("US-TN", 1, ["Nashville"], ["372"]),  # in NA but in no US sub-territory
]
US_REGION_TIME_ZONES = {
    "US-CA": "America/Los_Angeles",
    "US-WA": "America/Los_Angeles",
    "US-OR": "America/Los_Angeles",
    "US-CO": "America/Denver",
    "US-AZ": "America/Phoenix",
    "US-TX": "America/Chicago",
    "US-IL": "America/Chicago",
    "US-MN": "America/Chicago",
    "US-TN": "America/Chicago",
}
GB_POSTAL = {
    "London": [
        "EC1A 1BB",
        "WC2N 5DU",
        "SW1A 2AA",
        "SE1 9SG",
        "W1D 3QF",
        "NW1 6XE",
        "E1 6AN",
        "N1 9GU",
    ],
    "Manchester": ["M1 1AE", "M3 4LZ"],
    "Edinburgh": ["EH1 1YZ", "EH3 9WJ"],
    "Bristol": ["BS1 4DJ"],
    "Leeds": ["LS1 4AP"],
}

#: Rules, in order. Usernames and territory codes refer to the tables above.
RULES: list[dict] = [
    dict(
        name="Named accounts",
        description="Leads from a named account go straight to its owner.",
        strategy="account_owner",
        sla_minutes=15,
    ),
    dict(
        name="Strategic enterprise",
        description="Very large companies go to the strategic account team, weighted by seniority.",
        conditions=[
            {"field": "company_size", "op": "gte", "value": 5000},
            {"field": "annual_revenue", "op": "gte", "value": 100000000},
        ],
        target={
            "reps": [
                {"username": "victoria", "weight": 3},
                {"username": "marcus", "weight": 2},
                {"username": "akiko", "weight": 1},
            ]
        },
        strategy="weighted_round_robin",
        sla_minutes=20,
        respect_working_hours=True,
        when_no_one_eligible="hold",
    ),
    dict(
        name="Enterprise West",
        description="Enterprise leads on the US west coast, in working hours.",
        conditions=[
            {"field": "company_size", "op": "gte", "value": 1000},
            {"field": "territory", "op": "within", "value": "US-WEST"},
        ],
        target={"territory": "US-WEST"},
        strategy="round_robin",
        sla_minutes=30,
        respect_working_hours=True,
    ),
    dict(
        name="Healthcare specialists",
        description="Healthcare leads go to a rep with the healthcare skill.",
        conditions=[{"field": "industry", "op": "eq", "value": "healthcare"}],
        target={"territory": "$lead"},
        strategy="round_robin",
        require_skill_from="industry",
        sla_minutes=45,
    ),
    dict(
        name="Partner referrals",
        description="Referrals reward the reps who convert them best.",
        conditions=[{"field": "lead_source", "op": "in", "value": PARTNER_SOURCES}],
        target={"territory": "$lead"},
        strategy="performance_weighted",
        sla_minutes=60,
    ),
    dict(
        name="Japan",
        description="Japanese-speaking reps for Japan.",
        conditions=[{"field": "territory", "op": "within", "value": "JAPAN"}],
        target={"territory": "JAPAN"},
        strategy="round_robin",
        require_language=True,
    ),
    dict(
        name="High intent",
        description="Hot leads go to whoever has the most room.",
        conditions=[
            {
                "any": [
                    {"field": "lead_score", "op": "gte", "value": 80},
                    {"field": "product_interest", "op": "eq", "value": "enterprise"},
                ]
            }
        ],
        target={"territory": "$lead"},
        strategy="load_balanced",
        sla_minutes=30,
    ),
    # Never fires: no lead comes from the public sector (the audit page flags it).
    dict(
        name="Public sector",
        description="Government agencies (no public-sector pipeline yet).",
        conditions=[{"field": "industry", "op": "in", "value": ["government", "public sector"]}],
        target={"territory": "NA"},
        strategy="round_robin",
    ),
    # Switched off after last year's event; kept for the record.
    dict(
        name="Trade show follow-up",
        active=False,
        description="Trade-show badge scans (disabled after the event).",
        conditions=[{"field": "lead_source", "op": "eq", "value": "trade show"}],
        target={"territory": "$lead"},
        strategy="round_robin",
        sla_minutes=240,
    ),
    dict(
        name="Everyone else",
        description="Catch-all: the lead's territory, fewest open leads first.",
        target={"territory": "$lead"},
        strategy="load_balanced",
        when_no_one_eligible="assign_anyway",
    ),
]
