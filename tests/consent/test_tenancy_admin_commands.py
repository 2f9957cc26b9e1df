"""Cross-organisation isolation and roles on every endpoint; the admin dashboard; command contracts."""
from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from consent.models import ConsentRecord, ConsentStatus, ProtectedVoice, StatementChallenge, VoiceOwner
from voicegate.audit.models import AuditEntry


@pytest.fixture
def records(tenant, voice):
    challenge = StatementChallenge.objects.create(voice=voice, owner=voice.owner, text="...", phrase="123456",
                                                  languages=["en"], uses=["narration"],
                                                  expires_at="2999-01-01T00:00:00Z")
    consent = ConsentRecord.objects.create(organisation=voice.organisation, voice=voice, owner=voice.owner,
                                           challenge=challenge, status=ConsentStatus.CONTENT_UNVERIFIED,
                                           statement_text="...", languages=["en"], uses=["narration"])
    protected = ProtectedVoice.objects.create(organisation=tenant.organisation, name="Anchor", reason="r",
                                              embeddings=[voice.embedding])
    return {"voice": voice, "consent": consent, "owner": voice.owner, "protected": protected}


def test_other_organisation_gets_404_everywhere_and_sees_nothing(tenant, other_tenant, records):
    them = other_tenant.admin.client
    v, c, o, p = (records[k].pk for k in ("voice", "consent", "owner", "protected"))
    for method, url in [("get", f"/api/v1/voices/{v}/"), ("delete", f"/api/v1/voices/{v}/"),
                        ("get", f"/api/v1/voices/{v}/statement/"), ("post", f"/api/v1/voices/{v}/statement/"),
                        ("get", f"/api/v1/consents/{c}/"), ("post", f"/api/v1/consents/{c}/revoke/"),
                        ("post", f"/api/v1/consents/{c}/approve/"), ("get", f"/api/v1/owners/{o}/"),
                        ("patch", f"/api/v1/owners/{o}/"), ("delete", f"/api/v1/owners/{o}/"),
                        ("get", f"/api/v1/protected-voices/{p}/"), ("delete", f"/api/v1/protected-voices/{p}/")]:
        response = getattr(them, method)(url, {"reason": "x"} if "revoke" in url else {}, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
    for url in ("/api/v1/voices/", "/api/v1/consents/", "/api/v1/owners/", "/api/v1/protected-voices/"):
        assert them.get(url).json()["results"] == [], url
    granted = them.post("/api/v1/consents/", {"voice": str(v), "challenge": str(records["consent"].challenge_id)},
                        format="multipart")
    assert granted.status_code in (400, 404)
    assert ConsentRecord.objects.count() == 1 and records["voice"].status == "enrolled"


@pytest.mark.parametrize("url,allowed", [
    ("/api/v1/voices/", {"admin", "producer"}), ("/api/v1/consents/", {"admin", "producer"}),
    ("/api/v1/owners/", {"admin", "producer"}), ("/api/v1/protected-voices/", {"admin"})])
def test_roles(tenant, url, allowed):
    for role in ("admin", "producer", "moderator"):
        status = tenant.member(role).client.get(url).status_code
        assert status == (200 if role in allowed else 403), (url, role, status)


def test_owner_crud_is_audited(tenant):
    client = tenant.producer.client
    created = client.post("/api/v1/owners/", {"name": "Mei", "contact": "mei@example.org"}, format="json")
    assert created.status_code == 201
    owner_id = created.json()["id"]
    assert client.patch(f"/api/v1/owners/{owner_id}/", {"notes": "prefers zh"}, format="json").status_code == 200
    assert client.post("/api/v1/owners/", {"name": "Mei"}, format="json").status_code == 409
    assert client.delete(f"/api/v1/owners/{owner_id}/").status_code == 204
    assert [e.action for e in AuditEntry.objects.filter(target_id=owner_id).order_by("seq")] == [
        "voice_owner.created", "voice_owner.updated", "voice_owner.deleted"]


# ---- the Django admin --------------------------------------------------------------------

def test_admin_approve_action_is_audited(tenant, dashboard, records):
    consent = records["consent"]
    response = dashboard.post("/admin/consent/consentrecord/", {"action": "approve_selected",
                                                                "_selected_action": [str(consent.pk)]})
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.status == "verified" and consent.approved_by == tenant.admin.user
    assert AuditEntry.objects.get(action="consent.approved").actor_name == tenant.admin.username


def test_admin_revoke_action_is_audited_and_signals(tenant, dashboard, records):
    from consent import signals

    received = []
    signals.consent_revoked.connect(lambda sender, voice, consent, **kw: received.append(consent.pk), weak=False,
                                    dispatch_uid="admin-revoke")
    try:
        dashboard.post("/admin/consent/consentrecord/", {"action": "revoke_selected",
                                                         "_selected_action": [str(records["consent"].pk)]})
    finally:
        signals.consent_revoked.disconnect(dispatch_uid="admin-revoke")
    assert received == [records["consent"].pk]
    entry = AuditEntry.objects.get(action="consent.revoked")
    assert entry.actor_name == tenant.admin.username and "dashboard" in entry.details["reason"]


def test_dashboard_pages_show_players_filters_and_audit(dashboard, records):
    voice = records["voice"]
    page = dashboard.get(f"/admin/consent/voice/{voice.pk}/change/").content.decode()
    assert "<audio" in page and "Quality report" in page and "voice.enrolled" in page
    clip = voice.references.first()
    audio = dashboard.get(f"/admin/consent/voice/{voice.pk}/audio/reference/{clip.pk}/")
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/x-wav"
    assert b"".join(audio.streaming_content)[:4] == b"RIFF"
    listing = dashboard.get("/admin/consent/consentrecord/?expiring=30d&status=verified")
    assert listing.status_code == 200
    assert Client().get(f"/admin/consent/voice/{voice.pk}/audio/reference/{clip.pk}/").status_code == 302
    for url in ("/admin/consent/voiceowner/", "/admin/consent/protectedvoice/",
                f"/admin/consent/consentrecord/{records['consent'].pk}/change/"):
        assert dashboard.get(url).status_code == 200, url


# ---- commands ----------------------------------------------------------------------------

def run(*args) -> tuple[int, dict]:
    out = StringIO()
    try:
        call_command(*args, "--json", stdout=out, stderr=StringIO())
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, json.loads(out.getvalue())


def test_command_contracts(tenant, tmp_path, reference_wavs, owner_statement_wav, fixed_phrase):
    paths = []
    for number, data in enumerate(reference_wavs):
        paths.append(tmp_path / f"ref{number}.wav")
        paths[-1].write_bytes(data)
    code, added = run("voice_add", "--org", tenant.organisation.name, "--name", "Joe", "--reference", str(paths[0]),
                      "--reference", str(paths[1]), "--owner", "Joe Example")
    assert code == 0 and set(added) == {"voice_id", "quality"} and len(added["quality"]["clips"]) == 2
    statement = tmp_path / "statement.wav"
    statement.write_bytes(owner_statement_wav)
    code, granted = run("consent_grant", "--voice", added["voice_id"], "--owner", "Joe Example",
                        "--statement-recording", str(statement), "--languages", "zh,en", "--expires", "2999-12-31")
    assert code == 0 and set(granted) == {"consent_id", "status", "speaker_similarity", "reason"}
    # The statement text was generated after the recording: content cannot be checked.
    assert granted["status"] == "content_unverified" and granted["speaker_similarity"] >= 0.72
    code, approved = run("consent_approve", "--consent", granted["consent_id"], "--admin",
                         tenant.admin.username)
    assert code == 0 and approved["status"] == "verified"
    code, revoked = run("consent_revoke", "--voice", added["voice_id"], "--reason", "owner asked")
    assert code == 0 and revoked["consent_id"] == granted["consent_id"] and revoked["status"] == "revoked"
    code, again = run("consent_revoke", "--voice", added["voice_id"], "--reason", "again")
    assert code == 1 and "no active consent" in again["error"]
    code, erased = run("voice_erase", "--voice", added["voice_id"])
    assert code == 0 and erased["status"] == "erased" and len(erased["deleted_files"]) == 3


@pytest.mark.parametrize("args,message", [
    (("voice_add", "--org", "Nobody Inc", "--name", "x", "--reference", "/nonexistent.wav"), "no organisation"),
    (("consent_grant", "--voice", "not-a-uuid", "--owner", "x", "--statement-recording", "/x.wav"), "no voice"),
    (("consent_revoke", "--voice", "00000000-0000-0000-0000-000000000000", "--reason", "x"), "no voice"),
])
def test_command_errors_exit_non_zero_with_json(tenant, args, message):
    code, body = run(*args)
    assert code == 1 and message in body["error"]


def test_voice_add_reports_a_missing_file(tenant):
    code, body = run("voice_add", "--org", str(tenant.organisation.pk), "--name", "x", "--reference", "/none.wav")
    assert code == 1 and body == {"error": "file not found: /none.wav"}
    assert not VoiceOwner.objects.exists()
