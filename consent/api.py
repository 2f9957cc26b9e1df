"""REST endpoints for owners, voices, statements, consents and protected voices (thin: services do the work)."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from consent import selectors, services
from consent.models import ConsentRecord, ConsentStatus, ProtectedVoice, ReferenceClip, Use, Voice, VoiceOwner
from consent.services import AudioUpload
from consent.statements import STATEMENT_LANGUAGES
from voicegate.accounts.permissions import IsOrgAdmin, IsProducer
from voicegate.api import OrganisationScoped
from voicegate.errors import NotFound, PermissionDenied


class CommaListField(serializers.ListField):
    """A list given as repeated form fields, a JSON array, or one comma-separated string."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            data = [data]
        items = [part.strip() for item in data for part in str(item).split(",") if part.strip()]
        return super().to_internal_value(items)


# ---- owners ------------------------------------------------------------------------------

class VoiceOwnerSerializer(serializers.ModelSerializer):
    class Meta:
        model = VoiceOwner
        fields = ["id", "name", "contact", "notes", "identity_document_ref", "created_at"]
        read_only_fields = ["id", "created_at"]


class VoiceOwnerViewSet(OrganisationScoped, viewsets.ModelViewSet):
    """People whose voices the organisation holds (producers and admins)."""

    serializer_class = VoiceOwnerSerializer
    permission_classes = [IsProducer]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self, organisation):
        return selectors.owners_for(organisation)

    def perform_create(self, serializer):
        serializer.instance = services.create_owner(self.organisation, actor=self.request.user,
                                                    **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.update_owner(serializer.instance, actor=self.request.user,
                                                    **serializer.validated_data)

    def perform_destroy(self, instance):
        services.delete_owner(instance, actor=self.request.user)


# ---- voices ------------------------------------------------------------------------------

class ReferenceClipSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReferenceClip
        fields = ["id", "original_name", "sha256", "format", "sample_rate", "duration_s", "created_at"]


class ConsentSummarySerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="effective_status")

    class Meta:
        model = ConsentRecord
        fields = ["id", "status", "languages", "uses", "valid_from", "expires_at", "speaker_similarity"]


class VoiceSerializer(serializers.ModelSerializer):
    owner_name = serializers.CharField(source="owner.name", read_only=True, default=None)
    references = ReferenceClipSerializer(many=True, read_only=True)
    consents = ConsentSummarySerializer(many=True, read_only=True)
    quality = serializers.JSONField(source="quality_report", read_only=True)

    class Meta:
        model = Voice
        fields = ["id", "name", "owner", "owner_name", "status", "created_at", "references", "quality", "consents"]


class VoiceCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    owner = serializers.UUIDField(required=False, help_text="An existing voice owner of your organisation.")
    owner_name = serializers.CharField(required=False, max_length=200,
                                       help_text="Or the owner's name: found or created.")
    references = serializers.ListField(child=serializers.FileField(), min_length=1,
                                       help_text="One or more reference recordings (3-30 s each).")


class StatementRequestSerializer(serializers.Serializer):
    languages = CommaListField(child=serializers.CharField(), required=False, default=["en"],
                               help_text="Languages the consent will cover, e.g. zh,en.")
    uses = CommaListField(child=serializers.ChoiceField(choices=Use.choices), required=False, default=["narration"])
    statement_language = serializers.ChoiceField(choices=STATEMENT_LANGUAGES, required=False, default="en",
                                                 help_text="Language the statement is written in.")


class StatementSerializer(serializers.Serializer):
    challenge_id = serializers.UUIDField(source="id")
    voice = serializers.UUIDField(source="voice_id")
    owner_name = serializers.CharField(source="owner.name")
    text = serializers.CharField(help_text="Read this aloud, completely, and upload the recording.")
    phrase = serializers.CharField()
    language = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    uses = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField()


class VoiceViewSet(OrganisationScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                   viewsets.GenericViewSet):
    """Enrolled voices. DELETE erases the voice: its audio and embeddings go; the audit keeps hashes."""

    serializer_class = VoiceSerializer
    permission_classes = [IsProducer]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def scoped_queryset(self, organisation):
        return selectors.voices_for(organisation).prefetch_related("consents")

    @extend_schema(request={"multipart/form-data": VoiceCreateSerializer}, responses={201: VoiceSerializer})
    def create(self, request):
        form = VoiceCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        owner = None
        if data.get("owner"):
            owner = selectors.owners_for(self.organisation).filter(pk=data["owner"]).first()
            if owner is None:
                raise NotFound("no such voice owner in your organisation")
        elif data.get("owner_name"):
            owner = services.owner_named(self.organisation, data["owner_name"], actor=request.user)
        uploads = [AudioUpload.from_file(handle) for handle in data["references"]]
        voice = services.enroll_voice(self.organisation, name=data["name"], owner=owner, references=uploads,
                                      actor=request.user)
        return Response(VoiceSerializer(voice).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.erase_voice(instance, actor=self.request.user, reason="erased through the API")

    @extend_schema(methods=["GET"], parameters=[
        OpenApiParameter("languages", OpenApiTypes.STR, description="comma-separated, e.g. zh,en"),
        OpenApiParameter("uses", OpenApiTypes.STR, description=f"comma-separated: {', '.join(Use.values)}"),
        OpenApiParameter("statement_language", OpenApiTypes.STR, enum=list(STATEMENT_LANGUAGES))],
        request=None, responses={201: StatementSerializer})
    @extend_schema(methods=["POST"], request=StatementRequestSerializer, responses={201: StatementSerializer})
    @action(detail=True, methods=["get", "post"], parser_classes=[JSONParser, FormParser, MultiPartParser])
    def statement(self, request, pk=None):
        """A fresh statement for the owner to read aloud (single use; expires)."""
        voice = self.get_object()
        form = StatementRequestSerializer(data=request.query_params if request.method == "GET" else request.data)
        form.is_valid(raise_exception=True)
        challenge = services.issue_statement(voice, languages=form.validated_data["languages"],
                                             uses=form.validated_data["uses"],
                                             statement_language=form.validated_data["statement_language"],
                                             actor=request.user)
        return Response(StatementSerializer(challenge).data, status=status.HTTP_201_CREATED)


# ---- consents ----------------------------------------------------------------------------

class ConsentSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="effective_status",
                                   help_text="pending, verified, content_unverified, rejected, revoked or expired")
    voice_name = serializers.CharField(source="voice.name")
    owner_name = serializers.CharField(source="owner.name")
    has_statement_audio = serializers.SerializerMethodField()

    class Meta:
        model = ConsentRecord
        fields = ["id", "voice", "voice_name", "owner", "owner_name", "status", "reason", "statement_text",
                  "statement_language", "statement_sha256", "has_statement_audio", "speaker_similarity",
                  "verification", "languages", "uses", "valid_from", "expires_at", "approved_at", "revoked_at",
                  "revoked_reason", "created_at"]

    def get_has_statement_audio(self, record) -> bool:
        return bool(record.statement)


class ConsentGrantSerializer(serializers.Serializer):
    voice = serializers.UUIDField()
    challenge = serializers.UUIDField(help_text="The challenge_id of the statement the owner read.")
    statement = serializers.FileField(help_text="The owner's recording of the statement.")
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ConsentViewSet(OrganisationScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Consent records. Grant with the statement recording; revoke; admins approve unverified content."""

    serializer_class = ConsentSerializer
    permission_classes = [IsProducer]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def scoped_queryset(self, organisation):
        queryset = selectors.consents_for(organisation)
        if getattr(self, "swagger_fake_view", False) or not hasattr(self, "request"):
            return queryset
        voice = self.request.query_params.get("voice")
        wanted = self.request.query_params.get("status")
        if voice:
            queryset = queryset.filter(voice_id=voice) if _is_uuid(voice) else queryset.none()
        if wanted in ConsentStatus.values:
            queryset = queryset.filter(status=wanted)
        return queryset

    @extend_schema(parameters=[OpenApiParameter("voice", OpenApiTypes.UUID),
                               OpenApiParameter("status", OpenApiTypes.STR, enum=ConsentStatus.values)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request={"multipart/form-data": ConsentGrantSerializer}, responses={201: ConsentSerializer})
    def create(self, request):
        """Verify the statement recording; the record comes back verified, content_unverified or rejected."""
        form = ConsentGrantSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        voice = selectors.voices_for(self.organisation).filter(pk=data["voice"]).first()
        if voice is None:
            raise NotFound("no such voice in your organisation")
        challenge = selectors.challenges_for(self.organisation).filter(pk=data["challenge"]).first()
        if challenge is None:
            raise NotFound("no such statement; request one with GET /api/v1/voices/{id}/statement/")
        record = services.grant_consent(voice, statement=AudioUpload.from_file(data["statement"]), challenge=challenge,
                                        expires_at=data.get("expires_at"), actor=request.user)
        return Response(ConsentSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RevokeSerializer, responses=ConsentSerializer)
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser])
    def revoke(self, request, pk=None):
        """Revoke at once: synthesis is refused and queued jobs for the voice are cancelled."""
        form = RevokeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        record = services.revoke_consent(self.get_object(), actor=request.user, reason=form.validated_data["reason"])
        return Response(ConsentSerializer(record).data)

    @extend_schema(request=None, responses=ConsentSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsOrgAdmin])
    def approve(self, request, pk=None):
        """An admin who listened to the statement approves a consent whose content was not checked."""
        record = services.approve_consent(self.get_object(), actor=request.user)
        return Response(ConsentSerializer(record).data)


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# ---- protected voices --------------------------------------------------------------------

class ProtectedVoiceSerializer(serializers.ModelSerializer):
    is_global = serializers.BooleanField(read_only=True)
    clips = serializers.SerializerMethodField()

    class Meta:
        model = ProtectedVoice
        fields = ["id", "name", "reason", "is_global", "clips", "created_at"]

    def get_clips(self, protected) -> int:
        return len(protected.embeddings)


class ProtectedVoiceCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    reason = serializers.CharField()
    references = serializers.ListField(child=serializers.FileField(), min_length=1,
                                       help_text="Recordings of the voice; only their speaker embeddings are kept.")


class ProtectedVoiceViewSet(OrganisationScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                            mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Voices that must never be enrolled: the organisation's own, plus global ones (read-only here)."""

    serializer_class = ProtectedVoiceSerializer
    permission_classes = [IsOrgAdmin]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def scoped_queryset(self, organisation):
        return selectors.protected_voices_for(organisation)

    @extend_schema(request={"multipart/form-data": ProtectedVoiceCreateSerializer},
                   responses={201: ProtectedVoiceSerializer})
    def create(self, request):
        form = ProtectedVoiceCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        protected = services.add_protected_voice(
            organisation=self.organisation, name=data["name"], reason=data["reason"], actor=request.user,
            references=[AudioUpload.from_file(handle) for handle in data["references"]])
        return Response(ProtectedVoiceSerializer(protected).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        if instance.is_global:
            raise PermissionDenied("global protected voices are managed by the platform's operators")
        services.remove_protected_voice(instance, actor=self.request.user)

