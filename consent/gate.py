"""The consent gate: may this user synthesize this voice, in this language, for this use?

:func:`assert_can_synthesize` is called by every path that produces audio in an enrolled voice
(API, web UI, commands, the synthesis job itself). It only reads, so selectors can use it to
say which voices are usable; it raises :class:`ConsentRefused` whose message says exactly why not.
"""
from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from consent.models import ConsentRecord, ConsentStatus, Voice
from voicegate.accounts.selectors import membership_of
from voicegate.errors import PermissionDenied


class ConsentRefused(PermissionDenied):
    """The gate's answer: the message says exactly why; ``reason`` is a stable code."""

    code = "consent_refused"

    def __init__(self, message: str, *, reason: str, voice: Voice | None = None,
                 consent: ConsentRecord | None = None):
        details = {"reason": reason}
        if voice is not None:
            details["voice_id"] = str(voice.pk)
        if consent is not None:
            details["consent_id"] = str(consent.pk)
        super().__init__(message, details=details)
        self.reason = reason
        self.voice = voice
        self.consent = consent


def _covers_language(scope: list[str], language: str) -> bool:
    # "en" covers "en-gb"; "zh" does not cover "yue" (Cantonese is its own language code).
    base = language.split("-")[0]
    return language in scope or base in scope


def _day(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d")


def assert_can_synthesize(voice: Voice, user, language: str, use: str = "narration") -> ConsentRecord:
    """The consent that allows ``user`` to synthesize ``voice`` in ``language`` for ``use``.

    Raises ConsentRefused whose message says exactly why not. Every path that produces audio
    in an enrolled voice (API, web UI, commands, the synthesis job itself) calls this.
    """
    membership = membership_of(user)
    if membership is None or membership.organisation_id != voice.organisation_id:
        raise ConsentRefused("this voice belongs to another organisation", reason="other_organisation", voice=voice)
    if voice.is_erased:
        raise ConsentRefused(f"voice {voice.name!r} was erased on {_day(voice.erased_at)}", reason="erased",
                             voice=voice)
    language = (language or "").strip().lower()
    use = (use or "").strip().lower()
    if not language or language == "auto":
        raise ConsentRefused("name the language to synthesize in; consent is given per language",
                             reason="language_not_in_scope", voice=voice)
    now = timezone.now()
    records = list(ConsentRecord.objects.filter(voice=voice).order_by("-created_at"))
    if not records:
        raise ConsentRefused(f"voice {voice.name!r} has no consent record", reason="no_consent", voice=voice)
    usable = [r for r in records if r.status == ConsentStatus.VERIFIED and r.valid_from <= now
              and not r.is_expired(now) and r.revoked_at is None]
    for record in usable:
        if _covers_language(record.languages, language) and use in record.uses:
            return record
    if usable:
        in_language = [r for r in usable if _covers_language(r.languages, language)]
        if not in_language:
            scope = sorted({code for r in usable for code in r.languages})
            raise ConsentRefused(f"language {language!r} is not in the consent's scope ({', '.join(scope)})",
                                 reason="language_not_in_scope", voice=voice, consent=usable[0])
        scope = sorted({u for r in in_language for u in r.uses})
        raise ConsentRefused(f"use {use!r} is not in the consent's scope ({', '.join(scope)})",
                             reason="use_not_in_scope", voice=voice, consent=in_language[0])
    raise _refusal_for(records[0], voice, now)


def _refusal_for(record: ConsentRecord, voice: Voice, now: datetime) -> ConsentRefused:
    """Why the most recent consent record does not allow synthesis."""
    name = voice.name
    if record.status == ConsentStatus.REVOKED:
        return ConsentRefused(f"consent for voice {name!r} was revoked on {_day(record.revoked_at)}",
                              reason="revoked", voice=voice, consent=record)
    if record.status == ConsentStatus.EXPIRED or (record.status == ConsentStatus.VERIFIED and record.is_expired(now)):
        return ConsentRefused(f"consent for voice {name!r} expired on {_day(record.expires_at)}",
                              reason="expired", voice=voice, consent=record)
    if record.status == ConsentStatus.REJECTED:
        return ConsentRefused(f"the consent statement for voice {name!r} was rejected ({record.reason}); "
                              "record a new statement", reason="rejected", voice=voice, consent=record)
    if record.status == ConsentStatus.CONTENT_UNVERIFIED:
        return ConsentRefused(f"consent for voice {name!r} is pending: an admin must approve the statement "
                              "(its content could not be checked automatically)", reason="pending",
                              voice=voice, consent=record)
    if record.status == ConsentStatus.PENDING:
        return ConsentRefused(f"consent for voice {name!r} is pending verification", reason="pending",
                              voice=voice, consent=record)
    return ConsentRefused(f"consent for voice {name!r} is valid only from {_day(record.valid_from)}",
                          reason="not_yet_valid", voice=voice, consent=record)
