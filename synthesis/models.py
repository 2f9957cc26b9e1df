"""Generations (one synthesis job and its single output) and cached voice enrollments.

A Generation keeps the request text for its own organisation (so the owner can see what was
said and regenerate it); only ``text_hash`` leaves the organisation, in the audit log and in
the signed manifest. ``watermark_key`` is the 32-bit payload marked into every sample of the
output, so a clip found anywhere points back to this row.
"""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

WATERMARK_KEY_MAX = 2**32 - 1


class GenerationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (GenerationStatus.QUEUED, GenerationStatus.RUNNING)
FINAL_STATUSES = (GenerationStatus.SUCCEEDED, GenerationStatus.FAILED, GenerationStatus.CANCELLED)


class Delivery(models.TextChoices):
    JOB = "job", "Background job"
    STREAM = "stream", "Streamed over HTTP"
    SYNC = "sync", "Synchronous (/tts or command)"


class Generation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="generations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="generations")
    # Provenance must outlive an erased voice: the foreign keys go NULL, the names/ids below stay.
    voice = models.ForeignKey("consent.Voice", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="generations")
    consent = models.ForeignKey("consent.ConsentRecord", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="generations")
    voice_ref = models.CharField(max_length=64, blank=True, help_text="the voice's id when the job was made")
    # A stock voice (synthesis.stock) instead of an enrolled one: no voice, no consent (no one's voice is cloned).
    stock_voice = models.CharField(max_length=64, blank=True, default="",
                                   help_text="the engine's stock voice it was made with (then no voice or consent)")
    consent_ref = models.CharField(max_length=64, blank=True, help_text="the consent record's id when the job was made")

    status = models.CharField(max_length=16, choices=GenerationStatus.choices, default=GenerationStatus.QUEUED)
    progress = models.FloatField(default=0.0, help_text="0..1")
    error = models.TextField(blank=True)
    delivery = models.CharField(max_length=8, choices=Delivery.choices, default=Delivery.JOB)
    celery_task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="times a worker started this job")
    waiting_for_enrollment = models.BooleanField(
        default=False, help_text="queued behind its voice's enrollment; enqueued once the enrollment is ready")
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                            help_text="a running job's worker renews this; past it, the job is reaped")

    text = models.TextField(help_text="visible to the owner organisation only; audit and manifest get the hash")
    text_hash = models.CharField(max_length=64, db_index=True, help_text="sha256 of the text (UTF-8)")
    characters = models.PositiveIntegerField(default=0)
    language = models.CharField(max_length=16, default="auto", help_text="as requested")
    resolved_language = models.CharField(max_length=16, blank=True)
    instruct = models.CharField(max_length=500, blank=True)
    speed = models.FloatField(default=1.0)
    use = models.CharField(max_length=32, default="narration")
    output_format = models.CharField(max_length=8, default="wav")
    audible_label = models.BooleanField(default=False, help_text="spoken/tone 'AI-generated' cue at the start")
    options = models.JSONField(default=dict, blank=True, help_text="resolved engine options, for audit and replay")
    engine = models.CharField(max_length=32, blank=True)
    quality_tier = models.CharField(max_length=16, blank=True)

    watermark_key = models.BigIntegerField(unique=True, help_text="32-bit payload marked into the audio")
    audio = models.FileField(max_length=255, blank=True)
    audio_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    labels = models.JSONField(default=dict, blank=True, help_text="metadata labels written into the file")
    manifest = models.JSONField(default=dict, blank=True, help_text="what the signed C2PA manifest says")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(watermark_key__gte=1, watermark_key__lte=WATERMARK_KEY_MAX),
                                   name="generation_watermark_key_32bit"),
            # a stock-voice generation never points to an enrolled voice or a consent record
            models.CheckConstraint(condition=models.Q(stock_voice="") | models.Q(voice__isnull=True,
                                                                                 consent__isnull=True),
                                   name="generation_stock_voice_has_no_voice_or_consent"),
            models.CheckConstraint(condition=models.Q(progress__gte=0, progress__lte=1),
                                   name="generation_progress_0_1"),
        ]
        indexes = [models.Index(fields=["organisation", "-created_at"])]

    def __str__(self) -> str:
        return f"generation {self.pk} ({self.status})"

    @property
    def watermark_payload(self) -> bytes:
        return int(self.watermark_key).to_bytes(4, "big")

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def ai_label(self) -> str:
        return "AI-generated"

    @property
    def is_stock_voice(self) -> bool:
        return bool(self.stock_voice)

    @property
    def voice_description(self) -> str | None:
        """What labels, manifests and reports may say about the voice: ``stock voice af_heart``, else None."""
        return f"stock voice {self.stock_voice}" if self.stock_voice else None


class EnrollmentStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class VoiceProfileArtifact(models.Model):
    """The cached enrollment of a voice for an engine (e.g. a Kokoro style pack).

    Deleted with its file when the voice's consent is revoked or the voice is erased.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    voice = models.OneToOneField("consent.Voice", on_delete=models.CASCADE, related_name="profile_artifact")
    engine = models.CharField(max_length=32, default="kokoro")
    status = models.CharField(max_length=16, choices=EnrollmentStatus.choices, default=EnrollmentStatus.QUEUED)
    progress = models.FloatField(default=0.0)
    progress_message = models.CharField(max_length=200, blank=True, help_text="what the search is doing now")
    error = models.TextField(blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="times a worker started this enrollment")
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                            help_text="renewed by the enrollment's worker; past it, it is reaped")
    budget_s = models.FloatField(default=300.0)
    profile_file = models.FileField(max_length=255, blank=True)
    similarity = models.FloatField(null=True, blank=True,
                                   help_text="Resemblyzer similarity of the enrolled voice, on calibration sentences "
                                             "the owner never recorded, to the owner's reference clips (the other "
                                             "judges' figures are in report)")
    baseline_similarity = models.FloatField(null=True, blank=True, help_text="best stock voice, same measure")
    report = models.JSONField(default=dict, blank=True)
    elapsed_s = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.engine} profile of {self.voice_id} ({self.status})"
