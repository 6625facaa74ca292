"""The response-time dashboard counts each owner's leads of a window by bucket with one index
range per owner: the owner's (owner, created_at) index gains the bucket as a third key and the
columns the counts read, so it serves the rep's queue as before and those counts index-only,
whatever the length of the history. Built (and the old one dropped) without locking the leads
against writes on PostgreSQL (CONCURRENTLY, hence a non-atomic migration)."""

from django.db import migrations, models

import apps.core.db
from apps.core.migration_operations import AddIndexConcurrently, RemoveIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("leads", "0011_lead_id_created_index"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="lead",
            index=models.Index(
                models.F("owner"),
                models.F("created_at"),
                apps.core.db.ResponseBucket(
                    apps.core.db.Seconds(models.F("first_contacted_at"), models.F("created_at"))
                ),
                include=("first_contacted_at", "sla_due_at"),
                name="lead_owner_created_bucket_idx",
            ),
        ),
        RemoveIndexConcurrently(model_name="lead", name="lead_owner_created_idx"),
    ]
