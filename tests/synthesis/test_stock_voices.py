"""Stock voices: listed, selectable without consent, and provenance-marked like any other output."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from synthesis import stock
from synthesis.engines import kokoro
from synthesis.models import Generation, GenerationStatus
from tests.synthesis.test_pipeline_support import *  # noqa: F401,F403  (fixtures)
from tests.synthesis.test_pipeline_support import assert_marked_for, decode
from voicegate.audit.models import AuditEntry

URL = "/api/v1/syntheses/"
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
    assert stock.stock_voice_profile("bf_emma").metadata["stock_voice"] == "bf_emma"


@pytest.mark.django_db
def test_the_list_endpoint_shows_every_stock_voice_labelled(tenant):
    response = tenant.moderator.client.get("/api/v1/stock-voices/?limit=200")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert response.json()["count"] == len(kokoro.stock_packs()) == len(rows)
    assert {"name": "jf_alpha", "language": "ja", "gender": "female", "label": "stock voice"} in rows
    assert {"name": "jm_kumo", "language": "ja", "gender": "male", "label": "stock voice"} in rows


# --------------------------------------------------------------------------- refusals
@pytest.mark.django_db
@pytest.mark.parametrize("which,message", [
    ({}, "give exactly one of voice"),
    ({"stock_voice": STOCK, "voice": "00000000-0000-0000-0000-000000000001"}, "both were given"),
    ({"stock_voice": "af_nobody"}, "unknown stock voice 'af_nobody'; choose one of: af_alloy, af_aoede"),
    ({"stock_voice": STOCK, "language": "yue", "text": "你好嘅"}, "does not speak Cantonese"),
])
def test_a_voice_must_be_exactly_one_known_choice(tenant, which, message):
    response = tenant.producer.client.post(URL, {"text": TEXT, "language": "en", **which}, format="json")
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert not Generation.objects.exists()


# --------------------------------------------------------------------------- synthesis
@pytest.mark.django_db
def test_a_stock_voice_needs_no_consent_and_is_marked_labelled_and_signed(tenant, other_tenant, signing,
                                                                         django_capture_on_commit_callbacks):
    from safety.models import RegisteredClip
    from watermark.labels import read_labels
    from watermark.services import manifest_report

    client = tenant.producer.client
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"stock_voice": STOCK, "text": TEXT, "language": "en"}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["stock_voice"] == STOCK and response.json()["voice"] is None
    shown = client.get(f"{URL}{response.json()['id']}/").json()
    assert shown["status"] == "succeeded" and shown["stock_voice"] == STOCK and shown["voice_name"] is None
    generation = Generation.objects.get(pk=shown["id"])
    assert generation.consent is None and generation.consent_ref == "" and generation.resolved_language == "en"

    audio = client.get(f"{URL}{generation.pk}/audio/")
    assert audio.status_code == 200 and audio["X-AI-Generated"] == "true"
    assert_marked_for(*decode(audio.content), generation)
    labels = read_labels(audio.content)
    assert labels["ai_generated"] and labels["generation_id"] == str(generation.pk)
    assert labels["voice"] == "stock voice jf_alpha"
    manifest = manifest_report(audio.content, "wav")
    assert manifest.valid and manifest.assertion["generation_id"] == str(generation.pk)
    assert manifest.assertion["voice"] == "stock voice jf_alpha" and manifest.assertion["stock_voice"] == STOCK
    assert "consent_record_sha256" not in manifest.assertion and "consent_record_sha256" not in generation.manifest
    assert RegisteredClip.objects.filter(generation_id=generation.pk).exists()
    requested = AuditEntry.objects.get(action="synthesis.requested", target_id=str(generation.pk))
    assert requested.details["stock_voice"] == STOCK and requested.details["consent_record"] is None
    assert AuditEntry.objects.filter(action="synthesis.completed", target_id=str(generation.pk)).exists()

    rival = other_tenant.admin.client  # another organisation cannot read it
    for suffix in ("", "audio/", "stream/"):
        assert rival.get(f"{URL}{generation.pk}/{suffix}").status_code == 404
    assert str(generation.pk) not in {row["id"] for row in rival.get(URL).json()["results"]}


@pytest.mark.django_db
def test_a_stock_voice_streams_and_tts_takes_it(tenant):
    from synthesis.pipeline import read_streamed_wav

    client = tenant.producer.client
    response = client.post(URL, {"stock_voice": STOCK, "text": TEXT, "language": "en", "stream": True},
                           format="json")
    assert response.status_code == 200 and response["X-AI-Generated"] == "true"
    body = b"".join(response.streaming_content)
    assert b"stock voice jf_alpha" in body[:512]  # the streamed WAV's INFO label
    generation = Generation.objects.get()
    assert generation.status == GenerationStatus.SUCCEEDED and generation.stock_voice == STOCK
    assert_marked_for(*read_streamed_wav(body), generation)

    spoken = client.post("/tts", {"stock_voice": STOCK, "text": "Hi.", "language": "en"}, format="json")
    assert spoken.status_code == 200 and spoken["Content-Type"] == "audio/wav"
    assert Generation.objects.get(pk=spoken["X-Generation-Id"]).stock_voice == STOCK
    both = client.post("/tts", {"stock_voice": STOCK, "voice_id": str(generation.pk), "text": "Hi."}, format="json")
    assert both.status_code == 400 and "exactly one of voice_id, reference_audio or stock_voice" in str(both.json())


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


# --------------------------------------------------------------------------- the command
@pytest.mark.django_db
def test_the_command_synthesizes_with_a_stock_voice(tenant, tmp_path):
    from watermark.labels import read_labels

    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / "stock.wav"
    call_command("synthesize", "--stock-voice", STOCK, "--text", TEXT, "--language", "en", "--out", str(path),
                 "--org", tenant.organisation.name, "--json", stdout=out, stderr=err)
    result = json.loads(out.getvalue())
    generation = Generation.objects.get(pk=result["generation_id"])
    assert result["stock_voice"] == STOCK and result["voice"] is None and result["path"] == str(path.resolve())
    assert generation.user == tenant.admin.user and generation.consent is None
    assert_marked_for(*decode(path.read_bytes()), generation)
    assert read_labels(path.read_bytes())["voice"] == "stock voice jf_alpha"

    failed = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("synthesize", "--stock-voice", STOCK, "--text", "Hello.", "--out", str(path), "--json",
                     stdout=failed, stderr=io.StringIO())
    assert "needs --org ORG" in json.loads(failed.getvalue())["error"]
