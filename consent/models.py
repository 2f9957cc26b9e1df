"""Voice owners, their voices, consent records and protected voices.

Models hold data and invariants; every workflow (enrollment, grant, approval, revocation,
erasure) lives in consent.services and every rule about who may synthesize in
``consent.gate.assert_can_synthesize``.
"""
from __future__ import annotations

import uuid

import numpy as np
from django.conf import settings
from django.db import models
from django.utils import timezone

from voicegate.accounts.models import Organisation


class VoiceOwner(models.Model):
    """The person whose voice it is."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="voice_owners")
    name = models.CharField(max_length=200)
    contact = models.CharField(max_length=300, blank=True, help_text="E-mail, phone or postal address.")
    notes = models.TextField(blank=True)
    identity_document_ref = models.CharField(
        max_length=200, blank=True,
        help_text="A reference to the identity document that was checked (never the document itself).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="owner_name_unique_in_org")]

    def __str__(self) -> str:
        return self.name


class VoiceStatus(models.TextChoices):
    ENROLLED = "enrolled", "Enrolled"
    ERASED = "erased", "Erased"


def reference_upload_to(instance: "ReferenceClip", filename: str) -> str:
    return f"consent/references/{instance.voice_id}/{instance.id}{_suffix(filename)}"


def statement_upload_to(instance: "ConsentRecord", filename: str) -> str:
    return f"consent/statements/{instance.voice_id}/{instance.id}{_suffix(filename)}"


def _suffix(filename: str) -> str:
    dot = filename.rfind(".")
    suffix = filename[dot:].lower() if dot >= 0 else ""
    return suffix if suffix[1:].isalnum() and len(suffix) <= 6 else ".bin"


class Voice(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="voices")
    name = models.CharField(max_length=200, help_text="Display name.")
    owner = models.ForeignKey(VoiceOwner, on_delete=models.PROTECT, related_name="voices", null=True, blank=True)
    status = models.CharField(max_length=16, choices=VoiceStatus.choices, default=VoiceStatus.ENROLLED)
    # Mean of the reference clips' L2-normalised speaker embeddings (256 floats); empty once erased.
    embedding = models.JSONField(default=list, blank=True)
    quality_report = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organisation__name", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_erased(self) -> bool:
        return self.status == VoiceStatus.ERASED

    def embedding_vector(self) -> np.ndarray | None:
        return np.asarray(self.embedding, dtype=np.float32) if self.embedding else None


class ReferenceClip(models.Model):
    """One reference recording of a voice, stored as uploaded (default_storage)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    voice = models.ForeignKey(Voice, on_delete=models.CASCADE, related_name="references")
    audio = models.FileField(upload_to=reference_upload_to, max_length=300, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=32, blank=True)
    sample_rate = models.PositiveIntegerField()
    duration_s = models.FloatField()
    embedding = models.JSONField(default=list, blank=True)
    quality = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.original_name or str(self.id)


class ConsentStatus(models.TextChoices):
    PENDING = "pending", "Pending verification"
    VERIFIED = "verified", "Verified"
    CONTENT_UNVERIFIED = "content_unverified", "Content unverified (awaiting an admin's approval)"
    REJECTED = "rejected", "Rejected"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class Use(models.TextChoices):
    NARRATION = "narration", "Narration"
    ADVERTISING = "advertising", "Advertising"
    DUBBING = "dubbing", "Dubbing"
    AUDIOBOOK = "audiobook", "Audiobook"
    ASSISTANT = "assistant", "Voice assistant / IVR"
    GAMES = "games", "Games and entertainment"
    EDUCATION = "education", "Education"


class StatementChallenge(models.Model):
    """A freshly generated statement for the owner to read: single use, expiring.

    The random phrase makes an older recording (or one made for another organisation) useless
    as a consent statement: it cannot contain a phrase that did not exist when it was made.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    voice = models.ForeignKey(Voice, on_delete=models.CASCADE, related_name="statement_challenges")
    owner = models.ForeignKey(VoiceOwner, on_delete=models.CASCADE, related_name="+")
    language = models.CharField(max_length=8, default="en", help_text="Language the statement is written in.")
    text = models.TextField()
    phrase = models.CharField(max_length=200)
    languages = models.JSONField(default=list)
    uses = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"statement for {self.voice} ({self.created_at:%Y-%m-%d %H:%M})"


class ConsentRecord(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="consents")
    voice = models.ForeignKey(Voice, on_delete=models.PROTECT, related_name="consents")
    owner = models.ForeignKey(VoiceOwner, on_delete=models.PROTECT, related_name="consents")
    status = models.CharField(max_length=24, choices=ConsentStatus.choices, default=ConsentStatus.PENDING)
    challenge = models.OneToOneField(StatementChallenge, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="consent")
    statement_text = models.TextField()
    statement_language = models.CharField(max_length=8, default="en")
    statement = models.FileField(upload_to=statement_upload_to, max_length=300, blank=True)
    statement_sha256 = models.CharField(max_length=64, blank=True)
    # Verification figures: cosine to the references, similarity to the closest reference clip
    # (copy check), transcript and word match when a recogniser was available.
    speaker_similarity = models.FloatField(null=True, blank=True)
    verification = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True, help_text="Why the statement was rejected or left unverified.")
    languages = models.JSONField(default=list)
    uses = models.JSONField(default=list)
    valid_from = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["voice", "status"])]

    def __str__(self) -> str:
        return f"consent of {self.owner} for {self.voice} ({self.effective_status})"

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def effective_status(self) -> str:
        """The stored status, with a verified consent past its expiry reading as expired."""
        if self.status == ConsentStatus.VERIFIED and self.is_expired():
            return ConsentStatus.EXPIRED
        return self.status


class ProtectedVoice(models.Model):
    """A voice that must never be enrolled: global (organisation empty) or one organisation's."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="protected_voices",
                                     null=True, blank=True, help_text="Empty: protected for every organisation.")
    name = models.CharField(max_length=200)
    reason = models.TextField()
    # One L2-normalised embedding per clip it was made from; the audio itself is not kept.
    embeddings = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        scope = "global" if self.organisation_id is None else str(self.organisation)
        return f"{self.name} ({scope})"

    @property
    def is_global(self) -> bool:
        return self.organisation_id is None
