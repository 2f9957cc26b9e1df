"""Shared set-up for benches that need a consented voice (not a bench itself)."""
from __future__ import annotations


def consented_voice(organisation, admin, name: str, owner: str):
    """(voice, consent record): a voice enrolled from a Piper reference with an approved consent, via the services."""
    from consent import services as consent_services
    from tests.speech import SENTENCES
    from tests.web.audio import reference_wav, spoken_wav

    voice = consent_services.enroll_voice(organisation, name=name, actor=admin,
                                          references=[consent_services.AudioUpload(reference_wav(), "ref.wav")],
                                          owner=consent_services.owner_named(organisation, owner, actor=admin))
    challenge = consent_services.issue_statement(voice, languages=["en"], uses=["narration"], actor=admin)
    record = consent_services.grant_consent(
        voice, statement=consent_services.AudioUpload(spoken_wav(SENTENCES[5]), "statement.wav"),
        challenge=challenge, actor=admin, content_checkable=False)
    consent_services.approve_consent(record, actor=admin)
    return voice, record
