from __future__ import annotations

from django.http import StreamingHttpResponse
from datetime import datetime, time, timezone

from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from voicegate.accounts.permissions import IsModerator
from voicegate.api import OrganisationScoped
from voicegate.errors import DomainError

from .models import AuditEntry
from .selectors import audit_entries
from .services import export_csv, export_jsonl, verify_chain


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["seq", "created_at", "actor_name", "organisation", "action", "target_type", "target_id",
                  "details", "prev_hash", "hash"]


def _moment(value: str | None, name: str, *, end_of_day: bool = False):
    if not value:
        return None
    day = parse_date(value) if len(value) == 10 else None
    moment = None if day else parse_datetime(value)
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if moment is None:
        if day is None:
            raise DomainError(f"{name}={value!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time")
        moment = datetime.combine(day, time.max if end_of_day else time.min, tzinfo=timezone.utc)
    return moment


FILTERS = [
    OpenApiParameter("actor", OpenApiTypes.STR, description="username of the actor"),
    OpenApiParameter("action", OpenApiTypes.STR, description="exact action, or a prefix ending in '.'"),
    OpenApiParameter("target_type", OpenApiTypes.STR, description="e.g. consent.consentrecord"),
    OpenApiParameter("target_id", OpenApiTypes.STR),
    OpenApiParameter("since", OpenApiTypes.STR, description="date or date-time, inclusive"),
    OpenApiParameter("until", OpenApiTypes.STR, description="date or date-time, inclusive"),
]


class AuditEntryViewSet(OrganisationScoped, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The organisation's audit entries, newest first (moderators and admins)."""

    serializer_class = AuditEntrySerializer
    permission_classes = [IsModerator]
    lookup_field = "seq"

    def scoped_queryset(self, organisation):
        if organisation is None:
            return AuditEntry.objects.none()
        params = self.request.query_params
        return audit_entries(
            organisation=organisation, actor=params.get("actor"), action=params.get("action"),
            target_type=params.get("target_type"), target_id=params.get("target_id"),
            since=_moment(params.get("since"), "since"),
            until=_moment(params.get("until"), "until", end_of_day=True))

    @extend_schema(parameters=FILTERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(parameters=FILTERS + [OpenApiParameter("type", OpenApiTypes.STR, enum=["jsonl", "csv"])],
                   responses={200: OpenApiTypes.BINARY})
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request):
        # "type", not "format": DRF reserves ?format= for choosing a renderer.
        kind = request.query_params.get("type", "jsonl")
        entries = self.get_queryset().order_by("seq")
        if kind == "csv":
            response = StreamingHttpResponse(export_csv(entries.iterator()), content_type="text/csv; charset=utf-8")
        elif kind == "jsonl":
            response = StreamingHttpResponse(export_jsonl(entries.iterator()), content_type="application/x-ndjson")
        else:
            raise DomainError(f"type={kind!r} is not supported; use jsonl or csv")
        response["Content-Disposition"] = f'attachment; filename="audit.{kind}"'
        return response

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["get"], url_path="verify")
    def verify(self, request):
        """Status of the whole chain (it is one chain for all organisations)."""
        report = verify_chain()
        return Response({"ok": report.ok, "first_bad": report.first_bad, "reason": report.reason})
