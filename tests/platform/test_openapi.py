"""Publishing tools rely on the OpenAPI schema: it renders and covers every API route."""
from __future__ import annotations

import io

import yaml
from django.core.management import call_command


def test_schema_and_docs_are_served(client, db):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    document = yaml.safe_load(schema.content)
    assert "apiToken" in document["components"]["securitySchemes"]
    paths = set(document["paths"])
    assert {"/api/v1/me/", "/api/v1/audit/", "/api/v1/voices/", "/api/v1/consents/", "/api/v1/syntheses/",
            "/api/v1/verifications/"} <= paths
    assert client.get("/api/docs/").status_code == 200


def test_schema_generation_reports_no_errors(db):
    out, err = io.StringIO(), io.StringIO()
    call_command("spectacular", "--fail-on-warn", stdout=out, stderr=err)
    assert "Error" not in err.getvalue(), err.getvalue()
