"""Studio: only consented voices offered, refusals explained, jobs reported, history scoped."""
from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from synthesis.models import Generation
from tests.web.conftest import consented_voice, signed_in, unconsented_voice

pytestmark = pytest.mark.django_db


def test_moderator_cannot_open_the_studio(tenant):
    response = signed_in(tenant.moderator.user).get(reverse("web:studio"))
    assert response.status_code == 403 and "needs the producer or admin role" in response.content.decode()


def test_without_a_consented_voice_the_studio_says_where_to_go_and_offers_stock_voices(tenant):
    voice = unconsented_voice(tenant)
    text = signed_in(tenant.producer.user).get(reverse("web:studio")).content.decode()
    assert "None of your organisation's voices can be used yet" in text and "The stock voices need none" in text
    assert "Unconsented" in text and "has no consent record" in text
    picker = text.split('name="voice"', 1)[1].split("</select>", 1)[0]
    assert str(voice.pk) not in picker and "Your voices (consent verified)" not in picker
    assert '<optgroup label="Stock voices (no consent needed)">' in picker
    assert '<option value="stock:jf_alpha">jf_alpha – stock voice, Japanese (ja), female</option>' in picker
    assert '<option value="stock:jm_kumo">jm_kumo – stock voice, Japanese (ja), male</option>' in picker


def test_the_studio_makes_narration_in_a_stock_voice(tenant):
    client = signed_in(tenant.producer.user)
    response = client.post(reverse("web:studio"), {"voice": "stock:jf_alpha", "text": "Good evening.", "language": "en",
                                                   "speed": "1.0", "use": "narration", "output_format": "wav"})
    job = Generation.objects.get()
    assert response.status_code == 302 and job.stock_voice == "jf_alpha" and job.voice is None
    page = client.get(response["Location"]).content.decode()
    assert "jf_alpha (stock voice)" in page  # the result
    assert 'jf_alpha <span class="badge">stock voice</span>' in page  # the history
    chinese = signed_in(tenant.producer.user)
    chinese.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("web:studio")})
    page = chinese.get(reverse("web:studio")).content.decode()
    assert "预置声音（无需授权）" in page and "jf_alpha – 预置声音，" in page


def test_studio_offers_consented_voices_explains_refusals_and_starts_jobs(tenant, other_tenant):
    voice = consented_voice(tenant)
    client = signed_in(tenant.producer.user)
    assert f'value="{voice.pk}"' in client.get(reverse("web:studio")).content.decode()
    base = {"voice": str(voice.pk), "speed": "1.0", "use": "narration", "output_format": "wav", "language": "en"}

    # Refusals: the gate's reason, the form's own checks, an instruction the engine cannot honour.
    response = client.post(reverse("web:studio"), {**base, "text": "你好，世界。", "language": "zh"})
    assert response.status_code == 400
    assert "Language &#x27;zh&#x27; is not in the consent&#x27;s scope (en)" in response.content.decode()
    response = client.post(reverse("web:studio"), {**base, "text": ""})
    assert "Type or paste the text to speak." in response.content.decode()
    response = client.post(reverse("web:studio"), {**base, "text": "Hello.", "instruct": "用四川话说"})
    assert response.status_code == 400 and "Supported instructions" in response.content.decode()
    response = client.post(reverse("web:studio"), {**base, "text": "Hello.", "use": "advertising"})
    assert "Use &#x27;advertising&#x27; is not in the consent&#x27;s scope (narration)" in response.content.decode()
    assert not Generation.objects.exists()
    cache.clear()  # refused requests count against the per-minute limit too, as in the API

    # A background job: queued, with the status fragment polling until it is final.
    response = client.post(reverse("web:studio"), {**base, "text": "Good evening."}, HTTP_HX_REQUEST="true")
    job = Generation.objects.get()
    assert job.delivery == "job" and job.status == "queued"
    status_url = reverse("web:generation-status", args=[job.pk])
    text = response.content.decode()
    assert "Queued" in text and f'hx-get="{status_url}"' in text and 'hx-trigger="every 1s"' in text
    assert "stream-player" not in text

    # A stream cannot wait minutes for the voice's enrollment: refused with what to do ...
    response = client.post(reverse("web:studio"), {**base, "text": "Good night.", "stream": "on"})
    assert response.status_code == 400 and "enroll it first" in response.content.decode()
    cache.clear()
    # ... and once the voice is enrolled, the page gets a player for the synthesis API's stream.
    from synthesis.models import VoiceProfileArtifact
    from tests.synthesis.test_pipeline_support import cache_stock_profile

    assert VoiceProfileArtifact.objects.get(voice=voice).status == "queued"  # the job above started it
    VoiceProfileArtifact.objects.filter(voice=voice).delete()
    cache_stock_profile(voice)  # as the enrollment worker leaves it
    response = client.post(reverse("web:studio"), {**base, "text": "Good night.", "stream": "on"})
    streamed = Generation.objects.exclude(pk=job.pk).get()
    assert response.status_code == 302 and response["Location"].endswith(f"?generation={streamed.pk}")
    page = client.get(response["Location"]).content.decode()
    assert f'data-stream-url="/api/v1/syntheses/{streamed.pk}/stream/"' in page
    assert "Good evening." in page and "Good night." in page  # the history

    # The same per-user limit as the API (3 per minute by default), with what to do about it.
    client.post(reverse("web:studio"), {**base, "text": "Third.", "stream": "on"})
    client.post(reverse("web:studio"), {**base, "text": "Fourth.", "stream": "on"})  # 3 since the cache was cleared
    response = client.post(reverse("web:studio"), {**base, "text": "Fifth.", "stream": "on"})
    assert response.status_code == 400
    assert "limit of generations per minute. Wait" in response.content.decode()
    assert Generation.objects.count() == 4

    # Another organisation sees neither the jobs nor their status.
    rival = signed_in(other_tenant.producer.user)
    assert rival.get(status_url).status_code == 404
    assert "Good evening." not in rival.get(reverse("web:studio")).content.decode()


def test_pronunciation_preview_shows_phonemes_or_the_problem(tenant):
    client = signed_in(tenant.producer.user)
    text = client.post(reverse("web:pronunciation"), {"text": "她好[h][ào]看。", "language": "zh"}).content.decode()
    assert "她好" in text and "<code>" in text
    text = client.post(reverse("web:pronunciation"), {"text": "", "language": "en"}).content.decode()
    assert "The text is empty" in text
