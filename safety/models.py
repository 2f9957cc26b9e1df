"""Verification of uploaded clips, the fingerprint registry, moderation and webhooks."""
from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models


class Verdict(models.TextChoices):
    # Never "authentic": the absence of evidence proves nothing about a clip's origin.
    GENERATED_HERE = "generated_here", "Generated on this platform"
    LABELLED_AI_ELSEWHERE = "labelled_ai_elsewhere", "Labelled as AI-generated elsewhere"
    POSSIBLE_CLONE_OF_ENROLLED_VOICE = "possible_clone_of_enrolled_voice", "Possible clone of an enrolled voice"
    POSSIBLE_CLONE_OF_PROTECTED_VOICE = "possible_clone_of_protected_voice", "Possible clone of a protected voice"
    LIKELY_AI_GENERATED = "likely_ai_generated", "Likely AI-generated (synthetic-speech detector)"
    NO_EVIDENCE = "no_evidence", "No evidence found"


class RegisteredClip(models.Model):
    """One generated output whose fingerprint is in the registry.

    The generation is referenced by id, not by foreign key, so the fingerprint keeps
    answering "made here" even after the generation record is erased.
    """

    id = models.BigAutoField(primary_key=True)  # small integer: it is packed into every posting
    generation_id = models.UUIDField(unique=True)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE,
                                     related_name="registered_clips", null=True, blank=True)
    duration_s = models.FloatField()
    hash_count = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"clip {self.pk} (generation {self.generation_id})"


class FingerprintHash(models.Model):
    """A landmark hash of a registered clip not yet folded into a :class:`FingerprintBlock`.

    Registration only appends rows here (cheap, no contention); compaction moves them into
    per-hash posting blocks, which keep lookups fast and the registry small at 10^6 clips.
    """

    hash = models.IntegerField()
    clip = models.ForeignKey(RegisteredClip, on_delete=models.CASCADE, related_name="fresh_hashes")
    offset = models.IntegerField(help_text="anchor frame (32 ms units) in the registered clip")

    class Meta:
        indexes = [models.Index(fields=["hash", "clip", "offset"], name="safety_fphash_lookup")]


class FingerprintBlock(models.Model):
    """All compacted postings of one hash value: packed little-endian uint32 pairs (clip id, offset)."""

    hash = models.IntegerField(primary_key=True)
    # Before the blob: SQLite reads a row's columns in order, so a count-only read skips the postings.
    count = models.PositiveIntegerField(default=0)
    postings = models.BinaryField()


class VerificationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Verification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="verifications")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="verifications")
    filename = models.CharField(max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.PositiveBigIntegerField()
    duration_s = models.FloatField(null=True, blank=True)
    audio_format = models.CharField(max_length=40, blank=True)
    # Kept only while a background job needs it; deleted once the report exists.
    upload = models.FileField(upload_to="verifications/", blank=True)
    status = models.CharField(max_length=16, choices=VerificationStatus.choices, default=VerificationStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="times a worker started this verification job")
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                            help_text="a running job's worker renews this; past it, the job is reaped")
    verdict = models.CharField(max_length=40, choices=Verdict.choices, blank=True)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename or self.file_sha256[:12]} ({self.verdict or self.status})"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    TAKE_DOWN = "take_down", "Take down"
    ESCALATE = "escalate", "Escalate"


class ModerationStatus(models.TextChoices):
    OPEN = "open", "Open"
    ASSIGNED = "assigned", "Assigned"
    ESCALATED = "escalated", "Escalated"
    CLOSED = "closed", "Closed"


# Flagged verdicts first: impersonation before labels before provenance questions.
VERDICT_PRIORITY = {
    Verdict.POSSIBLE_CLONE_OF_PROTECTED_VOICE: 0,
    Verdict.POSSIBLE_CLONE_OF_ENROLLED_VOICE: 1,
    Verdict.LABELLED_AI_ELSEWHERE: 2,
    Verdict.LIKELY_AI_GENERATED: 2,
    Verdict.GENERATED_HERE: 3,
    Verdict.NO_EVIDENCE: 4,
}


class ModerationItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="moderation_items")
    verification = models.OneToOneField(Verification, on_delete=models.CASCADE, related_name="moderation")
    priority = models.PositiveSmallIntegerField(default=4, help_text="0 = most urgent")
    flagged = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=ModerationStatus.choices, default=ModerationStatus.OPEN)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="moderation_assignments")
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="moderation_decisions")
    decided_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "created_at"]
        indexes = [models.Index(fields=["organisation", "status", "priority"], name="safety_queue_idx")]

    def __str__(self) -> str:
        return f"moderation of {self.verification_id} ({self.status})"


class ModerationEvent(models.Model):
    """One entry in an item's history (the audit log holds the tamper-evident copy)."""

    class Action(models.TextChoices):
        QUEUED = "queued", "Queued"
        ASSIGNED = "assigned", "Assigned"
        DECIDED = "decided", "Decided"
        NOTE = "note", "Note"

    item = models.ForeignKey(ModerationItem, on_delete=models.CASCADE, related_name="history")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]


def _new_secret() -> str:
    return secrets.token_hex(32)


class WebhookEvent(models.TextChoices):
    VERDICT = "verification.completed", "Verification completed"
    DECISION = "moderation.decided", "Moderation decision"


class WebhookEndpoint(models.Model):
    """A publishing tool's URL that receives signed JSON events (managed in the admin)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128, default=_new_secret,
                              help_text="HMAC-SHA256 key; the receiver checks X-Voicegate-Signature with it.")
    events = models.JSONField(default=list, blank=True,
                              help_text="Event names to send; empty means all.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.url

    def wants(self, event: str) -> bool:
        return self.active and (not self.events or event in self.events)


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
