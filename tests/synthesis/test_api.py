"""The synthesis REST API: refusals, rate limits, tenancy, roles, languages, streaming, audio formats."""
from __future__ import annotations

import pytest

from consent import services as consent_services
from synthesis.models import Generation, GenerationStatus
from synthesis.pipeline import read_streamed_wav
from tests.synthesis.test_pipeline_support import *  # noqa: F401,F403  (fixtures)
from tests.synthesis.test_pipeline_support import (SHORT_TEXT, assert_marked_for, cache_stock_profile, decode,
                                                    grant, make_voice, stored_outputs)
from voicegate.audit.models import AuditEntry

pytestmark = pytest.mark.django_db
URL = "/api/v1/syntheses/"


def body(target, **extra):
    return {"voice": str(target.pk), "text": SHORT_TEXT, "language": "en", **extra}


# --------------------------------------------------------------------------- refusals
def test_a_voice_without_consent_is_refused_with_the_reason(tenant, voice):
    response = tenant.producer.client.post(URL, body(voice), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "consent_refused" and "has no consent record" in response.json()["error"]
    assert Generation.objects.count() == 0
    assert AuditEntry.objects.filter(action="synthesis.refused").exists()


def test_a_revoked_consent_is_refused_with_its_date(tenant, ready_voice, consent):
    consent_services.revoke_consent(consent, actor=tenant.admin.user, reason="withdrawn")
    response = tenant.producer.client.post(URL, body(ready_voice), format="json")
    assert response.status_code == 403 and "was revoked on" in response.json()["error"]


def test_a_language_outside_the_consent_is_refused(tenant, voice):
    grant(voice, languages=("en",))
    response = tenant.producer.client.post(URL, body(voice, language="ja", text="こんにちは、元気ですか。"), format="json")
    assert response.status_code == 403 and "'ja' is not in the consent's scope" in response.json()["error"]


def test_a_use_outside_the_consent_is_refused(tenant, ready_voice):
    response = tenant.producer.client.post(URL, body(ready_voice, use="advertising"), format="json")
    assert response.status_code == 403 and "use 'advertising' is not in the consent's scope" in response.json()["error"]


@pytest.mark.parametrize("extra,status,message", [
    ({"text": "a" * 10_001}, 413, "10,001 characters; at most 10,000"),
    ({"text": "   "}, 400, "nothing to say"),
    ({"text": "😀🎉👍"}, 400, "nothing speakable"),
    ({"text": "… ‼ ___ ★ —"}, 400, "nothing speakable"),
    ({"speed": 3.0}, 400, "from 0.5 to 2.0"),
    ({"speed": 0.1}, 400, "from 0.5 to 2.0"),
    ({"format": "aiff"}, 400, "choose one of: wav, mp3, ogg, flac"),
    ({"language": "xx"}, 400, "supported languages"),
    ({"instruct": "用四川话说"}, 400, "dialect"),
    ({"instruct": "sing it"}, 400, "singing is not available"),
    ({"text": 123}, 400, "text"),
    ({"speed": "fast"}, 400, "speed"),
    ({"audible_label": "yes"}, 400, "audible_label"),
    ({"voice": "not-a-uuid"}, 400, "voice"),
])
def test_bad_requests_are_refused_with_a_clear_message_and_change_nothing(tenant, ready_voice, extra, status, message):
    response = tenant.producer.client.post(URL, body(ready_voice, **extra), format="json")
    assert response.status_code == status, response.content
    payload = response.json()
    assert message in payload["error"] or message in str(payload.get("details", ""))
    assert Generation.objects.count() == 0


@pytest.mark.parametrize("missing", ["voice", "text"])
def test_missing_fields_are_named(tenant, ready_voice, missing):
    data = body(ready_voice)
    del data[missing]
    response = tenant.producer.client.post(URL, data, format="json")
    assert response.status_code == 400 and missing in str(response.json()["details"])


def test_the_per_user_rate_limit_answers_429(tenant, ready_voice):
    client = tenant.producer.client
    codes = [client.post(URL, body(ready_voice), format="json").status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]
    assert Generation.objects.count() == 3
    assert client.get(URL).status_code == 200  # reading is not rate-limited as synthesis


# --------------------------------------------------------------------------- tenancy and roles
def test_other_organisations_generations_answer_404_and_are_not_listed(tenant, other_tenant, ready_voice,
                                                                      reference_wavs, reference_embedding):
    theirs = make_voice(other_tenant, reference_wavs, reference_embedding, name="Rival")
    grant(theirs)
    cache_stock_profile(theirs)
    response = other_tenant.producer.client.post(URL, body(theirs), format="json")
    assert response.status_code == 202
    their_id = response.json()["id"]
    ours = tenant.admin.client
    for suffix in ("", "audio/", "stream/"):
        assert ours.get(f"{URL}{their_id}/{suffix}").status_code == 404
    assert ours.post(f"{URL}{their_id}/cancel/").status_code == 404
    assert their_id not in {row["id"] for row in ours.get(URL).json()["results"]}
    # their voice cannot be used or enrolled from our side
    assert ours.post(URL, body(theirs), format="json").status_code == 404
    assert ours.get(f"/api/v1/voices/{theirs.pk}/enrollment/").status_code == 404
    assert ours.post(f"/api/v1/voices/{theirs.pk}/enrollment/", {}, format="json").status_code == 404
    assert str(theirs.pk) not in {row["voice"] for row in ours.get("/api/v1/enrollments/").json()["results"]}
    assert Generation.objects.get(pk=their_id).status == GenerationStatus.QUEUED


@pytest.mark.parametrize("role,create,read", [("producer", 202, 200), ("admin", 202, 200), ("moderator", 403, 200)])
def test_producers_and_admins_synthesize_moderators_only_read(tenant, ready_voice, role, create, read):
    client = tenant.member(role).client
    assert client.post(URL, body(ready_voice), format="json").status_code == create
    assert client.get(URL).status_code == read
    assert client.get("/api/v1/languages/").status_code == 200


def test_languages_list_engine_and_quality_tier(tenant):
    rows = {row["code"]: row for row in tenant.producer.client.get("/api/v1/languages/").json()["results"]}
    for code in ("zh", "en", "ja"):
        assert rows[code]["engine"] == "kokoro" and rows[code]["tier"] == "standard" and rows[code]["clones_voice"]
    assert rows["yue"]["tier"] == "basic" and rows["yue"]["engine"] == "espeak" and not rows["yue"]["clones_voice"]


# --------------------------------------------------------------------------- streaming and formats
def test_streaming_sends_the_first_sentence_before_the_last_is_synthesized(tenant, ready_voice, engine_log):
    text = ("The first sentence of this stream is long enough to play. The second one follows it. "
            "A third sentence comes next. And the fourth sentence ends the stream.")
    client = tenant.producer.client
    created = client.post(URL, body(ready_voice, text=text, delivery="stream"), format="json")
    assert created.status_code == 202 and created.json()["stream_url"].endswith("/stream/")
    generation = Generation.objects.get(pk=created.json()["id"])
    response = client.get(created.json()["stream_url"])
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
    assert response["X-AI-Generated"] == "true" and response["X-Watermark-Payload"] == generation.watermark_payload.hex()
    chunks = iter(response.streaming_content)
    header = next(chunks)
    assert header.startswith(b"RIFF") and b"AI-generated" in header
    first_audio = next(chunks)
    assert len(first_audio) > 24000  # more than half a second of 16-bit audio
    assert engine_log.inferences == 1  # sentences 2-4 not synthesized yet: playback can start
    streamed = header + first_audio + b"".join(chunks)
    assert engine_log.inferences == 4
    samples, rate = read_streamed_wav(streamed)
    generation.refresh_from_db()
    assert generation.status == GenerationStatus.SUCCEEDED and stored_outputs(tenant) == [generation.audio.name]
    assert_marked_for(samples, rate, generation)
    stored, stored_rate = decode(client.get(f"{URL}{generation.pk}/audio/").content)
    assert stored_rate == rate and abs(stored.size - samples.size) <= 1  # the stream is the saved output
    assert client.get(created.json()["stream_url"]).status_code == 200  # replays the stored output


def test_a_stream_can_be_asked_for_in_the_creating_request(tenant, ready_voice):
    response = tenant.producer.client.post(URL, body(ready_voice, stream=True), format="json")
    assert response.status_code == 200 and response["X-AI-Generated"] == "true"
    samples, rate = read_streamed_wav(b"".join(response.streaming_content))
    generation = Generation.objects.get(pk=response["X-Generation-Id"])
    assert generation.status == GenerationStatus.SUCCEEDED and generation.delivery == "stream"
    assert_marked_for(samples, rate, generation)


def test_a_background_job_cannot_be_streamed_while_queued(tenant, ready_voice):
    created = tenant.producer.client.post(URL, body(ready_voice), format="json").json()
    response = tenant.producer.client.get(f"{URL}{created['id']}/stream/")
    assert response.status_code == 409 and "background job" in response.json()["error"]


def test_audio_in_every_format_carries_watermark_and_labels(tenant, ready_voice, django_capture_on_commit_callbacks):
    from watermark.labels import read_labels

    client = tenant.producer.client
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(URL, body(ready_voice, format="mp3"), format="json").json()
    generation = Generation.objects.get(pk=created["id"])
    assert generation.status == GenerationStatus.SUCCEEDED and generation.audio.name.endswith(".mp3")
    for fmt, mime in (("mp3", "audio/mpeg"), ("ogg", "audio/ogg"), ("flac", "audio/flac"), ("wav", "audio/wav")):
        response = client.get(f"{URL}{generation.pk}/audio/?format={fmt}")
        assert response.status_code == 200 and response["Content-Type"] == mime
        assert response["X-AI-Generated"] == "true" and f".{fmt}" in response["Content-Disposition"]
        labels = read_labels(response.content)
        assert labels["ai_generated"] is True and labels["generation_id"] == str(generation.pk), fmt
        assert_marked_for(*decode(response.content), generation)
    assert client.get(f"{URL}{generation.pk}/audio/?format=aiff").status_code == 400
