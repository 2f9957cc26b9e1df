"""Ogg Opus streaming: pages of the first sentence leave before the last sentence is synthesized."""
from __future__ import annotations

import io

import pytest
import soundfile as sf

from synthesis.models import Generation, GenerationStatus
from tests.synthesis.test_pipeline_support import *  # noqa: F401,F403  (fixtures)
from tests.synthesis.test_pipeline_support import assert_marked_for, stored_outputs

pytestmark = pytest.mark.django_db

URL = "/api/v1/syntheses/"
TEXT = ("The first sentence of this stream is long enough to play. The second one follows it. "
        "A third sentence comes next. And the fourth sentence ends the stream.")


def test_ogg_opus_stream_starts_before_the_last_sentence_and_is_marked_and_labelled(tenant, ready_voice, engine_log):
    from watermark.labels import read_labels

    client = tenant.producer.client
    created = client.post(URL, {"voice": str(ready_voice.pk), "text": TEXT, "language": "en", "delivery": "stream"},
                          format="json").json()
    generation = Generation.objects.get(pk=created["id"])
    response = client.get(created["stream_url"] + "?format=ogg")
    assert response.status_code == 200 and response["Content-Type"] == "audio/ogg"
    assert response["X-AI-Generated"] == "true"
    chunks = iter(response.streaming_content)
    first = next(chunks)
    assert engine_log.inferences == 1  # sentences 2-4 not synthesized yet
    assert first.startswith(b"OggS")
    playable, rate = sf.read(io.BytesIO(first))
    assert rate == 24000 and playable.size / rate > 1.0  # a player already has over a second to play
    streamed = first + b"".join(chunks)
    assert engine_log.inferences == 4
    samples, rate = sf.read(io.BytesIO(streamed), dtype="float32")
    generation.refresh_from_db()
    assert generation.status == GenerationStatus.SUCCEEDED and stored_outputs(tenant) == [generation.audio.name]
    assert abs(samples.size / rate - generation.duration_s) < 0.1  # the whole text, not just the first pages
    assert_marked_for(samples, rate, generation)  # the marked samples, through Opus
    labels = read_labels(streamed)
    assert labels["ai_generated"] is True and labels["generation_id"] == str(generation.pk)


def test_a_finished_stream_replays_in_the_format_asked_for(tenant, ready_voice):
    from watermark.labels import read_labels

    client = tenant.producer.client
    created = client.post(URL, {"voice": str(ready_voice.pk), "text": "Hello there. See you soon.", "language": "en",
                                "delivery": "stream"}, format="json").json()
    first = b"".join(client.get(created["stream_url"]).streaming_content)  # runs it; stored as WAV
    generation = Generation.objects.get(pk=created["id"])
    assert generation.status == GenerationStatus.SUCCEEDED and first.startswith(b"RIFF")

    replay = client.get(created["stream_url"] + "?format=ogg")
    assert replay.status_code == 200 and replay["Content-Type"] == "audio/ogg"
    ogg = b"".join(replay.streaming_content)
    samples, rate = sf.read(io.BytesIO(ogg), dtype="float32")
    assert abs(samples.size / rate - generation.duration_s) < 0.1
    assert_marked_for(samples, rate, generation)
    assert read_labels(ogg)["generation_id"] == str(generation.pk)

    pcm = client.get(created["stream_url"] + "?format=pcm")
    assert pcm["Content-Type"] == "audio/L16" and pcm["X-Sample-Rate"] == "24000"
    assert abs(len(b"".join(pcm.streaming_content)) / 2 / 24000 - generation.duration_s) < 0.05
    from synthesis.services import read_output

    assert b"".join(client.get(created["stream_url"]).streaming_content) == read_output(generation)  # as stored
    assert stored_outputs(tenant) == [generation.audio.name]  # replays store nothing new


def test_an_unknown_stream_format_is_refused_listing_the_offered_ones(tenant, ready_voice):
    client = tenant.producer.client
    created = client.post(URL, {"voice": str(ready_voice.pk), "text": "Hello there.", "language": "en",
                                "delivery": "stream"}, format="json").json()
    response = client.get(created["stream_url"] + "?format=aiff")
    assert response.status_code == 400 and "wav, pcm, ogg" in response.json()["error"]
    assert Generation.objects.get(pk=created["id"]).status == GenerationStatus.QUEUED  # nothing started
