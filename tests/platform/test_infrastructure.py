"""Health, storage on both backends, configuration errors, layout, and a real Celery worker."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage

from voicegate.config import VARIABLES

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def test_stdlib_platform_module_is_not_shadowed():
    result = subprocess.run([PYTHON, "-c", "import platform; print(platform.system())"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "Linux"


def test_healthz_reports_each_part(client, db):
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok", "broker": "ok", "storage": "ok"}


def test_healthz_reports_a_broken_part_with_503(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["status"] == "error" and checks["database"]["status"] == "ok"


@pytest.fixture
def s3_storage(s3_endpoint):
    bucket = f"vg-test-{uuid.uuid4().hex[:8]}"
    options = dict(endpoint_url=s3_endpoint, access_key="testing", secret_key="testing", region_name="us-east-1")
    boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="testing", aws_secret_access_key="testing",
                 region_name="us-east-1").create_bucket(Bucket=bucket)
    return S3Storage(bucket_name=bucket, addressing_style="path", file_overwrite=False, **options)


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_storage_round_trip(backend, tmp_path, request):
    storage = FileSystemStorage(location=tmp_path) if backend == "local" else request.getfixturevalue("s3_storage")
    payload = os.urandom(200_000)
    name = storage.save("voices/ref.wav", ContentFile(payload))
    assert storage.exists(name) and storage.size(name) == len(payload)
    with storage.open(name) as handle:
        assert handle.read() == payload
    second = storage.save("voices/ref.wav", ContentFile(b"other"))
    assert second != name  # nothing already stored is overwritten
    storage.delete(name)
    assert not storage.exists(name) and storage.exists(second)


def _manage(*args, env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "STORAGE_BACKEND"}}
    env.update(env_overrides)
    return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_unknown_storage_kind_fails_at_start_naming_the_variable():
    result = _manage("check", env_overrides={"STORAGE_BACKEND": "floppy"})
    assert result.returncode != 0 and "STORAGE_BACKEND" in result.stderr and "floppy" in result.stderr


def test_unreachable_database_fails_at_start_naming_the_variable():
    result = _manage("check", env_overrides={"DATABASE_URL": "postgres://nobody:secret@127.0.0.1:1/none"})
    assert result.returncode != 0 and "DATABASE_URL" in result.stderr
    assert "secret" not in result.stderr


def test_malformed_database_url_fails_naming_the_variable():
    result = _manage("check", env_overrides={"DATABASE_URL": "mongodb://x/y"})
    assert result.returncode != 0 and "DATABASE_URL" in result.stderr


def test_readme_lists_every_variable_with_its_default():
    readme = (ROOT / "README.md").read_text()
    missing = [v.name for v in VARIABLES if f"`{v.name}`" not in readme]
    assert not missing, f"README does not document: {missing}"


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_task_runs_through_the_real_broker_on_a_real_worker(settings):
    broker = os.environ.get("CELERY_BROKER_URL")
    if not broker:
        pytest.skip("needs CELERY_BROKER_URL (CI sets it to Redis)")
    from django.db import connection

    from voicegate.audit.models import AuditEntry
    from voicegate.audit.tasks import verify_audit_chain
    from voicegate.celery import app

    db_name = connection.settings_dict["NAME"]
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="voicegate.settings")
    if connection.vendor == "postgresql":
        base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        env["DATABASE_URL"] = f"{base}/{db_name}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{db_name}"
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = subprocess.Popen(
        [PYTHON, "-m", "celery", "-A", "voicegate", "worker", "-Q", queue, "-c", "1", "--pool", "solo",
         "-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "-l", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        app.conf.broker_url = broker
        result = verify_audit_chain.apply_async(queue=queue)
        value = result.get(timeout=90)
        assert value["ok"] is True
        deadline = time.time() + 10
        while not AuditEntry.objects.filter(action="audit.chain_verified").exists() and time.time() < deadline:
            time.sleep(0.2)
        assert AuditEntry.objects.filter(action="audit.chain_verified").exists()
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
