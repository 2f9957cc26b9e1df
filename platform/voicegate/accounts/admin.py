from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from voicegate.audit.admin import AuditTrailMixin
from voicegate.audit.services import record_audit
from voicegate.errors import DomainError

from . import services
from .models import MEMBER_NAME_MAX_LENGTH, ApiToken, Membership, Organisation, Role, member_name


def _last_admin_message(organisation) -> str:
    return (f"{organisation.name!r} would be left without an admin: make another member an admin first "
            "(an organisation always keeps at least one)")


class MembershipFormSet(forms.BaseInlineFormSet):
    """The organisation page's member rows: saving them must leave at least one admin."""

    def clean(self):
        super().clean()
        organisation = self.instance
        if organisation.pk is None or not services.remaining_admins(organisation, without=set()):
            return  # a new organisation, or one that has no admin to lose
        kept = [form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        if not any(form.cleaned_data.get("role") == Role.ADMIN for form in kept):
            raise forms.ValidationError(_last_admin_message(organisation))


class MembershipInline(admin.TabularInline):
    """An organisation's members: roles change here; members are added on the membership page."""

    model = Membership
    formset = MembershipFormSet
    extra = 0
    fields = ["user", "role"]
    readonly_fields = ["user"]

    def has_add_permission(self, request, obj=None):
        return False  # a member's account is made with its organisation (MemberCreationForm)


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        previous = self.instance
        if previous.pk is not None and previous.role == Role.ADMIN and cleaned.get("role") != Role.ADMIN:
            if not services.remaining_admins(previous.organisation, without={previous.pk}):
                raise forms.ValidationError(_last_admin_message(previous.organisation))
        return cleaned


class MemberCreationForm(forms.ModelForm):
    """Adds a member through accounts.services.add_member: usernames are unique per organisation only."""

    username = forms.CharField(max_length=MEMBER_NAME_MAX_LENGTH,
                               help_text="Unique within the organisation; the member signs in with the organisation, "
                                         "this username and the password.")
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput, required=False, min_length=10,
                               help_text="Optional; without it the member signs in with API tokens only.")

    class Meta:
        model = Membership
        fields = ["organisation", "role"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("organisation") is not None and cleaned.get("username"):
            try:
                cleaned["username"] = services.clean_member_name(cleaned["username"])
                services.assert_member_name_free(cleaned["organisation"], cleaned["username"])
            except DomainError as exc:
                self.add_error("username", exc.message)
        return cleaned


def _refuse_losing_last_admins(modeladmin, request, memberships) -> bool:
    """True (and an error message) when deleting ``memberships`` leaves one of their organisations without an admin."""
    pks = {m.pk for m in memberships}
    for membership in memberships:
        if membership.role == Role.ADMIN and not services.remaining_admins(membership.organisation, without=pks):
            modeladmin.message_user(request, _last_admin_message(membership.organisation), messages.ERROR)
            return True
    return False


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
    form = MembershipForm
    list_display = ("username", "organisation", "role", "created_at")
    list_filter = ("role", "organisation")
    search_fields = ("user__username",)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = MemberCreationForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["organisation", "username", "role", "email", "password"]
        return ["user", "organisation", "role"]

    def get_readonly_fields(self, request, obj=None):
        # A member's account belongs to its organisation (its username carries the organisation's id).
        return ["user", "organisation"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.role == Role.ADMIN and not services.remaining_admins(obj.organisation,
                                                                                        without={obj.pk}):
            return False  # the organisation's last admin: Django admin then refuses and hides the button
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:  # checked and audited like the API's POST /members/
            created = services.add_member(obj.organisation, form.cleaned_data["username"], obj.role, actor=request.user,
                                          password=form.cleaned_data.get("password") or None,
                                          email=form.cleaned_data.get("email", ""))
            obj.pk, obj.user, obj.created_at = created.pk, created.user, created.created_at
            return
        if "role" in form.changed_data and set(form.changed_data) == {"role"}:
            services.change_role(obj, obj.role, actor=request.user)  # checked and audited like the API
            return
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        services.remove_member(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        memberships = list(queryset.select_related("organisation", "user"))
        if _refuse_losing_last_admins(self, request, memberships):
            return
        for membership in memberships:
            services.remove_member(membership, actor=request.user)


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class MemberAwareUserAdmin(UserAdmin):
    """Django's user admin, showing each account's organisation and member name (the stored username of a
    member carries its organisation's id); an organisation's last admin cannot be deleted."""

    list_display = ("username", "member_name", "organisation", "email", "is_staff", "is_active")
    search_fields = (*UserAdmin.search_fields, "membership__organisation__name")
    list_select_related = ("membership__organisation",)

    @admin.display(description="member name")
    def member_name(self, obj) -> str:
        return member_name(obj)

    @admin.display(description="organisation", ordering="membership__organisation__name")
    def organisation(self, obj):
        membership = getattr(obj, "membership", None)
        return membership.organisation if membership is not None else "– (platform account)"

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and getattr(obj, "membership", None) is not None:
            return (*fields, "username")  # renaming would take the account out of its organisation's names
        return fields

    def has_delete_permission(self, request, obj=None):
        membership = getattr(obj, "membership", None) if obj is not None else None
        if membership is not None and membership.role == Role.ADMIN and \
                not services.remaining_admins(membership.organisation, without={membership.pk}):
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        memberships = list(Membership.objects.filter(user__in=queryset).select_related("organisation", "user"))
        if _refuse_losing_last_admins(self, request, memberships):
            return
        super().delete_queryset(request, queryset)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at", "user", "name")
    search_fields = ("prefix", "user__username")

    def has_add_permission(self, request):
        return False  # tokens are issued through the API or org_create, so the secret is shown once
