"""The operator command contract: --json, one object on stdout, non-zero exit with {"error"}."""
from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from voicegate.accounts.models import Membership, Organisation
from voicegate.accounts.selectors import member_named
from voicegate.accounts.services import authenticate_token


def run_json(capsys, *args):
    try:
        call_command(*args, "--json")
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(capsys.readouterr().out)


def test_org_create_prints_org_admin_and_working_token(db, capsys):
    code, out = run_json(capsys, "org_create", "Newsroom", "--admin", "editor")
    assert code == 0 and set(out) == {"org_id", "admin", "api_token"}
    org = Organisation.objects.get(pk=out["org_id"])
    assert member_named(org, "editor").role == "admin" and out["admin"] == "editor"
    assert authenticate_token(out["api_token"]).user == member_named(org, "editor").user


def test_org_create_twice_is_an_error_and_changes_nothing(db, capsys):
    run_json(capsys, "org_create", "Newsroom", "--admin", "editor")
    code, out = run_json(capsys, "org_create", "Newsroom", "--admin", "someone-else")
    assert code != 0 and "already exists" in out["error"]
    assert Organisation.objects.count() == 1 and Membership.objects.count() == 1


@pytest.mark.parametrize("args,message", [(("", "--admin", "x"), "name"), (("Org", "--admin", " "), "admin")])
def test_org_create_rejects_blank_values(db, capsys, args, message):
    code, out = run_json(capsys, "org_create", *args)
    assert code != 0 and message in out["error"]
