"""The 54 stock voices: one sha256-pinned kokoro-js loader, their languages, and the engine using them."""
from __future__ import annotations

import io
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from synthesis import voices
from synthesis.engines.kokoro import stock_profile
from synthesis.profile import VoiceProfile


def _fake_tarball(folder: Path, name: str = "kokoro-js-1.2.1.tgz") -> Path:
    path = folder / name
    with tarfile.open(path, "w:gz") as archive:
        data = np.zeros((510, 256), "<f4").tobytes()
        member = tarfile.TarInfo("package/voices/af_fake.bin")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    return path


def test_the_loader_refuses_a_tarball_whose_sha256_is_not_the_pinned_one(tmp_path):
    with pytest.raises(voices.StockVoicesUnavailable, match="sha256"):
        voices.fetch_kokoro_js(tmp_path, download=_fake_tarball)
    assert not voices.tarball_path(tmp_path).exists()  # nothing unverified is left in the cache
    # and a tampered file already in the cache is refused on reading too
    _fake_tarball(tmp_path)
    with pytest.raises(voices.StockVoicesUnavailable, match="sha256"):
        voices.kokoro_js_voices(tmp_path)


def test_the_loader_keeps_a_download_whose_sha256_matches(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    fake = _fake_tarball(tmp_path / "elsewhere")
    digest = voices.sha256_of(fake)
    kept = voices.fetch_kokoro_js(tmp_path / "cache", expected_sha256=digest,
                                  download=lambda folder: _fake_tarball(folder))
    assert kept == voices.tarball_path(tmp_path / "cache") and voices.sha256_of(kept) == digest
    assert list(voices.read_voices(kept)) == ["af_fake"]


def test_a_missing_tarball_is_reported_with_how_to_install_it(tmp_path):
    with pytest.raises(voices.StockVoicesUnavailable, match="make install"):
        voices.kokoro_js_voices(tmp_path)


def test_all_54_stock_voices_load_with_their_languages_and_genders():
    packs = voices.kokoro_js_voices(fetch=True)  # installed by make install; fetched here otherwise
    assert len(packs) == 54
    assert all(pack.shape == (510, 256) and pack.dtype == np.float32 for pack in packs.values())
    languages = Counter(voices.describe(name).language for name in packs)
    assert languages == {"en": 20, "en-gb": 8, "zh": 8, "ja": 5, "es": 3, "fr": 1, "hi": 4, "it": 2, "pt": 3}
    assert voices.describe("zm_yunxi").gender == "male" and voices.describe("af_heart").gender == "female"
    # the wheel's Japanese packs are the same voices, bit for bit
    wheel = voices._japanese_wheel_packs()
    assert all(np.array_equal(wheel[name], packs[name]) for name in voices.JAPANESE_WHEEL_VOICES)
    assert voices.voices_for("zh", "female")[0].startswith("zf_")


def test_the_engine_offers_every_stock_voice_labelled_as_such():
    voices.stock_packs.cache_clear()
    profile = stock_profile("zf_xiaobei")
    assert profile.metadata["label"].startswith("stock voice zf_xiaobei")
    assert profile.metadata["language"] == "zh" and len(voices.named_voices()) == 54
    with pytest.raises(ValueError, match="unknown stock voice"):
        stock_profile("xx_nobody")


def test_a_profile_keeps_its_language_variants_through_serialisation():
    packs = voices.stock_packs()
    profile = VoiceProfile("kokoro", packs["af_heart"], pitch_semitones=1.5,
                           languages={"zh": (packs["zf_xiaobei"], -0.5)})
    again = VoiceProfile.from_bytes(profile.to_bytes())
    assert np.array_equal(again.for_language("zh").style, packs["zf_xiaobei"])
    assert again.for_language("zh").pitch_semitones == -0.5
    assert again.for_language("en") is again and again.pitch_semitones == 1.5
