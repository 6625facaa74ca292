"""Index builds that do not stop the big tables' writes: ``CREATE INDEX CONCURRENTLY`` on
PostgreSQL, a plain index elsewhere (SQLite, the embedded default).

A plain ``CREATE INDEX`` on ``leads_lead`` or ``routing_assignment`` holds a lock that blocks
every insert and update for the whole build: at a few million leads, minutes without intake or
routing. A migration that adds or drops an index on those tables uses these operations and sets
``atomic = False`` (PostgreSQL cannot build concurrently inside a transaction):

    class Migration(migrations.Migration):
        atomic = False
        operations = [AddIndexConcurrently("lead", models.Index(...))]

A concurrent build that fails half-way (a deadlock, a cancelled deploy) leaves an INVALID index
behind that PostgreSQL keeps updating but never uses; running the migration again drops that
leftover first and builds it anew. ``tests/test_migrations.py`` holds new migrations to this.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres import operations as postgres
from django.db.migrations.operations import AddIndex, RemoveIndex

__all__ = ["AddIndexConcurrently", "RemoveIndexConcurrently"]

_INVALID_INDEX = """
    SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE c.relname = %s AND NOT i.indisvalid
"""


class AddIndexConcurrently(postgres.AddIndexConcurrently):
    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)
            return
        self._ensure_not_in_transaction(schema_editor)
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(_INVALID_INDEX, [self.index.name])
            leftover = cursor.fetchone() is not None
        if leftover:
            schema_editor.execute(
                f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(self.index.name)}"
            )
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
            return
        super().database_backwards(app_label, schema_editor, from_state, to_state)


class RemoveIndexConcurrently(postgres.RemoveIndexConcurrently):
    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            RemoveIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)
            return
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            RemoveIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
            return
        super().database_backwards(app_label, schema_editor, from_state, to_state)
