from __future__ import annotations

from django.contrib import admin

from voicegate.audit.admin import AuditTrailMixin

from .models import ModerationEvent, ModerationItem, RegisteredClip, Verification, WebhookDelivery, WebhookEndpoint


@admin.register(Verification)
class VerificationAdmin(AuditTrailMixin, admin.ModelAdmin):
    list_display = ("id", "organisation", "verdict", "status", "filename", "uploaded_by", "created_at")
    list_filter = ("verdict", "status", "organisation")
    search_fields = ("id", "file_sha256", "filename")
    readonly_fields = [f.name for f in Verification._meta.fields]

    def has_add_permission(self, request):
        return False  # verifications come from uploads (API or web), never typed in


class ModerationEventInline(admin.TabularInline):
    model = ModerationEvent
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "actor", "action", "decision", "assigned_to", "notes")

    def has_add_permission(self, request, obj=None):
        return False  # history is written by safety.services, which also audits it


@admin.register(ModerationItem)
class ModerationItemAdmin(AuditTrailMixin, admin.ModelAdmin):
    list_display = ("id", "organisation", "priority", "flagged", "status", "assigned_to", "decision", "created_at")
    list_filter = ("status", "decision", "flagged", "organisation")
    readonly_fields = [f.name for f in ModerationItem._meta.fields]
    inlines = [ModerationEventInline]

    def has_add_permission(self, request):
        return False


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "event", "status", "attempts", "last_status_code", "last_error", "delivered_at")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "organisation", "active", "events", "created_at")
    list_filter = ("active", "organisation")
    fields = ("organisation", "url", "events", "active", "secret")
    inlines = [WebhookDeliveryInline]


@admin.register(RegisteredClip)
class RegisteredClipAdmin(admin.ModelAdmin):
    list_display = ("id", "generation_id", "organisation", "duration_s", "hash_count", "created_at")
    search_fields = ("generation_id",)
    readonly_fields = [f.name for f in RegisteredClip._meta.fields]
