"""Every index and constraint the models declare exists in the migrated database.

`makemigrations --check` compares models with migrations, not with the database: an AlterField
that drops an FK's index also drops any other index on that column (Django finds them by
column), which silently removed the one-current-assignment-per-lead guard on PostgreSQL once.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db

OURS = ("core", "territories", "reps", "accounts", "rules", "leads", "routing", "notifications")


def declared() -> list[tuple[str, str]]:
    names = []
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label not in OURS or not meta.managed or meta.proxy:
            continue
        for item in (*meta.indexes, *meta.constraints):
            names.append((meta.db_table, item.name))
    return names


@pytest.mark.parametrize(("table", "name"), declared())
def test_declared_index_or_constraint_exists_in_the_database(table: str, name: str) -> None:
    with connection.cursor() as cursor:
        existing = connection.introspection.get_constraints(cursor, table)
    if connection.vendor == "sqlite" and name not in existing:
        # SQLite reports CHECK constraints without their names.
        checks = [c for c in existing.values() if c["check"]]
        assert checks, f"{table}.{name} is missing"
        return
    assert name in existing, f"{table}.{name} is declared but missing from the database"


def test_a_second_current_assignment_for_a_lead_is_refused(west_org) -> None:  # type: ignore[no-untyped-def]
    from django.db import IntegrityError, transaction

    from apps.routing.models import Assignment
    from tests.factories import LeadFactory

    lead = LeadFactory()
    rep = west_org["reps"][0]
    Assignment.objects.create(lead=lead, rep=rep, kind="auto", reason="first")
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.bulk_create(
            [Assignment(lead=lead, rep=west_org["reps"][1], kind="auto", reason="second")]
        )
