"""The transactional outbox moves here from notifications: its producer owns it.

Same rows: the state takes the model over (table `notifications_outboxmessage`), then the
table takes this app's name and the content type follows.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def content_type_move(apps, schema_editor, old="notifications", new="routing"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if ContentType.objects.filter(app_label=new, model="outboxmessage").exists():
        return
    ContentType.objects.filter(app_label=old, model="outboxmessage").update(app_label=new)


def content_type_back(apps, schema_editor):
    content_type_move(apps, schema_editor, old="routing", new="notifications")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("leads", "0004_lead_submitted_by_scopes_external_id"),
        ("reps", "0004_time_off_reason_codes"),
        ("routing", "0005_config_version_moves_to_configuration"),
        ("notifications", "0002_outbox_and_delivery_schedule"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="OutboxMessage",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(choices=[("assigned_mail", "New lead mail to the rep"), ("taken_away_mail", "Lead taken away mail to the previous rep"), ("assignment_event", "lead.assigned / lead.reassigned webhook event"), ("reminder_mail", "SLA reminder mail to the owner"), ("reminder_event", "lead.sla_reminder webhook event"), ("escalation_mail", "Escalation mail to managers"), ("escalation_event", "lead.escalated webhook event")], max_length=24)),
                        ("occurred_at", models.DateTimeField()),
                        ("status", models.CharField(choices=[("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed (gave up)")], default="pending", max_length=16)),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("next_attempt_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("last_error", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        ("assignment", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="outbox", to="routing.assignment")),
                        ("lead", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="outbox", to="leads.lead")),
                        ("rep", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="outbox", to="reps.rep")),
                    ],
                    options={
                        "verbose_name": "outbox message",
                        "ordering": ["-id"],
                        "db_table": "notifications_outboxmessage",
                        "indexes": [models.Index(condition=models.Q(("status", "pending")), fields=["next_attempt_at", "id"], name="outbox_due_idx")],
                        "constraints": [
                            models.UniqueConstraint(condition=models.Q(("assignment__isnull", False)), fields=("assignment", "kind"), name="outbox_one_per_assignment_kind"),
                            models.UniqueConstraint(condition=models.Q(("assignment__isnull", True)), fields=("lead", "kind", "occurred_at"), name="outbox_one_per_lead_kind_time"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="outboxmessage", table=None),
        migrations.RunPython(content_type_move, content_type_back),
    ]
