"""Migrations stay safe on big tables: an index added to or dropped from the leads, activity or
assignment tables after these baselines is built CONCURRENTLY on PostgreSQL (intake and routing
keep writing during the build), through apps.core.migration_operations in a non-atomic migration.
"""

from __future__ import annotations

import pytest
from django.db import connection, models
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import AddIndex, RemoveIndex
from django.db.migrations.state import ProjectState

from apps.core.migration_operations import AddIndexConcurrently, RemoveIndexConcurrently

#: The tables that grow with the business: (app label, model name).
BIG_TABLES = {("leads", "lead"), ("leads", "leadactivity"), ("routing", "assignment")}
#: Migrations written before this rule (already applied everywhere); this list never grows.
BASELINE = {
    ("leads", "0001_initial"),
    ("leads", "0002_leaner_indexes"),
    ("leads", "0003_sla_sweep_index_by_due_and_id"),
    ("routing", "0001_initial"),
    ("routing", "0002_leaner_indexes"),
}


def test_new_index_changes_on_big_tables_are_concurrent() -> None:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    offenders = []
    for (app, name), migration in loader.disk_migrations.items():
        if (app, name) in BASELINE:
            continue
        for operation in migration.operations:
            if not isinstance(operation, AddIndex | RemoveIndex):
                continue
            if (app, operation.model_name.lower()) not in BIG_TABLES:
                continue
            concurrent = isinstance(operation, AddIndexConcurrently | RemoveIndexConcurrently)
            if not concurrent or migration.atomic:
                offenders.append(f"{app}.{name}: {operation.describe()}")
    assert offenders == []


def _state_with_lead() -> ProjectState:
    loader = MigrationLoader(connection)
    return loader.project_state()


@pytest.mark.django_db(transaction=True)
def test_the_index_is_built_and_dropped_on_every_database() -> None:
    index = models.Index(fields=["company_size"], name="lead_test_concurrent_idx")
    add = AddIndexConcurrently("lead", index)
    before = _state_with_lead()
    after = before.clone()
    add.state_forwards("leads", after)

    def names() -> set[str]:
        with connection.cursor() as cursor:
            return set(connection.introspection.get_constraints(cursor, "leads_lead"))

    with connection.schema_editor(atomic=False) as editor:
        add.database_forwards("leads", editor, before, after)
    assert "lead_test_concurrent_idx" in names()
    with connection.schema_editor(atomic=False) as editor:
        add.database_backwards("leads", editor, after, before)
    assert "lead_test_concurrent_idx" not in names()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_builds_concurrently_and_replaces_an_invalid_leftover() -> None:
    index = models.Index(fields=["company_size"], name="lead_test_concurrent_idx")
    add = AddIndexConcurrently("lead", index)
    before = _state_with_lead()
    after = before.clone()
    add.state_forwards("leads", after)
    with connection.schema_editor(atomic=False, collect_sql=True) as editor:
        add.database_forwards("leads", editor, before, after)
    assert any("CREATE INDEX CONCURRENTLY" in sql for sql in editor.collected_sql)

    # A build that failed half-way: the index exists but is INVALID.
    with connection.cursor() as cursor:
        cursor.execute('CREATE INDEX "lead_test_concurrent_idx" ON "leads_lead" ("company_size")')
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false WHERE indexrelid = "
            "'lead_test_concurrent_idx'::regclass"
        )
    with connection.schema_editor(atomic=False) as editor:
        add.database_forwards("leads", editor, before, after)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = "
            "'lead_test_concurrent_idx'::regclass"
        )
        assert cursor.fetchone() == (True,)
    with connection.schema_editor(atomic=False) as editor:
        add.database_backwards("leads", editor, after, before)
