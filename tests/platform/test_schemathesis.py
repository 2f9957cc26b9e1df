"""A bounded schemathesis run over the whole OpenAPI schema against the live test server: no 5xx.

All of schemathesis's checks run (``--checks all``) with a fixed seed and a few examples per
operation, inside a time budget; the run's report is read back and the test fails on any
response that is a server error (the other checks' findings are printed, for the record).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

SEED = 20261201
EXAMPLES_PER_OPERATION = 4
TIME_BUDGET_S = 100


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _responses(node):
    """Every (request, response) pair recorded anywhere in the report's events."""
    if isinstance(node, dict):
        response = node.get("response")
        if isinstance(response, dict) and isinstance(response.get("status_code"), int):
            yield node.get("request") or {}, response
        for value in node.values():
            yield from _responses(value)
    elif isinstance(node, list):
        for value in node:
            yield from _responses(value)


def _statuses(events: list[dict]) -> dict[int, int]:
    from collections import Counter

    return dict(Counter(response["status_code"] for _, response in _responses(events)))


def _server_errors(events: list[dict]) -> list[str]:
    """Every recorded response with a 5xx status, as 'METHOD uri -> status'."""
    return sorted({f"{request.get('method', '?')} {request.get('uri', '?')} -> {response['status_code']}"
                   for request, response in _responses(events) if response["status_code"] >= 500})


def test_no_operation_answers_a_server_error(live_server, tmp_path, settings):
    from tests.conftest import make_tenant

    # Rate limits and the invalid-token lockout would turn most of the run into 429s.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        "api_user": "100000/min", "synthesis_user": "100000/min", "synthesis_org": "100000/min"}}
    settings.TOKEN_FAILURE_LIMIT = 100_000
    tenant = make_tenant("Fuzz Media")
    report = tmp_path / "events.ndjson"
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{live_server.url}/api/schema/",
               "--checks", "all", "--seed", str(SEED), "--max-examples", str(EXAMPLES_PER_OPERATION),
               "--max-time", str(TIME_BUDGET_S), "--no-shrink", "--workers", "1", "--request-timeout", "60",
               "--continue-on-failure", "--header", f"Authorization: Token {tenant.admin.token}",
               "--report", "ndjson", "--report-ndjson-path", str(report), "--no-color", "--warnings", "off"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=TIME_BUDGET_S + 120, cwd=tmp_path)
    assert report.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    events = _events(report)
    assert len(events) > 20, run.stdout[-3000:]  # the run really exercised the API
    print(run.stdout[-4000:])  # the other checks' findings, for the record (pytest -s)
    statuses = _statuses(events)
    assert statuses.get(200, 0) > 50 and statuses.get(429, 0) < 20, statuses  # not throttled into silence
    server_errors = _server_errors(events)
    assert not server_errors, "\n".join(server_errors) + "\n" + run.stdout[-6000:]
