"""Reads about generations and enrollments (every API list and lookup goes through here)."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from voicegate.errors import NotFound

from synthesis.engines import available_languages, enabled_engine_names, get_engine
from synthesis.models import Generation, VoiceProfileArtifact
from synthesis.stock import StockVoice, stock_voices


def generations_for(organisation) -> QuerySet[Generation]:
    if organisation is None:
        return Generation.objects.none()
    return Generation.objects.filter(organisation=organisation).select_related("user", "voice")


def generation_for(organisation, generation_id: Any) -> Generation:
    generation = generations_for(organisation).filter(pk=generation_id).first()
    if generation is None:
        raise NotFound("no such generation in your organisation")
    return generation


def generation_by_watermark_payload(payload: bytes) -> Generation | None:
    """The generation whose 32-bit payload this is (what a detected watermark points to)."""
    if payload is None or len(payload) != 4:
        return None
    return Generation.objects.filter(watermark_key=int.from_bytes(bytes(payload), "big")).first()


def enrollment_of(voice) -> VoiceProfileArtifact | None:
    return VoiceProfileArtifact.objects.filter(voice=voice).first()


def enrollments_for(organisation) -> QuerySet[VoiceProfileArtifact]:
    if organisation is None:
        return VoiceProfileArtifact.objects.none()
    return VoiceProfileArtifact.objects.filter(voice__organisation=organisation).select_related("voice")


def language_catalogue() -> list[dict[str, Any]]:
    """Each language once, with the engine that speaks it and its quality tier."""
    priority = {name: index for index, name in enumerate(enabled_engine_names())}
    rows = []
    for info in available_languages():
        rows.append({"code": info.code, "name": info.name, "engine": info.engine, "tier": info.tier,
                     "clones_voice": get_engine(info.engine).clones_voice, "note": info.note,
                     "engine_priority": priority.get(info.engine, len(priority))})
    return rows


def stock_voice_catalogue() -> list[StockVoice]:
    """The engine's stock voices (synthesis.stock): name, language, gender, label "stock voice"."""
    return stock_voices()
