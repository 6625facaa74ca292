"""RoutingConfigVersion moves here from the routing app: same rows, table renamed.

The state takes the model over from `routing` (its table `routing_routingconfigversion`), then
the table takes this app's name; the content type follows, so permissions granted on it keep
pointing at it.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def content_type_move(apps, schema_editor, old="routing", new="configuration"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if ContentType.objects.filter(app_label=new, model="routingconfigversion").exists():
        return
    ContentType.objects.filter(app_label=old, model="routingconfigversion").update(app_label=new)


def content_type_back(apps, schema_editor):
    content_type_move(apps, schema_editor, old="configuration", new="routing")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("routing", "0004_config_state_last_good"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RoutingConfigVersion",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("number", models.PositiveIntegerField(unique=True)),
                        ("document", models.JSONField()),
                        ("source", models.CharField(choices=[("api", "API"), ("admin", "Admin"), ("import", "Import"), ("reorder", "Reorder"), ("seed", "Demo seed"), ("system", "System")], default="system", max_length=16)),
                        ("summary", models.CharField(blank=True, max_length=500)),
                        ("note", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ("author", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="routing_config_versions", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "ordering": ["-number"],
                        "get_latest_by": "number",
                        "db_table": "routing_routingconfigversion",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="routingconfigversion", table=None),
        migrations.RunPython(content_type_move, content_type_back),
    ]
