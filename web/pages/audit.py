"""Audit page: the organisation's audit trail, filterable, with the chain's integrity status."""
from __future__ import annotations

from datetime import datetime, time

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from voicegate.accounts.models import Role
from voicegate.audit.models import AuditEntry
from voicegate.audit.selectors import audit_entries
from voicegate.audit.services import verify_chain
from web.access import requires_role

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Actor (username)"), required=False, max_length=150)
    action = forms.CharField(label=_("Action"), required=False, max_length=64,
                             help_text=_("An exact action, or a prefix ending in a dot, e.g. consent."))
    target_type = forms.CharField(label=_("Target type"), required=False, max_length=64)
    target_id = forms.CharField(label=_("Target id"), required=False, max_length=64)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            error_messages={"invalid": _("Enter the start date as YYYY-MM-DD.")})
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            error_messages={"invalid": _("Enter the end date as YYYY-MM-DD.")})

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("The start date is after the end date; swap them or clear one."))
        return data


def _day_bound(day, end: bool) -> datetime | None:
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


@requires_role(Role.MODERATOR, page=_("The audit log"))
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    organisation = request.membership.organisation
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    entries = audit_entries(
        organisation=organisation, actor=filters.get("actor") or None, action=filters.get("action") or None,
        target_type=filters.get("target_type") or None, target_id=filters.get("target_id") or None,
        since=_day_bound(filters.get("since"), end=False), until=_day_bound(filters.get("until"), end=True))
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    actions = (AuditEntry.objects.filter(organisation=organisation).order_by("action")
               .values_list("action", flat=True).distinct())
    return render(request, "web/audit/log.html", {
        "form": form, "page": page, "query": query.urlencode(), "actions": list(actions),
        "export_query": query.urlencode(),
    })


@requires_role(Role.MODERATOR, page=_("The audit log"))
def chain_status(request: HttpRequest) -> HttpResponse:
    """The hash chain's verification, loaded after the page (it walks the whole chain)."""
    report = verify_chain()
    template = "web/audit/_chain.html" if request.headers.get("HX-Request") else "web/audit/chain.html"
    return render(request, template, {"report": report})
