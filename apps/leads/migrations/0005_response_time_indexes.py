"""The response-time dashboard's three covering indexes (see Lead.Meta; the third replaces
lead_created_idx), built without locking the leads
against writes on PostgreSQL (CREATE INDEX CONCURRENTLY, hence a non-atomic migration)."""

from django.db import migrations, models

import apps.core.db
from apps.core.migration_operations import AddIndexConcurrently, RemoveIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("leads", "0004_lead_submitted_by_scopes_external_id"),
    ]

    operations = [
        # The plain created_at index gives way to one that also covers each day's figures.
        AddIndexConcurrently(
            model_name="lead",
            index=models.Index(
                fields=["created_at"],
                include=("first_contacted_at", "sla_due_at", "owner"),
                name="lead_created_covering_idx",
            ),
        ),
        RemoveIndexConcurrently(model_name="lead", name="lead_created_idx"),
        AddIndexConcurrently(
            model_name="lead",
            index=models.Index(
                apps.core.db.Seconds(models.F("first_contacted_at"), models.F("created_at")),
                include=("created_at", "first_contacted_at", "sla_due_at", "owner"),
                name="lead_response_secs_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="lead",
            index=models.Index(
                models.F("owner"),
                apps.core.db.Seconds(models.F("first_contacted_at"), models.F("created_at")),
                include=("created_at", "first_contacted_at", "sla_due_at"),
                name="lead_owner_response_secs_idx",
            ),
        ),
    ]
