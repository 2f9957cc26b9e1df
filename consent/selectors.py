"""Reads: which voices an organisation has, and which of them a user may synthesize."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.core.files.storage import default_storage
from django.db.models import Q, QuerySet
from django.utils import timezone

from consent.gate import ConsentRefused, assert_can_synthesize
from consent.models import (ConsentRecord, ConsentStatus, ProtectedVoice, StatementChallenge, Voice, VoiceOwner,
                            VoiceStatus)
from voicegate.audio import decode_audio


def voices_for(organisation) -> QuerySet[Voice]:
    """The organisation's voices that still exist (erased voices are kept only for the record)."""
    return (Voice.objects.filter(organisation=organisation).exclude(status=VoiceStatus.ERASED)
            .select_related("owner", "organisation").prefetch_related("references"))


def owners_for(organisation) -> QuerySet[VoiceOwner]:
    return VoiceOwner.objects.filter(organisation=organisation)


def consents_for(organisation) -> QuerySet[ConsentRecord]:
    return ConsentRecord.objects.filter(organisation=organisation).select_related("voice", "owner")


def protected_voices_for(organisation) -> QuerySet[ProtectedVoice]:
    """Protected voices that apply to the organisation: global ones and its own."""
    return ProtectedVoice.objects.filter(Q(organisation__isnull=True) | Q(organisation=organisation))


def challenges_for(organisation) -> QuerySet[StatementChallenge]:
    return StatementChallenge.objects.filter(voice__organisation=organisation)


def expiring_consents(organisation=None, *, within: timedelta = timedelta(days=30)) -> QuerySet[ConsentRecord]:
    now = timezone.now()
    queryset = ConsentRecord.objects.filter(status=ConsentStatus.VERIFIED, expires_at__gt=now,
                                            expires_at__lte=now + within)
    return queryset if organisation is None else queryset.filter(organisation=organisation)


@dataclass(frozen=True)
class VoiceUsability:
    voice: Voice
    usable: bool
    reason: str  # empty when usable
    languages: tuple[str, ...]  # covered by a usable consent
    uses: tuple[str, ...]


def usable_voices(organisation, user, *, language: str | None = None, use: str = "narration") -> list[VoiceUsability]:
    """Every voice of the organisation, with whether ``user`` may synthesize it and why not.

    Without ``language`` a voice counts as usable when any usable consent covers ``use``; the
    reason for an unusable one is the gate's own message.
    """
    result = []
    for voice in voices_for(organisation):
        records = [r for r in voice.consents.all() if r.status == ConsentStatus.VERIFIED and r.revoked_at is None
                   and not r.is_expired() and r.valid_from <= timezone.now()]
        languages = tuple(sorted({code for r in records for code in r.languages}))
        uses = tuple(sorted({u for r in records for u in r.uses}))
        try:
            assert_can_synthesize(voice, user, language or (languages[0] if languages else "en"), use)
        except ConsentRefused as refusal:
            result.append(VoiceUsability(voice, False, refusal.message, languages, uses))
        else:
            result.append(VoiceUsability(voice, True, "", languages, uses))
    return result


def reference_audio(voice: Voice) -> list[tuple[np.ndarray, int]]:
    """The voice's reference clips decoded from storage: [(samples, sample rate)]."""
    clips = []
    for clip in voice.references.all():
        if not clip.audio:
            continue
        with default_storage.open(clip.audio.name, "rb") as handle:
            decoded = decode_audio(handle.read())
        clips.append((decoded.samples, decoded.sample_rate))
    return clips
