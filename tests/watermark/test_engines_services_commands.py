"""Engine registry (incl. AudioSeal over a checkpoint the test builds), the provenance service, and
the operator commands' JSON contract."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf
from django.core.management import call_command

from tests.speech import SENTENCES, speech
from tests.watermark.attacks import ffmpeg
from tests.watermark.audioseal_checkpoint import build_checkpoints
from watermark import services
from watermark.engines import AudioSealEngine, DspEngine, EngineUnavailable, get_engine
from watermark.labels import read_labels
from watermark.manifest import generate_dev_ca, read_manifest


@pytest.fixture(scope="module")
def host() -> np.ndarray:
    return speech(SENTENCES[10], "piper", 22050)


def test_registry_defaults_to_dsp_and_rejects_unknown_names():
    assert isinstance(get_engine(), DspEngine)
    with pytest.raises(EngineUnavailable, match="unknown watermark engine"):
        get_engine("perth")
    with pytest.raises(EngineUnavailable, match="WATERMARK_AUDIOSEAL_GENERATOR"):
        get_engine("audioseal")


def test_audioseal_engine_loads_operator_checkpoints(tmp_path, host):
    pytest.importorskip("audioseal")
    generator, detector = build_checkpoints(tmp_path)
    engine = get_engine("audioseal", audioseal_generator=str(generator), audioseal_detector=str(detector))
    assert isinstance(engine, AudioSealEngine) and engine.payload_bytes == 2
    clip = host[: 22050]
    marked = engine.embed(clip, 22050, b"\xab\xcd")
    assert marked.shape == clip.shape and not np.allclose(marked, clip)  # the generator ran
    found = engine.detect(marked, 22050)  # untrained weights: only the contract is checked
    assert 0.0 <= found.confidence <= 1.0 and (found.payload is None or len(found.payload) == 2)


def test_audioseal_engine_reports_a_bad_checkpoint(tmp_path):
    pytest.importorskip("audioseal")
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a torch file")
    engine = get_engine("audioseal", audioseal_generator=str(bad), audioseal_detector=str(bad))
    with pytest.raises(EngineUnavailable, match="could not load"):
        engine.detect(np.zeros(16000, np.float32), 16000)


def test_service_marks_detects_and_streams(settings, host):
    settings.WATERMARK_ENGINE = "dsp"
    marked = services.mark_audio(host, 22050, b"\x00\x00\x30\x39")
    assert services.detect_in(marked, 22050).payload == b"\x00\x00\x30\x39"
    marker = services.streaming_marker(22050, b"\x00\x00\x30\x39")
    streamed = np.concatenate([marker.push(host[i:i + 4000]) for i in range(0, host.size, 4000)] + [marker.flush()])
    assert services.detect_in(streamed, 22050).payload == b"\x00\x00\x30\x39"


def test_service_engine_misconfiguration_is_a_domain_error(settings):
    settings.WATERMARK_ENGINE = "audioseal"
    settings.WATERMARK_AUDIOSEAL_GENERATOR = None
    with pytest.raises(services.ProvenanceError, match="not usable"):
        services.provenance_engine()


def test_label_and_sign_without_certificate_labels_only(settings, host):
    settings.PROVENANCE_CERT_CHAIN = None
    settings.PROVENANCE_PRIVATE_KEY = None
    data = _wav(host, 22050)
    result = services.label_and_sign(data, "wav", services.ProvenanceInfo("gen-1", "d" * 64, "00003039"))
    assert result.manifest is None
    assert read_labels(result.data)["generation_id"] == "gen-1"
    assert not read_manifest(result.data, "wav").present


def test_label_and_sign_with_dev_certificate(settings, tmp_path, host):
    paths = generate_dev_ca(tmp_path)
    settings.PROVENANCE_CERT_CHAIN, settings.PROVENANCE_PRIVATE_KEY = paths["cert_chain"], paths["private_key"]
    settings.PROVENANCE_TRUST_ANCHORS = paths["root_cert"]
    consent = services.consent_hash({"voice": 12, "owner": "Jane Roe", "scope": ["en"]})
    assert "Jane" not in consent and len(consent) == 64
    mp3 = ffmpeg(host, 22050, ["-c:a", "libmp3lame", "-b:a", "64k"], "mp3")
    data = _encode_mp3(mp3, 22050)
    result = services.label_and_sign(data, "mp3", services.ProvenanceInfo("gen-2", consent, "00003039"))
    report = services.manifest_report(result.data, "mp3")
    assert report.valid and report.trusted and report.assertion["consent_record_sha256"] == consent
    assert "Jane" not in json.dumps(report.raw)
    assert read_labels(result.data)["aigc"]["ReservedCode1"] == "watermark:00003039"


def test_missing_certificate_file_is_actionable(settings):
    settings.PROVENANCE_CERT_CHAIN, settings.PROVENANCE_PRIVATE_KEY = "/nonexistent/chain.pem", "/nonexistent/k"
    with pytest.raises(services.ProvenanceError, match="provenance_dev_ca"):
        services.signer_config()


def _wav(samples: np.ndarray, sr: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, sr, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _encode_mp3(samples: np.ndarray, sr: int) -> bytes:
    import subprocess

    return subprocess.run(["ffmpeg", "-v", "error", "-f", "f32le", "-ar", str(sr), "-ac", "1", "-i", "pipe:0",
                           "-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3", "pipe:1"],
                          input=samples.astype(np.float32).tobytes(), capture_output=True, check=True).stdout


def _command(*args: str) -> tuple[int, dict]:
    out = io.StringIO()
    try:
        call_command(*args, "--json", stdout=out, stderr=io.StringIO())
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, json.loads(out.getvalue())


def test_embed_and_detect_commands_round_trip_through_mp3(tmp_path, host, settings):
    settings.WATERMARK_ENGINE = "dsp"
    source = tmp_path / "in.wav"
    source.write_bytes(_wav(host, 22050))
    code, embedded = _command("watermark_embed", str(source), str(tmp_path / "out.mp3"), "--payload", "1A2B3C4D")
    assert code == 0 and embedded["payload"] == "1a2b3c4d"
    code, found = _command("watermark_detect", str(tmp_path / "out.mp3"))
    assert code == 0
    assert {"detected", "confidence", "payload", "segments"} <= set(found)
    assert found["detected"] is True and found["payload"] == "1a2b3c4d" and found["confidence"] == 1.0
    assert found["segments"] and all(len(s) == 2 and s[0] < s[1] for s in found["segments"])
    code, clean = _command("watermark_detect", str(source))
    assert code == 0 and clean["detected"] is False and clean["payload"] is None and clean["segments"] == []


def test_embed_command_picks_a_random_payload(tmp_path, host):
    source = tmp_path / "in.flac"
    sf.write(source, host[:22050 * 3], 22050)
    code, first = _command("watermark_embed", str(source), str(tmp_path / "a.wav"))
    code2, second = _command("watermark_embed", str(source), str(tmp_path / "b.wav"))
    assert code == code2 == 0 and len(first["payload"]) == 8 and first["payload"] != second["payload"]


@pytest.mark.parametrize("payload", ["zz", "123", "1a2b3c4d5", "0x12345g78"])
def test_bad_payload_hex_is_an_error(tmp_path, host, payload):
    source = tmp_path / "in.wav"
    source.write_bytes(_wav(host[:22050], 22050))
    code, result = _command("watermark_embed", str(source), str(tmp_path / "o.wav"), "--payload", payload)
    assert code == 1 and "8 hex digits" in result["error"]


def test_corrupt_or_missing_input_is_an_error(tmp_path):
    corrupt = tmp_path / "broken.mp3"
    corrupt.write_bytes(b"ID3" + bytes(range(256)) * 8)
    code, result = _command("watermark_detect", str(corrupt))
    assert code == 1 and result["error"]
    code, result = _command("watermark_detect", str(tmp_path / "missing.wav"))
    assert code == 1 and "not found" in result["error"]
    code, result = _command("watermark_embed", str(corrupt), str(tmp_path / "x.xyz"))
    assert code == 1 and result["error"]


def test_dev_ca_command_writes_usable_paths(tmp_path):
    code, result = _command("provenance_dev_ca", str(tmp_path / "ca"))
    assert code == 0
    assert set(result["settings"]) == {"PROVENANCE_CERT_CHAIN", "PROVENANCE_PRIVATE_KEY", "PROVENANCE_TRUST_ANCHORS"}
    assert (tmp_path / "ca" / "chain.pem").read_text().count("BEGIN CERTIFICATE") == 2
