"""Create the `RevOps managers` group with the permissions a manager needs in the admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "RevOps managers"
# app label -> actions on every model of that app
GRANTS = {
    "territories": ("add", "change", "delete", "view"),
    "reps": ("add", "change", "delete", "view"),
    "accounts": ("add", "change", "delete", "view"),
    "rules": ("add", "change", "delete", "view"),
    "leads": ("add", "change", "view"),
    "routing": ("view",),
    "django_celery_beat": ("change", "view"),
}
EXTRA = [("auth", "user", ("add", "change", "view"))]


def create_group(apps, schema_editor):
    # Permissions are normally created after migrate; create them now so the group gets them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    wanted = []
    for label, actions in GRANTS.items():
        for perm in Permission.objects.filter(content_type__app_label=label):
            if perm.codename.split("_", 1)[0] in actions:
                wanted.append(perm)
    for label, model, actions in EXTRA:
        wanted.extend(
            Permission.objects.filter(
                content_type__app_label=label,
                content_type__model=model,
                codename__in=[f"{action}_{model}" for action in actions],
            )
        )
    group.permissions.add(*wanted)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("territories", "0001_initial"),
        ("reps", "0001_initial"),
        ("accounts", "0001_initial"),
        ("rules", "0001_initial"),
        ("leads", "0001_initial"),
        ("routing", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
