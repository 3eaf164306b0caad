"""The four roles as groups with model permissions. Users come from seed_demo or
the admin, never from a migration."""

from django.db import migrations

ROLE_PERMISSIONS = {
    "marketer": {
        "view": ["lead", "stagetransition", "deal", "activity", "engagementevent", "salesalert", "leadmerge"],
        "change": ["lead"],
        "add": ["lead"],
    },
    "sales_rep": {
        "view": ["lead", "stagetransition", "deal", "activity", "engagementevent", "salesalert"],
        "change": ["lead", "deal", "salesalert"],
        "add": ["activity", "deal"],
    },
    "sales_manager": {
        "view": ["lead", "stagetransition", "deal", "activity", "engagementevent", "salesalert", "leadmerge"],
        "change": ["lead", "deal", "salesalert", "activity"],
        "add": ["activity", "deal", "lead"],
    },
}


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, actions in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        codenames = [f"{action}_{model}" for action, models in actions.items() for model in models]
        group.permissions.set(Permission.objects.filter(codename__in=codenames))
    Group.objects.get_or_create(name="admin")


def drop_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[*ROLE_PERMISSIONS, "admin"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("leads", "0001_initial"),
        ("events", "0001_initial"),
        ("sales", "0001_initial"),
    ]
    operations = [migrations.RunPython(create_roles, drop_roles)]
