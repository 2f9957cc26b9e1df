"""Out of the box (no certificate configured) every output is still signed, with a development CA."""
from __future__ import annotations

import numpy as np

from voicegate.audio import encode_audio
from watermark import services


def test_unconfigured_installation_creates_a_dev_ca_and_signs(settings, tmp_path):
    dev = tmp_path / "provenance"
    settings.PROVENANCE_DEV_CA_DIR = str(dev)
    settings.PROVENANCE_CERT_CHAIN = str(dev / "chain.pem")
    settings.PROVENANCE_PRIVATE_KEY = str(dev / "leaf.key")
    settings.PROVENANCE_TRUST_ANCHORS = str(dev / "root.pem")
    tone = (0.1 * np.sin(2 * np.pi * 220 * np.arange(24000) / 24000)).astype(np.float32)
    labelled = services.label_and_sign(encode_audio(tone, 24000, "wav"), "wav",
                                       services.ProvenanceInfo(generation_id="g-1", consent_sha256="0" * 64))
    assert (dev / "chain.pem").is_file() and labelled.manifest is not None
    report = services.manifest_report(labelled.data, "wav")
    assert report.present and report.valid and report.trusted
