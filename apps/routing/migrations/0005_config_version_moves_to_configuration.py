"""RoutingConfigVersion now belongs to the configuration app (state only: no table changes here)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0004_config_state_last_good"),
        ("configuration", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="assignment",
                    name="config_version",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="assignments", to="configuration.routingconfigversion"),
                ),
                migrations.DeleteModel(name="RoutingConfigVersion"),
            ],
            database_operations=[],
        ),
    ]
