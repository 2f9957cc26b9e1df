from __future__ import annotations

from django.contrib import admin

from voicegate.audit.admin import AuditTrailMixin
from voicegate.audit.services import record_audit

from .models import ApiToken, Membership, Organisation


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(AuditTrailMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "created_at", "audible_label_default")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record_audit("organisation.changed" if change else "organisation.created", actor=request.user,
                     organisation=obj, target=obj, details={"fields": sorted(form.changed_data)})

    def save_formset(self, request, form, formset, change):
        instances = formset.save()
        for membership in instances:
            record_audit("member.saved", actor=request.user, organisation=membership.organisation,
                         target=membership.user, details={"role": membership.role})
        for membership in formset.deleted_objects:
            record_audit("member.removed", actor=request.user, organisation=membership.organisation,
                         target=membership.user, details={})


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organisation", "role", "created_at")
    list_filter = ("role", "organisation")
    search_fields = ("user__username",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at", "user", "name")
    search_fields = ("prefix", "user__username")

    def has_add_permission(self, request):
        return False  # tokens are issued through the API or org_create, so the secret is shown once
