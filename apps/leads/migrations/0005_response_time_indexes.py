"""The response-time dashboard's three covering indexes (see Lead.Meta; the third replaces
lead_created_idx), built without locking the leads
against writes on PostgreSQL (CREATE INDEX CONCURRENTLY, hence a non-atomic migration)."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

import apps.core.db


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """CONCURRENTLY on PostgreSQL; a plain CREATE INDEX on the other databases."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_forwards(
                self, app_label, schema_editor, from_state, to_state
            )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_backwards(
                self, app_label, schema_editor, from_state, to_state
            )


class RemoveIndexConcurrentlyOnPostgres(RemoveIndexConcurrently):
    """CONCURRENTLY on PostgreSQL; a plain DROP INDEX on the other databases."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.RemoveIndex.database_forwards(
                self, app_label, schema_editor, from_state, to_state
            )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.RemoveIndex.database_backwards(
                self, app_label, schema_editor, from_state, to_state
            )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("leads", "0004_lead_submitted_by_scopes_external_id"),
    ]

    operations = [
        # The plain created_at index gives way to one that also covers each day's figures.
        AddIndexConcurrentlyOnPostgres(
            model_name="lead",
            index=models.Index(
                fields=["created_at"],
                include=("first_contacted_at", "sla_due_at", "owner"),
                name="lead_created_covering_idx",
            ),
        ),
        RemoveIndexConcurrentlyOnPostgres(model_name="lead", name="lead_created_idx"),
        AddIndexConcurrentlyOnPostgres(
            model_name="lead",
            index=models.Index(
                apps.core.db.Seconds(models.F("first_contacted_at"), models.F("created_at")),
                include=("created_at", "first_contacted_at", "sla_due_at", "owner"),
                name="lead_response_secs_idx",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="lead",
            index=models.Index(
                models.F("owner"),
                apps.core.db.Seconds(models.F("first_contacted_at"), models.F("created_at")),
                include=("created_at", "first_contacted_at", "sla_due_at"),
                name="lead_owner_response_secs_idx",
            ),
        ),
    ]
