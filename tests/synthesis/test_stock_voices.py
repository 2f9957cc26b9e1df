"""Stock voices: listed, selectable without consent, and provenance-marked like any other output."""
from __future__ import annotations

import pytest

from synthesis import stock
from synthesis.engines import kokoro

STOCK = "jf_alpha"  # a Japanese female voice today; any name stock_packs() returns works the same
TEXT = "Good morning. This clip is short."


@pytest.fixture
def more_stock_voices(monkeypatch):
    """The engine with Kokoro v1.0's naming scheme beyond the Japanese packs (the reworked loader's 54)."""
    packs = dict(kokoro.stock_packs())
    for name in ("af_heart", "am_adam", "bf_emma", "bm_george", "zf_xiaobei", "ef_dora", "hf_alpha", "if_sara",
                 "pm_alex", "xx_mystery"):
        packs[name] = packs[STOCK]
    monkeypatch.setattr(kokoro, "stock_packs", lambda: packs)
    return packs


# --------------------------------------------------------------------------- the catalogue
def test_language_and_gender_come_from_the_kokoro_name(more_stock_voices):
    voices = {voice.name: voice for voice in stock.stock_voices()}
    assert len(voices) == len(more_stock_voices) and list(voices) == sorted(voices)
    expected = {"af_heart": ("en", "female"), "am_adam": ("en", "male"), "bf_emma": ("en-gb", "female"),
                "bm_george": ("en-gb", "male"), "zf_xiaobei": ("zh", "female"), "ef_dora": ("es", "female"),
                "hf_alpha": ("hi", "female"), "if_sara": ("it", "female"), "pm_alex": ("pt", "male"),
                "jf_alpha": ("ja", "female"), "jm_kumo": ("ja", "male"), "xx_mystery": (None, None)}
    for name, (language, gender) in expected.items():
        assert (voices[name].language, voices[name].gender, voices[name].label) == (language, gender, "stock voice")
    assert stock.stock_voice_profile("bf_emma").metadata == {"stock_voice": "bf_emma"}


@pytest.mark.django_db
def test_auto_language_defaults_to_the_stock_voices_own(tenant, more_stock_voices):
    from synthesis import services

    def resolved(name: str, text: str) -> str:
        return services.request_synthesis(user=tenant.producer.user, stock_voice=name, text=text,
                                          language="auto").resolved_language

    assert resolved("bf_emma", TEXT) == "en-gb"  # English text, a British voice: British English
    assert resolved("ef_dora", "Buenos días") == "es"  # no telling words: the voice's own language
    assert resolved("ef_dora", TEXT) == "en"  # the text says English
    assert resolved("jf_alpha", "你好，世界。") == "zh"  # the script decides
    assert resolved("jf_alpha", "Good morning") == "en"  # a Japanese voice does not read Latin script as Japanese
