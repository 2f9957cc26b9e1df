"""The provenance pipeline without the job layer: streamed WAV framing, early refusals, audible label, signing."""
from __future__ import annotations

import numpy as np
import pytest

from synthesis import pipeline
from synthesis.engines.base import InvalidSynthesisOption, UnsupportedLanguage
from synthesis.engines.kokoro import stock_profile
from synthesis.frontend import TextTooLong
from synthesis.instructions import UnsupportedInstruction

PAYLOAD = bytes.fromhex("c0ffee42")


def test_streamed_wav_header_and_pcm_read_back_as_the_samples():
    samples = (0.5 * np.sin(np.arange(2400) / 24000 * 2 * np.pi * 440)).astype(np.float32)
    data = pipeline.streaming_wav_header(24000, comment="AI-generated") + pipeline.pcm16(samples)
    assert data[4:8] == b"\xff\xff\xff\xff" and b"ICMT" in data  # sizes unknown; the AI label travels in INFO
    decoded, rate = pipeline.read_streamed_wav(data)
    assert rate == 24000 and np.max(np.abs(decoded - samples)) < 1e-4


@pytest.mark.parametrize("request_,error", [
    (pipeline.SynthesisRequest("x" * 10_001), TextTooLong),
    (pipeline.SynthesisRequest("Hello.", speed=2.5), InvalidSynthesisOption),
    (pipeline.SynthesisRequest("Hello.", language="tlh"), UnsupportedLanguage),
    (pipeline.SynthesisRequest("Hello.", instruct="in a Scottish accent"), UnsupportedInstruction),
    (pipeline.SynthesisRequest("Hello.", output_format="wma"), pipeline.UnsupportedFormat),
])
def test_requests_are_refused_before_any_synthesis(request_, error):
    with pytest.raises(error):
        pipeline.check_request(request_)


def test_auto_language_is_resolved_before_the_consent_gate_sees_it():
    assert pipeline.check_request(pipeline.SynthesisRequest("你好，今天天气很好。")) == "zh"
    assert pipeline.check_request(pipeline.SynthesisRequest("Good morning to you.")) == "en"


def _render(audible: bool) -> np.ndarray:
    plan = pipeline.plan_synthesis(pipeline.SynthesisRequest("Labelled speech.", "en"))
    return np.concatenate(list(pipeline.render_marked(plan, stock_profile(), PAYLOAD, audible_label=audible)))


def test_the_audible_label_prepends_the_cue_and_stays_marked():
    from watermark.labels import audible_disclosure
    from watermark.services import detect_in

    plain, labelled = _render(False), _render(True)
    cue = audible_disclosure(24000, "en", spoken=True)
    assert abs((labelled.size - plain.size) - cue.size) < 0.05 * 24000
    opening = labelled[: int(0.1 * 24000)]
    spectrum = np.abs(np.fft.rfft(opening))
    assert abs(np.argmax(spectrum) * 24000 / opening.size - 1046.5) < 20  # the first rising tone (C6)
    detection = detect_in(labelled, 24000)
    assert detection.detected and detection.payload == PAYLOAD


def test_every_offered_format_is_labelled_and_signed_where_c2pa_allows(tmp_path, settings):
    from watermark.labels import read_labels
    from watermark.manifest import generate_dev_ca, read_manifest

    paths = generate_dev_ca(tmp_path)
    settings.PROVENANCE_CERT_CHAIN, settings.PROVENANCE_PRIVATE_KEY = paths["cert_chain"], paths["private_key"]
    samples = (0.2 * np.sin(np.arange(24000) / 24000 * 2 * np.pi * 220)).astype(np.float32)
    for fmt in pipeline.REQUEST_FORMATS:
        packaged = pipeline.package_output(samples, 24000, fmt, generation_id="gen-1", consent_sha256="ab" * 32,
                                           watermark_payload=PAYLOAD)
        labels = read_labels(packaged.data)
        assert labels["ai_generated"] is True and labels["generation_id"] == "gen-1", fmt
        if fmt == "ogg":
            assert packaged.manifest == {"signed": False, "reason": "C2PA manifests cannot be embedded in ogg files"}
            continue
        report = read_manifest(packaged.data, fmt, trust_anchors_pem=open(paths["root_cert"]).read())
        assert packaged.manifest["signed"] and report.valid and report.trusted, (fmt, report.errors)
        assert report.assertion["consent_record_sha256"] == "ab" * 32
        assert report.assertion["watermark_payload"] == PAYLOAD.hex()
