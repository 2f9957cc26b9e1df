"""Describes API-token authentication in the OpenAPI schema (drf-spectacular)."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "voicegate.accounts.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token vg_...` — create one with `manage.py org_create` or `POST /api/v1/tokens/`."}
