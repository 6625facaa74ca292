"""The response-time dashboard counts leads by response-time bucket (apps.core.db.ResponseBucket)
instead of sorting them by their response time: two indexes that hold the bucket (per owner) and
its group (by time) replace the two that held the seconds. Built (and the old ones dropped)
without locking the leads against writes on PostgreSQL (CONCURRENTLY, hence a non-atomic
migration)."""

from django.db import migrations, models

import apps.core.db
from apps.core.migration_operations import AddIndexConcurrently, RemoveIndexConcurrently


def _bucket() -> apps.core.db.ResponseBucket:
    return apps.core.db.ResponseBucket(
        apps.core.db.Seconds(models.F("first_contacted_at"), models.F("created_at"))
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("leads", "0006_lead_import"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="lead",
            index=models.Index(
                models.F("owner"),
                _bucket(),
                include=("created_at", "first_contacted_at", "sla_due_at"),
                name="lead_owner_bucket_idx",
            ),
        ),
        AddIndexConcurrently(
            model_name="lead",
            index=models.Index(
                apps.core.db.ResponseBucketGroup(_bucket()),
                models.F("created_at"),
                include=("first_contacted_at",),
                name="lead_bucket_group_created_idx",
            ),
        ),
        RemoveIndexConcurrently(model_name="lead", name="lead_response_secs_idx"),
        RemoveIndexConcurrently(model_name="lead", name="lead_owner_response_secs_idx"),
    ]
