from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from .models import AuditEntry
from .selectors import entries_for_object
from .services import verify_chain


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("seq", "created_at", "actor_name", "organisation", "action", "target_type", "target_id")
    list_filter = ("action", "organisation", "target_type")
    search_fields = ("actor_name", "action", "target_id")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        report = verify_chain()
        if report.ok:
            self.message_user(request, f"Audit chain intact ({report.entries} entries).")
        else:
            self.message_user(request, f"Audit chain BROKEN at entry {report.first_bad}: {report.reason}", level="error")
        return super().changelist_view(request, extra_context)


class AuditTrailMixin:
    """Adds a read-only 'Audit trail' field listing this object's audit entries."""

    @admin.display(description="Audit trail")
    def audit_trail(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        rows = [(e.seq, e.created_at.strftime("%Y-%m-%d %H:%M:%S"), e.actor_name or "system", e.action)
                for e in entries_for_object(obj)]
        if not rows:
            return "no entries"
        body = format_html_join("", "<tr><td>#{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html("<table><tr><th>seq</th><th>when</th><th>who</th><th>action</th></tr>{}</table>", body)

    def get_readonly_fields(self, request, obj=None):
        return tuple(super().get_readonly_fields(request, obj)) + ("audit_trail",)
