"""The gate refuses with the exact reason in every state, and allows only a covering, live consent."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from consent import services
from consent.models import ConsentRecord, ConsentStatus, Voice, VoiceOwner
from consent.gate import ConsentRefused, assert_can_synthesize


@pytest.fixture
def bare_voice(tenant):
    # The gate reads records only; no audio is needed to exercise its states.
    owner = VoiceOwner.objects.create(organisation=tenant.organisation, name="Ana")
    return Voice.objects.create(organisation=tenant.organisation, name="Ana", owner=owner)


def consent(voice, status=ConsentStatus.VERIFIED, **fields):
    values = {"languages": ["zh", "en"], "uses": ["narration"], "statement_text": "..."} | fields
    return ConsentRecord.objects.create(organisation=voice.organisation, voice=voice, owner=voice.owner,
                                        status=status, **values)


def refusal(voice, user, language="en", use="narration") -> ConsentRefused:
    with pytest.raises(ConsentRefused) as caught:
        assert_can_synthesize(voice, user, language, use)
    assert caught.value.status_code == 403
    return caught.value


def test_verified_consent_in_scope_allows_synthesis(tenant, bare_voice):
    record = consent(bare_voice)
    assert assert_can_synthesize(bare_voice, tenant.producer.user, "zh") == record
    assert assert_can_synthesize(bare_voice, tenant.producer.user, "en-GB") == record


def test_no_consent(tenant, bare_voice):
    refused = refusal(bare_voice, tenant.producer.user)
    assert refused.reason == "no_consent" and "has no consent record" in refused.message


@pytest.mark.parametrize("status,reason,words", [
    (ConsentStatus.PENDING, "pending", "pending verification"),
    (ConsentStatus.CONTENT_UNVERIFIED, "pending", "an admin must approve"),
])
def test_pending_states(tenant, bare_voice, status, reason, words):
    consent(bare_voice, status)
    refused = refusal(bare_voice, tenant.producer.user)
    assert refused.reason == reason and words in refused.message


def test_rejected_says_why(tenant, bare_voice):
    consent(bare_voice, ConsentStatus.REJECTED, reason="speaker similarity 0.51")
    refused = refusal(bare_voice, tenant.producer.user)
    assert refused.reason == "rejected" and "speaker similarity 0.51" in refused.message


def test_expired_names_the_date(tenant, bare_voice):
    expired = timezone.now() - timedelta(days=3)
    consent(bare_voice, expires_at=expired)
    refused = refusal(bare_voice, tenant.producer.user)
    assert refused.reason == "expired" and f"expired on {expired:%Y-%m-%d}" in refused.message


def test_revoked_names_the_date(tenant, bare_voice):
    record = consent(bare_voice)
    services.revoke_consent(record, actor=tenant.admin.user, reason="owner withdrew")
    refused = refusal(bare_voice, tenant.producer.user)
    assert refused.reason == "revoked" and f"revoked on {timezone.now():%Y-%m-%d}" in refused.message


def test_not_yet_valid(tenant, bare_voice):
    consent(bare_voice, valid_from=timezone.now() + timedelta(days=2))
    assert refusal(bare_voice, tenant.producer.user).reason == "not_yet_valid"


def test_language_outside_scope(tenant, bare_voice):
    consent(bare_voice)
    refused = refusal(bare_voice, tenant.producer.user, language="ja")
    assert refused.reason == "language_not_in_scope"
    assert refused.message == "language 'ja' is not in the consent's scope (en, zh)"
    assert refusal(bare_voice, tenant.producer.user, language="yue").reason == "language_not_in_scope"


def test_use_outside_scope(tenant, bare_voice):
    consent(bare_voice)
    refused = refusal(bare_voice, tenant.producer.user, use="advertising")
    assert refused.reason == "use_not_in_scope" and "'advertising' is not in the consent's scope (narration)" \
        in refused.message


def test_other_organisation_is_refused(tenant, other_tenant, bare_voice):
    consent(bare_voice)
    refused = refusal(bare_voice, other_tenant.admin.user)
    assert refused.reason == "other_organisation" and "another organisation" in refused.message


def test_a_second_consent_can_widen_the_scope(tenant, bare_voice):
    consent(bare_voice)
    wider = consent(bare_voice, languages=["ja"], uses=["narration", "dubbing"])
    assert assert_can_synthesize(bare_voice, tenant.producer.user, "ja", "dubbing") == wider


def test_refusal_reaches_the_api_as_403_json(tenant, bare_voice):
    from voicegate.errors import api_exception_handler

    response = api_exception_handler(refusal(bare_voice, tenant.producer.user), {})
    assert response.status_code == 403
    assert response.data["code"] == "consent_refused" and response.data["details"]["reason"] == "no_consent"
