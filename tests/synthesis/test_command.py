"""manage.py synthesize / enroll_voice: the DESIGN.md JSON contract, progress on stderr, errors."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from synthesis.models import Generation
from tests.synthesis.test_pipeline_support import *  # noqa: F401,F403  (fixtures)
from tests.synthesis.test_pipeline_support import assert_marked_for, decode
from voicegate.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[int, dict, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, "--json", stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, json.loads(out.getvalue()), err.getvalue()


def test_synthesize_prints_the_contract_json_and_writes_a_marked_labelled_file(tenant, ready_voice, tmp_path):
    from watermark.labels import read_labels

    out = tmp_path / "clip.wav"
    code, result, stderr = run("synthesize", "--voice", str(ready_voice.pk), "--text", "Hello from the command line.",
                               "--out", str(out), "--language", "en", "--speed", "1.1",
                               "--user", tenant.producer.username)
    assert code == 0
    assert {"generation_id", "path", "duration_s", "watermark_payload", "elapsed_s"} <= set(result)
    generation = Generation.objects.get(pk=result["generation_id"])
    assert result["path"] == str(out.resolve()) and result["watermark_payload"] == generation.watermark_payload.hex()
    assert generation.user == tenant.producer.user and generation.speed == 1.1
    samples, rate = decode(out.read_bytes())
    assert abs(result["duration_s"] - samples.size / rate) < 0.05 and result["elapsed_s"] > 0
    assert_marked_for(samples, rate, generation)
    assert read_labels(out.read_bytes())["generation_id"] == result["generation_id"]
    assert "synthesizing [" in stderr and "100%" in stderr
    assert AuditEntry.objects.filter(action="synthesis.completed", target_id=result["generation_id"]).exists()


def test_synthesize_goes_through_the_consent_gate(tenant, voice, tmp_path):
    out = tmp_path / "clip.wav"
    code, result, _ = run("synthesize", "--voice", str(voice.pk), "--text", "No consent here.", "--out", str(out),
                          "--language", "en")
    assert code == 1 and "has no consent record" in result["error"] and not out.exists()


@pytest.mark.parametrize("args,message", [
    (["--voice", "nope"], "no voice with id 'nope'"),
    (["--user", "stranger"], "no member 'stranger'"),
    (["--speed", "9"], "from 0.5 to 2.0"),
    (["--out", "/nonexistent-folder/x.wav"], "does not exist"),
])
def test_synthesize_errors_exit_non_zero_with_a_message(tenant, ready_voice, tmp_path, args, message):
    base = {"--voice": str(ready_voice.pk), "--text": "Hi there.", "--out": str(tmp_path / "x.wav"),
            "--language": "en"}
    base.update(dict(zip(args[::2], args[1::2])))
    code, result, _ = run("synthesize", *[item for pair in base.items() for item in pair])
    assert code == 1 and message in result["error"]
    assert Generation.objects.count() == 0


def test_enroll_voice_reports_a_cached_profile(tenant, ready_voice):
    code, result, _ = run("enroll_voice", "--voice", str(ready_voice.pk))
    assert code == 0 and result["status"] == "ready" and result["voice_id"] == str(ready_voice.pk)
    code, result, _ = run("enroll_voice", "--voice", str(ready_voice.pk), "--budget-s", "0.1", "--force")
    assert code == 1 and "between 1 and 300 seconds" in result["error"]


def test_synthesize_refuses_unspeakable_text_and_stores_nothing(tenant, ready_voice, tmp_path):
    out = tmp_path / "clip.wav"
    code, result, _ = run("synthesize", "--voice", str(ready_voice.pk), "--text", "🎉🎉🎉", "--out", str(out),
                          "--language", "en", "--user", tenant.producer.username)
    assert code != 0 and "nothing speakable" in result["error"]
    assert Generation.objects.count() == 0 and not out.exists()
