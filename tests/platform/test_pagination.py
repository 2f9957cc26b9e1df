"""Every list endpoint bounds and validates ?limit= and ?offset= (400 with a message, never a 500)."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

LISTS = ["tokens", "members", "audit", "owners", "voices", "consents", "protected-voices", "syntheses",
         "enrollments", "stock-voices", "verifications", "moderation"]
HUGE = "19303388306727378944"  # over PostgreSQL's bigint


@pytest.mark.parametrize("endpoint", LISTS)
@pytest.mark.parametrize("query,message", [
    (f"limit={HUGE}", "limit is over the largest page size (200)"),
    (f"offset={HUGE}", "offset is over the largest offset (1,000,000,000)"),
    ("limit=1000000000", "limit is over the largest page size (200)"),
    ("limit=0", "limit must be at least 1"),
    ("offset=-1", "offset must be at least 0"),
    ("limit=ten", "limit must be a whole number from 1 to 200"),
    ("offset=1e3", "offset must be a whole number from 0 to 1,000,000,000"),
])
def test_out_of_range_or_malformed_page_values_are_a_400_with_a_message(tenant, endpoint, query, message):
    response = tenant.admin.client.get(f"/api/v1/{endpoint}/?{query}")
    assert response.status_code == 400, response.content
    assert response.json() == {"error": message, "code": "invalid", "details": response.json()["details"]}


@pytest.mark.parametrize("endpoint", LISTS)
def test_the_largest_page_and_offset_are_accepted(tenant, endpoint):
    response = tenant.admin.client.get(f"/api/v1/{endpoint}/?limit=200&offset=1000000000")
    assert response.status_code == 200, response.content
    assert response.json()["results"] == []


def test_pages_split_a_list_and_the_maximum_is_configurable(tenant, settings):
    entries = tenant.admin.client.get("/api/v1/audit/").json()
    assert entries["count"] >= 3
    first = tenant.admin.client.get("/api/v1/audit/?limit=2").json()
    second = tenant.admin.client.get("/api/v1/audit/?limit=2&offset=2").json()
    assert len(first["results"]) == 2 and first["next"]
    assert [e["seq"] for e in first["results"] + second["results"]] == [e["seq"] for e in entries["results"][:4]]
    settings.API_MAX_PAGE_SIZE = 2
    assert tenant.admin.client.get("/api/v1/audit/?limit=3").status_code == 400


def test_the_schema_documents_the_bounds(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/voices/"]["get"]["parameters"]}
    assert parameters["limit"]["maximum"] == 200 and parameters["limit"]["minimum"] == 1
    assert parameters["offset"]["maximum"] == 1_000_000_000
