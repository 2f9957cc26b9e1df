"""Admin for generations (read-only, AI-labelled, with a player) and cached enrollments."""
from __future__ import annotations

from django.contrib import admin
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from voicegate.audio import MIME_TYPES
from voicegate.audit.admin import AuditTrailMixin

from synthesis.models import Generation, VoiceProfileArtifact


@admin.register(Generation)
class GenerationAdmin(AuditTrailMixin, admin.ModelAdmin):
    list_display = ("id", "ai_label_badge", "created_at", "organisation", "user", "voice", "stock_voice", "status",
                    "progress", "resolved_language", "duration_s", "output_format")
    list_filter = ("status", "organisation", "resolved_language", "engine", "delivery", "audible_label")
    search_fields = ("id", "text_hash", "voice__name", "stock_voice", "user__username")
    date_hierarchy = "created_at"
    fieldsets = (
        ("Output", {"fields": ("ai_label_badge", "player", "audio", "output_format", "duration_s", "sample_rate",
                               "audio_bytes", "watermark_payload_hex", "labels", "manifest")}),
        ("Request", {"fields": ("organisation", "user", "voice", "consent", "voice_ref", "consent_ref", "stock_voice",
                                "text", "text_hash", "characters", "language", "resolved_language", "instruct", "speed",
                                "use", "audible_label", "delivery", "engine", "quality_tier", "options")}),
        ("Job", {"fields": ("status", "progress", "error", "attempts", "celery_task_id", "created_at",
                            "started_at", "finished_at")}),
        ("Audit", {"fields": ("audit_trail",)}),
    )

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Generation._meta.fields] + ["ai_label_badge", "player", "watermark_payload_hex",
                                                            "audit_trail"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # generation records are provenance: the watermark points at them

    @admin.display(description="Label")
    def ai_label_badge(self, obj: Generation):
        return format_html('<strong style="background:#b3261e;color:#fff;padding:1px 6px;border-radius:3px">{}</strong>',
                           "AI-generated · AI生成")

    @admin.display(description="Watermark payload")
    def watermark_payload_hex(self, obj: Generation) -> str:
        return obj.watermark_payload.hex()

    @admin.display(description="Listen")
    def player(self, obj: Generation):
        if obj.status != "succeeded" or not obj.audio:
            return "-"
        url = reverse("admin:synthesis_generation_audio", args=[obj.pk])
        return format_html('<audio controls preload="none" src="{}"></audio> <small>{}</small>', url,
                           "AI-generated audio")

    def get_urls(self):
        extra = [path("<uuid:pk>/audio/", self.admin_site.admin_view(self.audio_view),
                      name="synthesis_generation_audio")]
        return extra + super().get_urls()

    def audio_view(self, request, pk):
        if not self.has_view_permission(request):
            raise Http404
        generation = get_object_or_404(Generation, pk=pk)
        if not generation.audio or not default_storage.exists(generation.audio.name):
            raise Http404("no stored output")
        response = FileResponse(default_storage.open(generation.audio.name, "rb"),
                                content_type=MIME_TYPES.get(generation.output_format, "application/octet-stream"))
        response["X-AI-Generated"] = "true"
        return response


@admin.register(VoiceProfileArtifact)
class VoiceProfileArtifactAdmin(AuditTrailMixin, admin.ModelAdmin):
    list_display = ("voice", "engine", "status", "progress", "similarity", "baseline_similarity", "elapsed_s",
                    "updated_at")
    list_filter = ("status", "engine")
    search_fields = ("voice__name",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in VoiceProfileArtifact._meta.fields] + ["audit_trail"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        from synthesis.services import delete_enrollment

        delete_enrollment(obj.voice, reason="deleted in the admin", user=request.user)

    def delete_queryset(self, request, queryset):
        for artifact in queryset.select_related("voice"):
            self.delete_model(request, artifact)
