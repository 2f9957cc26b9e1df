"""REST API for synthesis: jobs, their audio and stream, languages, enrollment, and /tts.

Views are thin: they parse, call synthesis.services / selectors, and present. Every object
is scoped to the caller's organisation (another organisation's ids answer 404).
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from consent.models import Voice
from consent.selectors import voices_for
from voicegate.accounts.api import MemberNameField
from voicegate.accounts.permissions import IsModeratorOrProducer, IsProducer
from voicegate.accounts.selectors import organisation_of
from voicegate.api import OrganisationScoped
from voicegate.audio import MIME_TYPES, decode_audio
from voicegate.errors import DomainError, NotFound, PayloadTooLarge
from voicegate.throttling import SYNTHESIS_THROTTLES, UserRateThrottle

from synthesis import pipeline, selectors, services
from synthesis.models import Delivery, Generation, VoiceProfileArtifact

AI_HEADERS = {"X-AI-Generated": "true", "X-Digital-Source-Type": "trainedAlgorithmicMedia",
              "X-AI-Provider": pipeline.PROVIDER}
STREAM_FORMATS = ("wav", "pcm", "ogg")
SYNC_MAX_CHARACTERS = 1000  # /tts answers synchronously; longer texts belong in a job


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers, lists and objects instead of quietly stringifying them."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float, str)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


# --------------------------------------------------------------------------- serializers
class GenerationCreateSerializer(serializers.Serializer):
    voice = serializers.UUIDField(required=False, allow_null=True, default=None,
                                  help_text="id of a voice of your organisation with valid consent; "
                                            "give this or stock_voice, not both")
    stock_voice = StrictCharField(required=False, allow_null=True, allow_blank=True, default=None, max_length=64,
                                  help_text="name of a stock voice (GET /stock-voices/), which needs no consent; "
                                            "give this or voice, not both")
    text = StrictCharField(trim_whitespace=False, allow_blank=True,
                           help_text="up to 10,000 characters; inline pinyin 好[hao4] and ARPAbet [M][AY0]... work")
    language = StrictCharField(required=False, default="auto", help_text="auto, zh, en, ja, yue, ... (GET /languages/)")
    instruct = StrictCharField(required=False, default="", allow_blank=True, max_length=500,
                               help_text="e.g. 'slowly', 'calm', '快一点'; unsupported instructions are refused")
    speed = StrictFloatField(required=False, default=1.0, help_text="0.5 to 2.0")
    use = StrictCharField(required=False, default="narration", help_text="must be within the consent's uses")
    format = StrictCharField(required=False, default="wav", help_text="wav (default), mp3, ogg or flac")
    audible_label = StrictBooleanField(required=False, allow_null=True, default=None,
                                       help_text="prepend an audible AI cue; default: the organisation's setting")
    delivery = serializers.ChoiceField(choices=[Delivery.JOB, Delivery.STREAM], required=False, default=Delivery.JOB,
                                       help_text="job (background) or stream (GET the stream_url to run it)")
    stream = StrictBooleanField(required=False, default=False,
                                help_text="true: answer with the audio stream itself (chunked WAV)")


class GenerationSerializer(serializers.ModelSerializer):
    voice = serializers.UUIDField(source="voice_id", read_only=True, allow_null=True)
    voice_name = serializers.CharField(source="voice.name", read_only=True, default=None)
    stock_voice = serializers.SerializerMethodField(
        help_text="the stock voice it was made with (then voice is null: no consent was needed)")
    user = MemberNameField(allow_null=True)
    format = serializers.CharField(source="output_format", read_only=True)
    text_sha256 = serializers.CharField(source="text_hash", read_only=True)
    watermark_payload = serializers.SerializerMethodField()
    ai_generated = serializers.SerializerMethodField()
    audio_url = serializers.SerializerMethodField()
    stream_url = serializers.SerializerMethodField()
    waiting_for = serializers.SerializerMethodField(
        help_text="what a queued job waits for, e.g. the voice's enrollment")

    class Meta:
        model = Generation
        fields = ("id", "status", "progress", "error", "delivery", "voice", "voice_name", "stock_voice", "user",
                  "text", "text_sha256", "characters", "language", "resolved_language", "instruct", "speed", "use",
                  "format", "audible_label", "engine", "quality_tier", "options", "watermark_payload",
                  "ai_generated", "duration_s", "sample_rate", "audio_url", "stream_url", "waiting_for", "labels",
                  "manifest",
                  "attempts", "created_at", "started_at", "finished_at")
        read_only_fields = fields

    def get_watermark_payload(self, obj: Generation) -> str:
        return obj.watermark_payload.hex()

    def get_stock_voice(self, obj: Generation) -> str | None:
        return obj.stock_voice or None

    def get_ai_generated(self, obj: Generation) -> bool:
        return True

    def _url(self, obj: Generation, suffix: str) -> str:
        request = self.context.get("request")
        path = f"/api/v1/syntheses/{obj.pk}/{suffix}/"
        return request.build_absolute_uri(path) if request is not None else path

    def get_waiting_for(self, obj: Generation) -> str | None:
        if obj.status == "queued" and obj.waiting_for_enrollment:
            return "waiting for the voice's enrollment (it runs on its own queue; this job starts when it is ready)"
        return None

    def get_audio_url(self, obj: Generation) -> str | None:
        return self._url(obj, "audio") if obj.status == "succeeded" else None

    def get_stream_url(self, obj: Generation) -> str | None:
        if obj.status == "succeeded" or (obj.delivery == Delivery.STREAM and obj.status == "queued"):
            return self._url(obj, "stream")
        return None


class EnrollmentSerializer(serializers.ModelSerializer):
    voice = serializers.UUIDField(source="voice_id", read_only=True)
    voice_name = serializers.CharField(source="voice.name", read_only=True)

    class Meta:
        model = VoiceProfileArtifact
        fields = ("id", "voice", "voice_name", "engine", "status", "progress", "progress_message", "error", "budget_s",
                  "similarity", "baseline_similarity", "elapsed_s", "report", "created_at", "updated_at")
        read_only_fields = fields


class EnrollmentRequestSerializer(serializers.Serializer):
    budget_s = StrictFloatField(required=False, min_value=1.0, max_value=300.0,
                                help_text="search time budget in seconds (default: SYNTHESIS_ENROLLMENT_BUDGET_S)")
    force = StrictBooleanField(required=False, default=False, help_text="enroll again even if a profile is ready")


class StockVoiceSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="what POST /syntheses/ takes as stock_voice, e.g. af_heart")
    language = serializers.CharField(allow_null=True, help_text="the language it was made for (from its name); "
                                                                 "it can speak any language of its engine")
    gender = serializers.CharField(allow_null=True, help_text="female or male (from its name)")
    label = serializers.CharField(help_text="always 'stock voice': the engine's own voice, no one's clone")


class TtsSerializer(serializers.Serializer):
    text = StrictCharField(trim_whitespace=False, allow_blank=True)
    language = StrictCharField(required=False, default="auto")
    voice_id = serializers.UUIDField(required=False, allow_null=True, default=None)
    reference_audio = StrictCharField(required=False, allow_null=True, default=None,
                                      help_text="base64 audio of the speaker; must match an enrolled voice")
    stock_voice = StrictCharField(required=False, allow_null=True, allow_blank=True, default=None, max_length=64,
                                  help_text="name of a stock voice (GET /api/v1/stock-voices/), which needs no consent")
    speed = StrictFloatField(required=False, default=1.0)
    emotion = StrictCharField(required=False, allow_blank=True, default="",
                              help_text="e.g. happy, sad, calm, excited (mapped to the instruction set)")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("voice_id", "reference_audio", "stock_voice") if attrs.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError("give exactly one of voice_id, reference_audio or stock_voice")
        return attrs


def _voice_of(organisation, voice_id) -> Voice:
    voice = voices_for(organisation).filter(pk=voice_id).first()
    if voice is None:
        raise NotFound("no such voice in your organisation")
    return voice


def _audio_response(data: bytes, fmt: str, generation: Generation) -> HttpResponse:
    response = HttpResponse(data, content_type=MIME_TYPES[fmt])
    response["Content-Disposition"] = (f'attachment; filename="{services.output_name(generation, fmt).rsplit("/", 1)[-1]}"')
    _label_headers(response, generation)
    return response


def _label_headers(response, generation: Generation) -> None:
    for key, value in AI_HEADERS.items():
        response[key] = value
    response["X-Generation-Id"] = str(generation.pk)
    response["X-Watermark-Payload"] = generation.watermark_payload.hex()
    response["Cache-Control"] = "no-store"


def _streaming_response(generation: Generation, pieces, fmt: str) -> StreamingHttpResponse:
    def body():
        if fmt == "ogg":  # Ogg Opus, encoded piece by piece (synthesis.streaming)
            from synthesis.streaming import ogg_opus_stream, stream_label

            yield from ogg_opus_stream(pieces, pipeline.OUTPUT_SAMPLE_RATE,
                                       stream_label(str(generation.pk), generation.watermark_payload,
                                                    generation.voice_description))
            return
        if fmt == "wav":
            voice = f"; {generation.voice_description}" if generation.voice_description else ""
            yield pipeline.streaming_wav_header(
                pipeline.OUTPUT_SAMPLE_RATE, comment=f"AI-generated audio (AI生成); generation {generation.pk}{voice}")
        for piece in pieces:
            yield pipeline.pcm16(piece)

    content_type = {"wav": "audio/wav", "ogg": "audio/ogg"}.get(fmt, "audio/L16")
    response = StreamingHttpResponse(body(), content_type=content_type)
    _label_headers(response, generation)
    response["X-Sample-Rate"] = str(pipeline.OUTPUT_SAMPLE_RATE)
    response["X-Accel-Buffering"] = "no"  # nginx: pass chunks on as they come
    if fmt == "pcm":
        response["Content-Type"] = f"audio/L16; rate={pipeline.OUTPUT_SAMPLE_RATE}; channels=1"
    return response


def _stored_stream(generation: Generation, fmt: str | None) -> StreamingHttpResponse:
    """The stored output streamed in ``fmt`` (None: as stored; "pcm": its raw 16-bit samples)."""
    rate = None
    if fmt == "pcm":
        decoded = decode_audio(services.read_output(generation))
        data, content_type, rate = pipeline.pcm16(decoded.samples), "audio/L16", decoded.sample_rate
    else:
        fmt = fmt or generation.output_format
        data, content_type = services.output_in_format(generation, fmt), MIME_TYPES[fmt]

    def body():
        for start in range(0, len(data), 64 * 1024):
            yield data[start:start + 64 * 1024]

    response = StreamingHttpResponse(body(), content_type=content_type)
    _label_headers(response, generation)
    if rate:
        response["X-Sample-Rate"] = str(rate)
    return response


def _stream_format(request) -> str:
    fmt = (request.query_params.get("format") or "wav").lower()
    if fmt not in STREAM_FORMATS:
        raise pipeline.UnsupportedFormat(f"stream format {fmt!r} is not offered; choose one of: "
                                         f"{', '.join(STREAM_FORMATS)}")
    return fmt


class AudioFormatNegotiation(DefaultContentNegotiation):
    """On audio endpoints ``?format=`` names an audio format, not a DRF renderer (errors stay JSON)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# --------------------------------------------------------------------------- views
class GenerationViewSet(OrganisationScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """Synthesis jobs of your organisation: create (202), list, status, audio, stream, cancel."""

    serializer_class = GenerationSerializer
    queryset = Generation.objects.none()

    def scoped_queryset(self, organisation):
        return selectors.generations_for(organisation)

    def get_permissions(self):
        if self.action in ("create", "cancel"):
            return [IsProducer()]
        return [IsModeratorOrProducer()]

    def get_content_negotiator(self):
        if getattr(self, "action", None) in ("audio", "stream"):
            return AudioFormatNegotiation()
        return super().get_content_negotiator()

    def get_throttles(self):
        if self.action == "create":
            return [UserRateThrottle(), *(throttle() for throttle in SYNTHESIS_THROTTLES)]
        return super().get_throttles()

    @extend_schema(request=GenerationCreateSerializer, responses={202: GenerationSerializer})
    def create(self, request):
        form = GenerationCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        services.require_one_voice(data["voice"], data["stock_voice"])
        voice = _voice_of(self.organisation, data["voice"]) if data["voice"] is not None else None
        delivery = Delivery.STREAM if data["stream"] else data["delivery"]
        generation = services.request_synthesis(
            user=request.user, voice=voice, stock_voice=data["stock_voice"] or None, text=data["text"],
            language=data["language"], instruct=data["instruct"], speed=data["speed"], use=data["use"],
            output_format=data["format"], audible_label=data["audible_label"], delivery=delivery)
        if data["stream"]:
            response = _streaming_response(generation, services.open_stream(generation), "wav")
            response["Location"] = f"/api/v1/syntheses/{generation.pk}/"
            return response
        body = GenerationSerializer(generation, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": f"/api/v1/syntheses/{generation.pk}/"})

    @extend_schema(parameters=[OpenApiParameter("format", str, description="wav, mp3, ogg or flac")],
                   responses={(200, "audio/wav"): bytes})
    @action(detail=True, methods=["get"])
    def audio(self, request, pk=None):
        generation = self.get_object()
        fmt = pipeline.check_format(request.query_params.get("format") or generation.output_format)
        return _audio_response(services.output_in_format(generation, fmt), fmt, generation)

    @extend_schema(parameters=[OpenApiParameter("format", str, description="wav (chunked, default), pcm or ogg (Opus)")],
                   responses={(200, "audio/wav"): bytes})
    @action(detail=True, methods=["get"])
    def stream(self, request, pk=None):
        """Audio sentence by sentence as it is synthesized (a delivery=stream job), or the stored output."""
        generation = self.get_object()
        fmt = _stream_format(request)
        if generation.status == "succeeded":  # a replay: the stored output, in the format asked for
            return _stored_stream(generation, fmt if request.query_params.get("format") else None)
        if generation.delivery != Delivery.STREAM:
            raise services.Conflict(f"this generation runs as a background job ({generation.status}); poll it and "
                                    "fetch .../audio/ when it has succeeded, or create it with delivery=stream")
        if request.user.pk != generation.user_id:
            raise services.Conflict("only the member who created a stream generation can start it")
        return _streaming_response(generation, services.open_stream(generation), fmt)

    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        generation = services.cancel_generation(self.get_object(), user=request.user)
        return Response(GenerationSerializer(generation, context={"request": request}).data)


class StockVoiceListView(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The engine's stock voices: usable by any producer without a consent record, since they clone no one."""

    serializer_class = StockVoiceSerializer

    def get_queryset(self):
        return selectors.stock_voice_catalogue()


class LanguageListView(APIView):
    """Each language with the engine that speaks it and its quality tier (standard/basic)."""

    @extend_schema(responses={200: dict})
    def get(self, request):
        return Response({"results": selectors.language_catalogue(), "max_characters_per_job":
                         pipeline.MAX_CHARACTERS_PER_JOB, "formats": list(pipeline.REQUEST_FORMATS)})


class EnrollmentListView(OrganisationScoped, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = EnrollmentSerializer
    queryset = VoiceProfileArtifact.objects.none()

    def scoped_queryset(self, organisation):
        return selectors.enrollments_for(organisation)


class VoiceEnrollmentView(APIView):
    """A voice's cached enrollment: GET its status, POST to start it, DELETE to drop it."""

    def get_permissions(self):
        if self.request.method in ("POST", "DELETE"):
            return [IsProducer()]
        return [IsModeratorOrProducer()]

    def _voice(self, request, voice_id) -> Voice:
        return _voice_of(organisation_of(request.user), voice_id)

    @extend_schema(responses={200: EnrollmentSerializer})
    def get(self, request, voice_id):
        artifact = selectors.enrollment_of(self._voice(request, voice_id))
        if artifact is None:
            raise NotFound("this voice has not been enrolled; POST here to start")
        return Response(EnrollmentSerializer(artifact).data)

    @extend_schema(request=EnrollmentRequestSerializer, responses={202: EnrollmentSerializer})
    def post(self, request, voice_id):
        voice = self._voice(request, voice_id)
        form = EnrollmentRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        artifact = services.start_enrollment(voice, request.user, budget_s=form.validated_data.get("budget_s"),
                                             force=form.validated_data["force"])
        artifact.refresh_from_db()
        code = status.HTTP_200_OK if artifact.status == "ready" else status.HTTP_202_ACCEPTED
        return Response(EnrollmentSerializer(artifact).data, status=code)

    @extend_schema(responses={204: None})
    def delete(self, request, voice_id):
        voice = self._voice(request, voice_id)
        if not services.delete_enrollment(voice, reason="deleted by a member", user=request.user):
            raise NotFound("this voice has no enrollment")
        return Response(status=status.HTTP_204_NO_CONTENT)


class TtsView(APIView):
    """The source articles' API, consent-gated: JSON in, watermarked and labelled WAV out.

    ``reference_audio`` (base64) is accepted only when it is the voice of an enrolled voice of
    your organisation (speaker similarity at or above the consent threshold) whose consent
    allows this language and use; that voice is then used. Otherwise 403 with the reason.
    ``stock_voice`` names one of the engine's stock voices instead (no consent: no one is cloned).
    """

    permission_classes = [IsProducer]

    def get_throttles(self):
        return [UserRateThrottle(), *(throttle() for throttle in SYNTHESIS_THROTTLES)]

    @extend_schema(request=TtsSerializer, responses={(200, "audio/wav"): bytes})
    def post(self, request):
        form = TtsSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        if len(data["text"]) > SYNC_MAX_CHARACTERS:
            raise PayloadTooLarge(f"/tts answers synchronously and takes at most {SYNC_MAX_CHARACTERS:,} characters "
                                  f"(this text has {len(data['text']):,}); use POST /api/v1/syntheses/ for longer texts")
        organisation = organisation_of(request.user)
        voice = None
        if data["voice_id"]:
            voice = _voice_of(organisation, data["voice_id"])
        elif data["reference_audio"]:
            voice = services.voice_matching_reference(organisation, _base64_audio(data["reference_audio"]))
        generation = services.synthesize_now(
            user=request.user, voice=voice, stock_voice=data["stock_voice"] or None, require_enrolled=True,
            text=data["text"], language=data["language"],
            instruct=_emotion_instruction(data["emotion"]), speed=data["speed"], use="narration", output_format="wav")
        return _audio_response(services.read_output(generation), "wav", generation)


def _emotion_instruction(emotion: str) -> str:
    """The source API's ``emotion`` is one of our instructions; 'neutral' means none."""
    value = (emotion or "").strip()
    return "" if value.lower() in ("neutral", "normal", "default", "none") else value


def _base64_audio(value: str) -> bytes:
    text = value.split(",", 1)[1] if value.startswith("data:") else value  # data: URLs too
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DomainError("reference_audio is not valid base64") from None
    if not data:
        raise DomainError("reference_audio is empty")
    return data
