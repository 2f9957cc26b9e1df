"""Implicit AI labels in every offered format, the audible disclosure, and signed C2PA manifests."""
from __future__ import annotations

import io
import json
import subprocess

import numpy as np
import pytest
import soundfile as sf

from tests.speech import SENTENCES, speech
from watermark.labels import DIGITAL_SOURCE_TYPE, AiLabel, LabelError, audible_disclosure, read_labels, write_labels
from watermark.manifest import ManifestError, ManifestInfo, SignerConfig, generate_dev_ca, read_manifest, sign_audio

FORMATS = {"wav": (["-c:a", "pcm_s16le"], "wav"), "mp3": (["-c:a", "libmp3lame", "-b:a", "64k"], "mp3"),
           "ogg": (["-c:a", "libopus", "-b:a", "32k"], "ogg"), "flac": (["-c:a", "flac"], "flac"),
           "m4a": (["-c:a", "aac", "-b:a", "64k"], "ipod")}
LABEL = AiLabel(provider="Acme Media via voicegate", generation_id="gen-7f3a", reserved_code1="watermark:c0ffee42")


def _encode(samples: np.ndarray, sr: int, fmt: str, tmp_path) -> bytes:
    args, muxer = FORMATS[fmt]
    out = tmp_path / f"clip.{fmt}"
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "f32le", "-ar", str(sr), "-ac", "1", "-i",
                    "pipe:0", *args, "-f", muxer, str(out)], input=samples.astype(np.float32).tobytes(), check=True)
    return out.read_bytes()


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return speech(SENTENCES[2], "piper", 24000)[: 2 * 24000]


@pytest.fixture(scope="module")
def dev_ca(tmp_path_factory):
    return generate_dev_ca(tmp_path_factory.mktemp("ca"))


def _ffprobe_tags(path) -> dict:
    result = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format_tags:stream_tags", "-of", "json",
                             str(path)], capture_output=True, text=True, check=True)
    info = json.loads(result.stdout)
    tags = dict(info.get("format", {}).get("tags", {}))
    for stream in info.get("streams", []):
        tags.update(stream.get("tags", {}))
    return {k.upper(): v for k, v in tags.items()}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_labels_written_and_read_in_every_format(fmt, clip, tmp_path):
    labelled = write_labels(_encode(clip, 24000, fmt, tmp_path), fmt, LABEL)
    found = read_labels(labelled)
    assert found["format"] == fmt and found["ai_generated"] is True
    assert found["aigc"] == LABEL.aigc() and found["aigc"]["Label"] == "1"
    assert set(found["aigc"]) == {"Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator",
                                  "PropagateID", "ReservedCode2"}
    assert found["digital_source_type"] == DIGITAL_SOURCE_TYPE
    assert found["provider"] == LABEL.provider and found["generation_id"] == LABEL.generation_id
    assert found["date"]
    # An independent reader (ffprobe) sees the label, and the audio still decodes.
    path = tmp_path / f"labelled.{fmt}"
    path.write_bytes(labelled)
    tags = _ffprobe_tags(path)
    assert any("AIGC" in key or "AIGC" in value for key, value in tags.items()), tags
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1", "pipe:1"],
                             capture_output=True, check=True).stdout
    assert len(decoded) > 0


def test_other_providers_labels_are_read(clip, tmp_path):
    from mutagen.flac import FLAC

    path = tmp_path / "other.flac"
    path.write_bytes(_encode(clip, 24000, "flac", tmp_path))
    tags = FLAC(path)
    tags["AIGC"] = json.dumps({"Label": "1", "ContentProducer": "OtherCo", "ProduceID": "x-99"})
    tags.save()
    found = read_labels(path.read_bytes())
    assert found["ai_generated"] is True and found["provider"] == "OtherCo" and found["generation_id"] == "x-99"
    plain = read_labels(_encode(clip, 24000, "wav", tmp_path))
    assert plain["ai_generated"] is None and plain["aigc"] is None


def test_labelling_garbage_is_refused():
    with pytest.raises(LabelError):
        write_labels(b"not a wav file at all", "wav", LABEL)
    with pytest.raises(LabelError):
        write_labels(b"x", "aiff", LABEL)


def test_audible_disclosure_is_a_short_rising_triad():
    cue = audible_disclosure(16000, "en")
    assert cue.dtype == np.float32 and 0.5 < cue.size / 16000 < 1.0
    assert 0.05 < np.max(np.abs(cue)) < 0.2  # about -18 dBFS: noticeable, not startling
    tone = cue[: int(0.11 * 16000)]
    peak_hz = np.argmax(np.abs(np.fft.rfft(tone, 16000)))
    assert abs(peak_hz - 1046) < 15
    spoken = audible_disclosure(22050, "zh", spoken=True)
    assert spoken.size > audible_disclosure(22050, "zh").size  # espeak-ng adds the "AI生成" cue


@pytest.mark.parametrize("fmt", ["wav", "mp3", "m4a", "flac"])
def test_signed_manifest_validates_and_states_the_claims(fmt, clip, dev_ca, tmp_path):
    data = write_labels(_encode(clip, 24000, fmt, tmp_path), fmt, LABEL)
    info = ManifestInfo(generation_id="gen-7f3a", consent_sha256="a" * 64, watermark_payload="c0ffee42")
    signed = sign_audio(data, fmt, info, SignerConfig(dev_ca["cert_chain"], dev_ca["private_key"]))
    report = read_manifest(signed, fmt)
    assert report.present and report.valid and not report.trusted  # valid, but our dev root is not anchored
    assert report.claim_generator.startswith("voicegate")
    created = [a for a in report.actions if a["action"] == "c2pa.created"]
    assert created and created[0]["digitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert report.assertion["consent_record_sha256"] == "a" * 64
    assert report.assertion["generation_id"] == "gen-7f3a"
    anchored = read_manifest(signed, fmt, trust_anchors_pem=open(dev_ca["root_cert"]).read())
    assert anchored.trusted and anchored.valid
    assert read_labels(signed)["generation_id"] == "gen-7f3a"  # signing keeps the labels


@pytest.mark.parametrize("fmt", ["wav", "mp3", "flac"])
def test_a_stock_voice_is_named_in_labels_and_manifest_with_no_consent_hash(fmt, clip, dev_ca, tmp_path):
    label = AiLabel(provider="voicegate", generation_id="gen-s1", voice="stock voice af_heart")
    data = write_labels(_encode(clip, 24000, fmt, tmp_path), fmt, label)
    assert read_labels(data)["voice"] == "stock voice af_heart"
    info = ManifestInfo(generation_id="gen-s1", consent_sha256=None,
                        extra={"voice": "stock voice af_heart", "stock_voice": "af_heart"})
    report = read_manifest(sign_audio(data, fmt, info, SignerConfig(dev_ca["cert_chain"], dev_ca["private_key"])), fmt)
    assert report.valid and report.assertion["voice"] == "stock voice af_heart"
    assert "consent_record_sha256" not in report.assertion
    assert read_labels(write_labels(_encode(clip, 24000, fmt, tmp_path), fmt, LABEL))["voice"] is None


def test_altered_audio_fails_validation(clip, dev_ca, tmp_path):
    data = _encode(clip, 24000, "wav", tmp_path)
    signed = sign_audio(data, "wav", ManifestInfo("gen-1", "b" * 64), SignerConfig(dev_ca["cert_chain"],
                                                                                   dev_ca["private_key"]))
    samples, sr = sf.read(io.BytesIO(signed), dtype="int16")
    header = signed.find(samples[:8].tobytes())
    tampered = bytearray(signed)
    tampered[header + 20000:header + 20010] = b"\x00" * 10  # silence a few samples of audio
    report = read_manifest(bytes(tampered), "wav")
    assert report.present and not report.valid
    assert any("mismatch" in error for error in report.errors)


def test_unsigned_and_unsupported(clip, dev_ca, tmp_path):
    assert not read_manifest(_encode(clip, 24000, "wav", tmp_path), "wav").present
    with pytest.raises(ManifestError, match="ogg"):
        sign_audio(_encode(clip, 24000, "ogg", tmp_path), "ogg", ManifestInfo("g", "c" * 64),
                   SignerConfig(dev_ca["cert_chain"], dev_ca["private_key"]))


def test_dev_ca_leaf_is_not_self_signed(dev_ca):
    from cryptography import x509

    chain = x509.load_pem_x509_certificates(open(dev_ca["cert_chain"], "rb").read())
    leaf, root = chain
    assert leaf.issuer == root.subject != leaf.subject
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
