"""Chinese (zh-Hans) and English through Django i18n: complete catalogue, pages switch language."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def po_entries(text: str) -> list[tuple[str, str]]:
    """(msgid, msgstr) pairs; continuation lines joined; plural entries use msgstr[0]."""
    entries = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        fields: dict[str, str] = {}
        current = None
        for line in lines:
            match = re.match(r'(msgid|msgid_plural|msgstr|msgstr\[0\])\s+"(.*)"$', line)
            if match:
                current = match.group(1).replace("[0]", "")
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if fields.get("msgid"):
            entries.append((fields["msgid"], fields.get("msgstr", "")))
    return entries


def test_every_interface_string_has_a_chinese_translation_compiled():
    text = PO.read_text(encoding="utf-8")
    entries = po_entries(text)
    assert len(entries) > 200
    assert "#, fuzzy" not in text, "a fuzzy entry is not compiled: translate it again and drop the flag"
    untranslated = [msgid for msgid, msgstr in entries if not msgstr]
    assert not untranslated, untranslated
    assert PO.with_suffix(".mo").stat().st_mtime >= PO.stat().st_mtime - 1, "run msgfmt (see docs/ui.md)"
    for msgid, msgstr in entries:  # placeholders survive translation
        assert set(re.findall(r"%\(\w+\)[sd]|\{\w+\}", msgid)) == set(re.findall(r"%\(\w+\)[sd]|\{\w+\}", msgstr)), msgid


@pytest.mark.django_db
def test_pages_follow_the_chosen_language(tenant, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client = Client()
    client.force_login(tenant.producer.user)
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("web:studio")})
    assert response.status_code == 302
    page = client.get(reverse("web:studio")).content.decode()
    assert '<html lang="zh-hans">' in page and "工作室" in page and "声音与授权" in page
    refusal = client.get(reverse("web:audit")).content.decode()
    assert "审计日志需要审核员或管理员角色；你的角色是制作人" in refusal
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    english.force_login(tenant.producer.user)
    assert "Voices &amp; consent" in english.get(reverse("web:studio")).content.decode()
