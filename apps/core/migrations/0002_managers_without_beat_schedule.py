"""Managers no longer hold django-celery-beat's permissions: the periodic-task schedule is the
system's own, edited by superusers only (the admin hides it from managers too)."""

from django.db import migrations

GROUP = "RevOps managers"


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="django_celery_beat")
        )


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=GROUP).first()
    if group is not None:
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="django_celery_beat",
                codename__regex=r"^(change|view)_",
            )
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_revops_managers_group")]

    operations = [migrations.RunPython(revoke, grant)]
