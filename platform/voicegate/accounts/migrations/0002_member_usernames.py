"""Usernames become unique per organisation: each member's Django username gets its organisation's id.

"ann" of an organisation is stored as "ann@<organisation id, 32 hex digits>" (see voicegate.accounts.models);
people keep seeing and typing "ann", now with their organisation at sign-in. Passwords, API tokens and the
audit trail (which names actors by the name people see) are unchanged. Accounts outside any organisation
keep their username.
"""
import re

from django.conf import settings
from django.db import migrations

SUFFIX = re.compile(r"@[0-9a-f]{32}\Z")


def namespace_member_usernames(apps, schema_editor):
    Membership = apps.get_model("accounts", "Membership")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    limit = User._meta.get_field("username").max_length
    for membership in Membership.objects.select_related("user"):
        user = membership.user
        name = SUFFIX.sub("", user.username)
        stored = f"{name}@{membership.organisation_id.hex}"
        if user.username == stored:
            continue
        if len(stored) > limit:
            raise RuntimeError(f"the username {user.username!r} is too long to be kept per organisation: rename it to "
                               f"at most {limit - 33} characters (manage.py shell) and migrate again")
        user.username = stored
        user.save(update_fields=["username"])


def plain_member_usernames(apps, schema_editor):
    Membership = apps.get_model("accounts", "Membership")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    for membership in Membership.objects.select_related("user"):
        user = membership.user
        name = SUFFIX.sub("", user.username)
        if name == user.username:
            continue
        if User.objects.filter(username=name).exists():
            raise RuntimeError(f"two accounts would be called {name!r} with global usernames: rename one first")
        user.username = name
        user.save(update_fields=["username"])


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(namespace_member_usernames, plain_member_usernames)]
