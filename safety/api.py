"""REST API of safety: verifications (upload, report, evidence export) and the moderation queue.

Roles: producers, moderators and admins may verify clips (producers check their own output before
publishing and see only the verifications they uploaded); the moderation queue, assignment and
decisions are for moderators and admins.
"""
from __future__ import annotations

from django.http import HttpResponse
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from voicegate.accounts.api import MemberNameField
from voicegate.accounts.models import Role, member_username
from voicegate.accounts.permissions import IsModerator, IsModeratorOrProducer
from voicegate.accounts.selectors import member_named, role_of
from voicegate.api import OrganisationScoped
from voicegate.errors import DomainError, NotFound, PayloadTooLarge

from . import conf, reports, selectors, services
from .models import Decision, ModerationEvent, ModerationItem, ModerationStatus, Verdict, Verification


class VerificationSerializer(serializers.ModelSerializer):
    uploaded_by = MemberNameField(allow_null=True)
    status_url = serializers.SerializerMethodField()
    report_url = serializers.SerializerMethodField()
    moderation_id = serializers.SerializerMethodField()

    class Meta:
        model = Verification
        fields = ["id", "status", "verdict", "report", "error", "filename", "file_sha256", "size_bytes", "duration_s",
                  "audio_format", "uploaded_by", "created_at", "finished_at", "status_url", "report_url",
                  "moderation_id"]
        read_only_fields = fields

    def get_status_url(self, obj) -> str:
        return f"/api/v1/verifications/{obj.pk}/"

    def get_report_url(self, obj) -> str:
        return f"/api/v1/verifications/{obj.pk}/report/"

    def get_moderation_id(self, obj) -> str | None:
        item = getattr(obj, "moderation", None) if obj.status == "done" else None
        return str(item.pk) if item else None


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="the clip: WAV, FLAC, MP3, M4A/AAC, Ogg/Opus or a video file")


class _FileRenderer(BaseRenderer):
    """Lets ?format=html|pdf through DRF's negotiation; the view returns the finished bytes."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class HtmlReportRenderer(_FileRenderer):
    media_type = "text/html"
    format = "html"


class PdfReportRenderer(_FileRenderer):
    media_type = "application/pdf"
    format = "pdf"


class VerificationViewSet(OrganisationScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    serializer_class = VerificationSerializer
    permission_classes = [IsModeratorOrProducer]
    parser_classes = [MultiPartParser, FormParser]

    def scoped_queryset(self, organisation):
        queryset = selectors.verifications_for(organisation).select_related("moderation")
        if organisation is not None and role_of(self.request.user) == Role.PRODUCER:
            queryset = queryset.filter(uploaded_by=self.request.user)
        return queryset

    def get_serializer_class(self):
        return UploadSerializer if self.action == "create" else VerificationSerializer

    def create(self, request, *args, **kwargs):
        """Upload a clip (multipart field ``file``). 201 with the report, or 202 and a status URL for long clips."""
        upload = request.FILES.get("file")
        if upload is None:
            given = ", ".join(sorted(request.FILES)) or "none"
            raise DomainError(f"upload the clip as a multipart form field named 'file' (file fields received: {given})")
        if upload.size > conf.max_bytes():
            raise PayloadTooLarge(f"the file is {upload.size / 1e6:.1f} MB; at most {conf.max_bytes() / 1e6:.0f} MB "
                                  "is accepted")
        verification = services.submit_verification(request.user, upload.read(), upload.name or "")
        body = VerificationSerializer(verification).data
        code = status.HTTP_201_CREATED if verification.status == "done" else status.HTTP_202_ACCEPTED
        return Response(body, status=code, headers={"Location": body["status_url"]})

    @action(detail=True, methods=["get"], renderer_classes=[JSONRenderer, HtmlReportRenderer, PdfReportRenderer])
    def report(self, request, pk=None):
        """The evidence report a person can read: ?format=html (default), json or pdf."""
        verification = self.get_object()
        if verification.status != "done":
            raise DomainError(f"the verification is {verification.status}; the report exists once it is done")
        wanted = request.query_params.get("format", "html")
        if wanted == "json":
            response = HttpResponse(reports.render_json(verification), content_type="application/json")
        elif wanted == "pdf":
            response = HttpResponse(reports.render_pdf(verification), content_type="application/pdf")
            response["Content-Disposition"] = f'attachment; filename="verification-{verification.pk}.pdf"'
        elif wanted == "html":
            response = HttpResponse(reports.render_html(verification), content_type="text/html; charset=utf-8")
        else:
            raise DomainError("format must be html, json or pdf")
        return response


class ModerationEventSerializer(serializers.ModelSerializer):
    actor = MemberNameField(allow_null=True)
    assigned_to = MemberNameField(allow_null=True)

    class Meta:
        model = ModerationEvent
        fields = ["action", "actor", "decision", "assigned_to", "notes", "created_at"]


class ModerationItemSerializer(serializers.ModelSerializer):
    assigned_to = MemberNameField(allow_null=True)
    decided_by = MemberNameField(allow_null=True)
    verdict = serializers.CharField(source="verification.verdict", read_only=True)
    explanation = serializers.SerializerMethodField()
    verification_url = serializers.SerializerMethodField()

    class Meta:
        model = ModerationItem
        fields = ["id", "verification", "verification_url", "verdict", "explanation", "priority", "flagged", "status",
                  "assigned_to", "decision", "decided_by", "decided_at", "notes", "created_at", "updated_at"]
        read_only_fields = fields

    def get_explanation(self, obj) -> str:
        return obj.verification.report.get("explanation", "")

    def get_verification_url(self, obj) -> str:
        return f"/api/v1/verifications/{obj.verification_id}/"


class AssignSerializer(serializers.Serializer):
    user = serializers.CharField(allow_null=True, required=False,
                                 help_text="username of a moderator or admin of your organisation; 'me'; null unassigns")


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    notes = serializers.CharField(allow_blank=True, required=False, default="")


class NoteSerializer(serializers.Serializer):
    notes = serializers.CharField()


class ModerationViewSet(OrganisationScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """The queue: most urgent first. Filters: ?status=, ?verdict=, ?assigned=me|none|USERNAME, ?flagged=true|false."""

    serializer_class = ModerationItemSerializer
    permission_classes = [IsModerator]

    def scoped_queryset(self, organisation):
        if organisation is None:
            return ModerationItem.objects.none()
        params = self.request.query_params
        state = params.get("status")
        if state and state not in ModerationStatus.values:
            raise DomainError(f"status must be one of: {', '.join(ModerationStatus.values)}")
        verdict = params.get("verdict")
        if verdict and verdict not in Verdict.values:
            raise DomainError(f"verdict must be one of: {', '.join(Verdict.values)}")
        flagged = {"true": True, "false": False}.get((params.get("flagged") or "").lower())
        items = selectors.moderation_queue(organisation, status=state, verdict=verdict, flagged=flagged)
        assigned = params.get("assigned")
        if assigned == "me":
            items = items.filter(assigned_to=self.request.user)
        elif assigned == "none":
            items = items.filter(assigned_to__isnull=True)
        elif assigned:
            items = items.filter(assigned_to__username=member_username(organisation.pk, assigned))
        return items

    def _item_response(self, item) -> Response:
        return Response(ModerationItemSerializer(ModerationItem.objects.select_related(
            "verification", "assigned_to", "decided_by").get(pk=item.pk)).data)

    @action(detail=True, methods=["post"], serializer_class=AssignSerializer)
    def assign(self, request, pk=None):
        item = self.get_object()
        body = AssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        name = body.validated_data.get("user")
        assignee = None
        if name == "me":
            assignee = request.user
        elif name:
            membership = member_named(self.organisation, name)
            if membership is None:
                raise NotFound(f"no member named {name!r} in your organisation")
            assignee = membership.user
        return self._item_response(services.assign_item(request.user, item.pk, assignee))

    @action(detail=True, methods=["post"], serializer_class=DecideSerializer)
    def decide(self, request, pk=None):
        item = self.get_object()
        body = DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._item_response(services.decide_item(request.user, item.pk, body.validated_data["decision"],
                                                        body.validated_data.get("notes", "")))

    @action(detail=True, methods=["post"], serializer_class=NoteSerializer)
    def notes(self, request, pk=None):
        item = self.get_object()
        body = NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._item_response(services.add_note(request.user, item.pk, body.validated_data["notes"]))

    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        item = self.get_object()
        events = item.history.select_related("actor", "assigned_to")
        return Response(ModerationEventSerializer(events, many=True).data)
