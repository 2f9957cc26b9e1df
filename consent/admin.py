"""The consent dashboard: owners, voices (with their audio), consent records, protected voices.

Every change goes through consent.services, so the admin obeys the same rules and writes the
same audit entries as the API and the commands. Records that only a verified workflow may
create (voices, consents) cannot be added or edited here, only reviewed, approved, revoked
or erased. Audio is streamed from default_storage by an admin-only view.
"""
from __future__ import annotations

import mimetypes
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from consent import services
from consent.models import ConsentRecord, ConsentStatus, ProtectedVoice, Voice, VoiceOwner
from voicegate.accounts.selectors import membership_of
from voicegate.audit.admin import AuditTrailMixin
from voicegate.errors import DomainError

REVOKED_IN_ADMIN = "revoked from the consent dashboard"


class OrganisationScopedAdmin(AuditTrailMixin, admin.ModelAdmin):
    """Superusers see every organisation; other staff only their own organisation's rows."""

    organisation_field = "organisation"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        membership = membership_of(request.user)
        if membership is None:
            return queryset.none()
        return queryset.filter(**{self.organisation_field: membership.organisation})


def _audio_player(url: str) -> str:
    return format_html('<audio controls preload="none" src="{}"></audio>', url)


# ---- owners ------------------------------------------------------------------------------

@admin.register(VoiceOwner)
class VoiceOwnerAdmin(OrganisationScopedAdmin):
    list_display = ("name", "organisation", "contact", "voice_count", "created_at")
    list_filter = ("organisation",)
    search_fields = ("name", "contact")
    fields = ("organisation", "name", "contact", "notes", "identity_document_ref", "audit_trail")

    def get_readonly_fields(self, request, obj=None):
        return (("organisation",) if obj else ()) + tuple(super().get_readonly_fields(request, obj))

    @admin.display(description="Voices")
    def voice_count(self, owner):
        return owner.voices.count()

    def save_model(self, request, obj, form, change):
        if change:  # the form already applied its values to obj; the service needs the stored row
            stored = VoiceOwner.objects.get(pk=obj.pk)
            services.update_owner(stored, actor=request.user,
                                  **{k: getattr(obj, k) for k in form.changed_data if k != "organisation"})
            obj.__dict__.update(stored.__dict__)
        else:
            created = services.create_owner(obj.organisation, name=obj.name, contact=obj.contact, notes=obj.notes,
                                            identity_document_ref=obj.identity_document_ref, actor=request.user)
            obj.__dict__.update(created.__dict__)

    def delete_model(self, request, obj):
        services.delete_owner(obj, actor=request.user)


def apply_to_each(model_admin, request, queryset, act, done_message: str) -> None:
    """Run a service on each selected object; report refusals one by one and the count done."""
    done = 0
    for obj in queryset:
        try:
            act(obj)
            done += 1
        except DomainError as exc:
            model_admin.message_user(request, f"{obj}: {exc.message}", level=messages.ERROR)
    if done:
        model_admin.message_user(request, f"{done} {done_message}.")


# ---- voices ------------------------------------------------------------------------------

class AudioServingMixin:
    """An admin-only URL that streams a voice's reference or statement audio from storage."""

    def get_urls(self):
        urls = super().get_urls()
        info = self.model._meta.app_label, self.model._meta.model_name
        return [path("<uuid:object_id>/audio/<str:kind>/<uuid:item_id>/", self.admin_site.admin_view(self.audio_view),
                     name="%s_%s_audio" % info)] + urls

    def audio_url(self, obj, kind: str, item_id) -> str:
        info = self.model._meta.app_label, self.model._meta.model_name
        return reverse(f"admin:{info[0]}_{info[1]}_audio", args=[obj.pk, kind, item_id])

    def audio_view(self, request, object_id, kind, item_id):
        obj = self.get_queryset(request).filter(pk=object_id).first()
        if obj is None or not self.has_view_permission(request, obj):
            raise Http404("no such recording")
        voice = obj if isinstance(obj, Voice) else obj.voice
        if kind == "reference":
            clip = voice.references.filter(pk=item_id).first()
            name = clip.audio.name if clip and clip.audio else None
        elif kind == "statement":
            record = voice.consents.filter(pk=item_id).first()
            name = record.statement.name if record and record.statement else None
        else:
            name = None
        if not name or not default_storage.exists(name):
            raise Http404("no such recording (it may have been erased)")
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
        response["Cache-Control"] = "private, no-store"
        return response


def _quality_table(clips: list[dict]) -> str:
    if not clips:
        return "-"
    rows = [(number, f"{c.get('duration_s', 0):.1f} s", c.get("sample_rate"), f"{c.get('speech_ratio', 0):.0%}",
             f"{c.get('snr_db', 0):.0f} dB", f"{c.get('loudness_lufs', 0):.0f} LUFS",
             f"{c.get('clipping_ratio', 0):.2%}", c.get("speaker_consistency_min"))
            for number, c in enumerate(clips, start=1)]
    body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                            "<td>{}</td></tr>", rows)
    return format_html("<table><tr><th>clip</th><th>duration</th><th>Hz</th><th>speech</th><th>SNR</th>"
                       "<th>loudness</th><th>clipping</th><th>one-speaker min</th></tr>{}</table>", body)


@admin.register(Voice)
class VoiceAdmin(AudioServingMixin, OrganisationScopedAdmin):
    list_display = ("name", "organisation", "owner", "status", "consent_state", "speaker_similarity", "created_at")
    list_filter = ("status", "organisation")
    search_fields = ("name", "owner__name")
    actions = ["erase_selected"]
    fields = ("organisation", "name", "owner", "status", "created_by", "created_at", "erased_at",
              "reference_players", "statement_players", "speaker_similarity", "quality", "audit_trail")
    readonly_fields = ("organisation", "name", "owner", "status", "created_by", "created_at", "erased_at",
                       "reference_players", "statement_players", "speaker_similarity", "quality")

    def has_add_permission(self, request):
        return False  # enrollment runs the quality checks and the protected-voice screen: API or voice_add

    def has_delete_permission(self, request, obj=None):
        return False  # use the erase action: it keeps the record and the audit hashes

    @admin.display(description="Consent")
    def consent_state(self, voice):
        latest = voice.consents.first()
        return latest.effective_status if latest else "none"

    @admin.display(description="Speaker similarity (latest statement)")
    def speaker_similarity(self, voice):
        latest = voice.consents.exclude(speaker_similarity=None).first()
        return "-" if latest is None else f"{latest.speaker_similarity:.3f}"

    @admin.display(description="Reference recordings")
    def reference_players(self, voice):
        clips = [(clip.original_name or clip.pk, _audio_player(self.audio_url(voice, "reference", clip.pk)))
                 for clip in voice.references.all() if clip.audio]
        if not clips:
            return "none stored" + (" (erased)" if voice.is_erased else "")
        return format_html_join("", "<div>{}<br>{}</div>", clips)

    @admin.display(description="Consent statements")
    def statement_players(self, voice):
        rows = [(record.created_at.strftime("%Y-%m-%d"), record.effective_status,
                 _audio_player(self.audio_url(voice, "statement", record.pk)))
                for record in voice.consents.all() if record.statement]
        if not rows:
            return "none stored"
        return format_html_join("", "<div>{} ({})<br>{}</div>", rows)

    @admin.display(description="Quality report")
    def quality(self, voice):
        return _quality_table(voice.quality_report.get("clips", []))

    @admin.action(description="Erase selected voices (delete audio and embeddings; keep hashes)")
    def erase_selected(self, request, queryset):
        apply_to_each(self, request, queryset,
                      lambda voice: services.erase_voice(voice, actor=request.user,
                                                         reason="erased from the consent dashboard"),
                      "voice(s) erased")


# ---- consents ----------------------------------------------------------------------------

class ExpiringSoonFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expiring"

    def lookups(self, request, model_admin):
        return [("30d", "Expiring within 30 days"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "30d":
            return queryset.filter(status=ConsentStatus.VERIFIED, expires_at__gt=now,
                                   expires_at__lte=now + timedelta(days=30))
        if self.value() == "expired":
            return queryset.filter(status__in=[ConsentStatus.VERIFIED, ConsentStatus.EXPIRED], expires_at__lte=now)
        return queryset


@admin.register(ConsentRecord)
class ConsentRecordAdmin(AudioServingMixin, OrganisationScopedAdmin):
    list_display = ("voice", "owner", "organisation", "state", "speaker_similarity", "scope", "expires_at",
                    "created_at")
    list_filter = ("status", ExpiringSoonFilter, "organisation")
    search_fields = ("voice__name", "owner__name")
    actions = ["approve_selected", "revoke_selected"]
    fields = ("organisation", "voice", "owner", "state", "reason", "statement_text", "statement_player",
              "speaker_similarity", "figures", "languages", "uses", "valid_from", "expires_at", "approved_at",
              "approved_by", "revoked_at", "revoked_reason", "revoked_by", "created_by", "created_at",
              "statement_sha256", "audit_trail")
    readonly_fields = tuple(f for f in fields if f != "audit_trail")

    def has_add_permission(self, request):
        return False  # a consent needs a verified statement recording: API or consent_grant

    def has_delete_permission(self, request, obj=None):
        return False  # consent records are evidence; revoke instead

    @admin.display(description="Status", ordering="status")
    def state(self, record):
        return record.effective_status

    @admin.display(description="Scope")
    def scope(self, record):
        return f"{', '.join(record.languages)} / {', '.join(record.uses)}"

    @admin.display(description="Statement recording")
    def statement_player(self, record):
        if not record.statement:
            return "not stored" + (" (rejected statements are not kept)" if record.status == "rejected" else "")
        return _audio_player(self.audio_url(record, "statement", record.pk))

    @admin.display(description="Verification figures")
    def figures(self, record):
        shown = {key: value for key, value in record.verification.items() if key != "quality"}
        if not shown:
            return "-"
        return format_html_join("", "<div><b>{}</b>: {}</div>", sorted(shown.items()))

    @admin.action(description="Approve selected consents (after listening to the statement)")
    def approve_selected(self, request, queryset):
        apply_to_each(self, request, queryset, lambda record: services.approve_consent(record, actor=request.user),
                      "consent(s) approved")

    @admin.action(description="Revoke selected consents (takes effect at once)")
    def revoke_selected(self, request, queryset):
        apply_to_each(self, request, queryset,
                      lambda record: services.revoke_consent(record, actor=request.user, reason=REVOKED_IN_ADMIN),
                      "consent(s) revoked")



# ---- protected voices --------------------------------------------------------------------

class ProtectedVoiceForm(forms.ModelForm):
    recording = forms.FileField(required=False, help_text="A recording of the voice (only its speaker embedding "
                                                          "is kept). Needed when adding.")

    class Meta:
        model = ProtectedVoice
        fields = ("organisation", "name", "reason")

    def clean(self):
        cleaned = super().clean()
        handle = cleaned.get("recording")
        if self.instance.pk is None:
            if not handle:
                self.add_error("recording", "upload a recording of the voice to protect")
                return cleaned
            try:
                upload = services.AudioUpload.from_file(handle)
                self.embeddings = services.embed_recordings([upload])
                self.reference_sha256 = [upload.sha256]
            except DomainError as exc:
                self.add_error("recording", exc.message)
        return cleaned


@admin.register(ProtectedVoice)
class ProtectedVoiceAdmin(AuditTrailMixin, admin.ModelAdmin):
    form = ProtectedVoiceForm
    list_display = ("name", "scope", "clip_count", "created_at")
    list_filter = ("organisation",)
    search_fields = ("name", "reason")

    def get_fields(self, request, obj=None):
        return ("organisation", "name", "reason", "recording") if obj is None else \
            ("organisation", "name", "reason", "clip_count", "created_by", "created_at", "audit_trail")

    def get_readonly_fields(self, request, obj=None):
        base = () if obj is None else ("organisation", "name", "reason", "clip_count", "created_by", "created_at")
        return base + tuple(super().get_readonly_fields(request, obj))

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        membership = membership_of(request.user)
        return queryset.none() if membership is None else queryset.filter(organisation=membership.organisation)

    @admin.display(description="Scope")
    def scope(self, protected):
        return "global" if protected.is_global else protected.organisation.name

    @admin.display(description="Clips")
    def clip_count(self, protected):
        return len(protected.embeddings)

    def save_model(self, request, obj, form, change):
        if change:
            return  # read-only once created
        created = services.store_protected_voice(
            organisation=obj.organisation, name=obj.name, reason=obj.reason, actor=request.user,
            embeddings=form.embeddings, reference_sha256=form.reference_sha256)
        obj.__dict__.update(created.__dict__)

    def delete_model(self, request, obj):
        services.remove_protected_voice(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for protected in queryset:
            services.remove_protected_voice(protected, actor=request.user)
