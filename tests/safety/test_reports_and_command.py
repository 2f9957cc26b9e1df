"""Readable evidence reports (HTML, JSON, PDF) and the verify_clip operator command."""
from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from .conftest import RATE, upload, wav


@pytest.fixture
def verified(tenant, made_here):
    generation, marked = made_here
    return generation, upload(tenant.moderator.client, wav(marked[:5 * RATE]), "suspect.wav").json()


def test_html_report_cites_the_evidence(tenant, verified):
    generation, body = verified
    response = tenant.moderator.client.get(f"/api/v1/verifications/{body['id']}/report/?format=html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Generated on this platform" in page and str(generation.pk) in page and "suspect.wav" in page


def test_json_and_pdf_exports(tenant, verified):
    _, body = verified
    exported = tenant.moderator.client.get(f"/api/v1/verifications/{body['id']}/report/?format=json")
    assert exported.status_code == 200 and json.loads(exported.content)["verdict"] == "generated_here"
    pdf = tenant.moderator.client.get(f"/api/v1/verifications/{body['id']}/report/?format=pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert tenant.moderator.client.get(f"/api/v1/verifications/{body['id']}/report/?format=doc").status_code in (400, 404)


def test_verify_clip_command_prints_the_contract(made_here, tmp_path, capsys):
    generation, marked = made_here
    path = tmp_path / "clip.wav"
    path.write_bytes(wav(marked[:5 * RATE]))
    call_command("verify_clip", str(path), "--json")
    result = json.loads(capsys.readouterr().out)
    assert {"verdict", "generation_id", "watermark", "fingerprint", "voice_matches", "manifest",
            "explanation", "labels"} <= set(result)
    assert result["verdict"] == "generated_here" and result["generation_id"] == str(generation.pk)
    assert set(result["watermark"]) >= {"detected", "confidence", "payload"}
    assert result["watermark"]["generation"]["disclosure"] == "full"


def test_verify_clip_command_fails_cleanly_on_a_bad_file(db, tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("not audio at all " * 20)
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_clip", str(path), "--json")
    assert exit_info.value.code == 1
    assert "not audio" in json.loads(capsys.readouterr().out)["error"]


def test_the_default_upload_limit_is_the_100_mb_the_readme_states(db, tmp_path, capsys):
    from pathlib import Path

    from safety import conf

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "| `VERIFY_MAX_BYTES` | 100000000 | Largest clip accepted for verification, in bytes (100 MB" in readme
    assert conf.max_bytes() == 100_000_000
    path = tmp_path / "huge.wav"
    with open(path, "wb") as handle:  # sparse: one byte over the limit, nothing written
        handle.truncate(conf.max_bytes() + 1)
    with pytest.raises(SystemExit):
        call_command("verify_clip", str(path), "--json")
    assert "the file is 100.0 MB; at most 100 MB is accepted" in json.loads(capsys.readouterr().out)["error"]


def test_verify_clip_reports_a_truncated_file_as_damaged(db, narration, tmp_path, capsys):
    from voicegate.audio import encode_audio

    whole = encode_audio(narration[:4 * RATE], RATE, "ogg")
    path = tmp_path / "cut.ogg"
    path.write_bytes(whole[:len(whole) // 2])
    call_command("verify_clip", str(path), "--json")
    result = json.loads(capsys.readouterr().out)
    assert result["decode"]["damaged"] is True
    assert any("end-of-stream" in problem for problem in result["decode"]["problems"])
    assert "The file is damaged" in result["explanation"]
