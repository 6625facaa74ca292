"""Demo logins created by seed_demo and printed by runportal."""

DEMO_PASSWORD = "routing-demo"
DEMO_LOGINS = [
    ("admin", "admin", DEMO_PASSWORD),
    ("manager", "manager", DEMO_PASSWORD),
    ("rep", "alice", DEMO_PASSWORD),
]
