from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from voicegate.api import OrganisationScoped

from . import services
from .models import MEMBER_NAME_MAX_LENGTH, ApiToken, Membership, Role, member_name
from .permissions import IsOrgAdmin, IsOrganisationMember
from .selectors import members, membership_of, tokens_of


@extend_schema_field(OpenApiTypes.STR)
class MemberNameField(serializers.Field):
    """A user, read as the name people see: its username within its organisation."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, user) -> str:
        return member_name(user)


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    organisation_id = serializers.UUIDField()
    organisation = serializers.CharField()
    role = serializers.CharField()


class MeView(APIView):
    permission_classes = [IsOrganisationMember]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        membership = membership_of(request.user)
        return Response(MeSerializer({
            "username": member_name(request.user),
            "organisation_id": membership.organisation_id,
            "organisation": membership.organisation.name,
            "role": membership.role,
        }).data)


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]


class IssuedTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = ApiTokenSerializer.Meta.fields + ["token"]


class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      mixins.DestroyModelMixin,
                      viewsets.GenericViewSet):
    """The caller's own API tokens. DELETE revokes (the record stays for the audit trail)."""

    serializer_class = ApiTokenSerializer
    permission_classes = [IsOrganisationMember]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return tokens_of(self.request.user)

    @extend_schema(request=ApiTokenSerializer, responses={201: IssuedTokenSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ApiTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = services.issue_api_token(request.user, name=serializer.validated_data.get("name", "default"))
        data = ApiTokenSerializer(issued.token).data | {"token": issued.raw}
        return Response(data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.revoke_api_token(instance, actor=self.request.user)


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(max_length=MEMBER_NAME_MAX_LENGTH,
                                     help_text="Unique within your organisation (only there: members sign in with "
                                               "their organisation, username and password).")
    email = serializers.EmailField(source="user.email", required=False, allow_blank=True)
    password = serializers.CharField(write_only=True, required=False, min_length=10,
                                     help_text="Optional; without it the member signs in with API tokens only.")
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["id", "username", "email", "role", "password", "created_at"]
        read_only_fields = ["id", "created_at"]


class MemberViewSet(OrganisationScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin,
                    viewsets.GenericViewSet):
    """Members of the caller's organisation (admins only). The last admin cannot be demoted or removed (409)."""

    serializer_class = MemberSerializer
    permission_classes = [IsOrgAdmin]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self, organisation):
        return members(organisation) if organisation else Membership.objects.none()

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.add_member(
            self.organisation, data["username"], data["role"], actor=self.request.user,
            password=data.get("password"), email=data.get("user", {}).get("email", ""))

    def perform_update(self, serializer):
        role = serializer.validated_data.get("role")
        if role:
            serializer.instance = services.change_role(serializer.instance, role, actor=self.request.user)

    def perform_destroy(self, instance):
        services.remove_member(instance, actor=self.request.user)


