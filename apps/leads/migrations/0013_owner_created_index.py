"""The response-time dashboard reads counts maintained as leads are written
(apps/dashboards/tally.py) instead of counting each owner's leads of a window by bucket, so the
owner's (owner, created_at) index loses the bucket and the columns those counts read and serves
the rep's queue alone again: a narrower index for every lead write to maintain. Built (and the
old one dropped) without locking the leads against writes on PostgreSQL (CONCURRENTLY, hence a
non-atomic migration)."""

from django.db import migrations, models

from apps.core.migration_operations import AddIndexConcurrently, RemoveIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("leads", "0012_owner_created_bucket_index"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="lead",
            index=models.Index(fields=["owner", "created_at"], name="lead_owner_created_idx"),
        ),
        RemoveIndexConcurrently(model_name="lead", name="lead_owner_created_bucket_idx"),
    ]
