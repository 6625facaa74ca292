"""The conversion dashboard counts a window's leads and its converted leads in one pass
(apps/dashboards/grouping.py), so the index it reads holds the status too, and the partial
index of converted leads beside it goes: one index fewer for every lead write. Built (and the
old ones dropped) without locking the leads against writes on PostgreSQL (CONCURRENTLY, hence
a non-atomic migration)."""

from django.db import migrations, models

from apps.core.migration_operations import AddIndexConcurrently, RemoveIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("leads", "0014_lead_source_upper_index"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="lead",
            index=models.Index(
                fields=["created_at"],
                include=("owner", "territory", "lead_source", "status"),
                name="lead_created_groups_idx",
            ),
        ),
        RemoveIndexConcurrently(model_name="lead", name="lead_created_grouping_idx"),
        RemoveIndexConcurrently(model_name="lead", name="lead_converted_grouping_idx"),
    ]
