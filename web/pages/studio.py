"""Studio: generate narration in a consented voice or a stock voice, hear it while it is
synthesized, and keep the organisation's history of generations with their labelled downloads.

The voice picker has two groups: the organisation's voices whose owner's consent allows them,
and the engine's stock voices (value ``stock:<name>``), which need no consent since they clone no one.

The gate, text checks, rate limits and jobs belong to consent.services / synthesis.services;
the audio itself is streamed and downloaded from the synthesis REST endpoints (session auth).
"""
from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent import selectors as consent_selectors
from consent.models import Use
from synthesis import selectors as synthesis_selectors
from synthesis import services as synthesis_services
from synthesis.frontend import MAX_CHARACTERS_PER_JOB, prepare_text
from synthesis.models import Delivery, Generation
from synthesis.pipeline import REQUEST_FORMATS
from voicegate.accounts.models import Role
from voicegate.errors import DomainError
from voicegate.throttling import SYNTHESIS_THROTTLES
from web.access import requires_role
from web.pages.common import call_service

PAGE = gettext_lazy("The studio")
HISTORY_PAGE_SIZE = 20
STOCK_PREFIX = "stock:"  # picker values of stock voices; enrolled voices' values are their ids
GENDERS = {"female": gettext_lazy("female"), "male": gettext_lazy("male")}


def language_choices() -> list[tuple[str, str]]:
    choices = [("auto", _("Detect from the text"))]
    for row in synthesis_selectors.language_catalogue():
        label = f"{row['name']} ({row['code']})"
        if row["tier"] != "standard":
            label += " – " + _("basic quality, generic voice")
        choices.append((row["code"], label))
    return choices


def stock_voice_choices() -> list[tuple[str, str]]:
    """(``stock:<name>``, "af_heart – stock voice, English (US) (en), female") for each stock voice."""
    names = {row["code"]: f"{row['name']} ({row['code']})" for row in synthesis_selectors.language_catalogue()}
    choices = []
    for voice in synthesis_selectors.stock_voice_catalogue():
        language = names.get(voice.language, voice.language) if voice.language else _("any language")
        label = _("%(name)s – stock voice, %(language)s") % {"name": voice.name, "language": language}
        if voice.gender in GENDERS:
            label += f", {GENDERS[voice.gender]}"
        choices.append((STOCK_PREFIX + voice.name, label))
    return choices


class GenerationForm(forms.Form):
    voice = forms.ChoiceField(label=gettext_lazy("Voice"), error_messages={
        "required": gettext_lazy("Choose a voice."),
        "invalid_choice": gettext_lazy("That voice cannot be used now; choose one from the list.")})
    text = forms.CharField(label=gettext_lazy("Text"), widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "true"}),
                           max_length=MAX_CHARACTERS_PER_JOB, strip=False,
                           error_messages={"required": gettext_lazy("Type or paste the text to speak."),
                                           "max_length": gettext_lazy("The text is too long for one job: at most "
                                                               "%(limit_value)d characters (it has %(show_value)d). "
                                                               "Split it into several jobs.")})
    language = forms.ChoiceField(label=gettext_lazy("Language"), initial="auto")
    instruct = forms.CharField(label=gettext_lazy("Instruction (optional)"), required=False, max_length=500,
                               help_text=gettext_lazy("e.g. “slowly”, “calm”, “excited”, “快一点”, “pause longer "
                                               "between sentences”."))
    speed = forms.FloatField(label=gettext_lazy("Speed"), initial=1.0, min_value=0.5, max_value=2.0,
                             widget=forms.NumberInput(attrs={"step": "0.05", "type": "range"}),
                             error_messages={"min_value": gettext_lazy("Speed must be between 0.5 and 2.0."),
                                             "max_value": gettext_lazy("Speed must be between 0.5 and 2.0."),
                                             "invalid": gettext_lazy("Speed must be a number between 0.5 and 2.0.")})
    use = forms.ChoiceField(label=gettext_lazy("Use"), choices=Use.choices, initial=Use.NARRATION,
                            help_text=gettext_lazy("Must be covered by the voice owner's consent."))
    output_format = forms.ChoiceField(label=gettext_lazy("File format"), choices=[(f, f.upper()) for f in REQUEST_FORMATS],
                                      initial="wav")
    audible_label = forms.BooleanField(label=gettext_lazy("Start with a spoken “AI-generated” cue"), required=False)
    stream = forms.BooleanField(label=gettext_lazy("Play while it is generated"), required=False, initial=True)

    def __init__(self, *args, usable_voices=(), stock_voices=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices: list = [("", _("Choose a voice…"))]
        enrolled = [(str(row.voice.pk), f"{row.voice.name} ({', '.join(row.languages)})") for row in usable_voices]
        if enrolled:
            choices.append((_("Your voices (consent verified)"), enrolled))
        if stock_voices:
            choices.append((_("Stock voices (no consent needed)"), list(stock_voices)))
        self.fields["voice"].choices = choices
        self.fields["language"].choices = language_choices()


def _throttled(request: HttpRequest) -> str | None:
    """The same per-user and per-organisation limits as the API; a message when one is hit."""
    for throttle_class in SYNTHESIS_THROTTLES:
        throttle = throttle_class()
        if not throttle.allow_request(request, None):
            wait = throttle.wait()
            return _("You have reached the limit of generations per minute. Wait %(s)d seconds and try again.") % {
                "s": int(wait or 60) + 1}
    return None


def _studio_context(request: HttpRequest, form: GenerationForm, rows, stock, current: Generation | None = None) -> dict:
    organisation = request.membership.organisation
    history = Paginator(synthesis_selectors.generations_for(organisation).select_related("voice", "user"),
                        HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    has_enrolled = any(r.usable for r in rows)
    return {"form": form, "unusable": [row for row in rows if not row.usable], "has_enrolled": has_enrolled,
            "has_stock": bool(stock), "has_usable": has_enrolled or bool(stock),
            "history": history, "page": history, "query": "", "current": current, "formats": REQUEST_FORMATS}


@requires_role(Role.PRODUCER, page=PAGE)
def studio(request: HttpRequest) -> HttpResponse:
    organisation = request.membership.organisation
    rows = consent_selectors.usable_voices(organisation, request.user)
    usable = [row for row in rows if row.usable]
    stock = stock_voice_choices()
    initial = {"audible_label": organisation.audible_label_default, "stream": True}
    form = GenerationForm(request.POST or None, usable_voices=usable, stock_voices=stock, initial=initial)
    htmx = request.headers.get("HX-Request") == "true"
    current = None
    if request.GET.get("generation"):
        current = synthesis_selectors.generations_for(organisation).filter(pk=request.GET["generation"]).first()
    if request.method == "POST":
        if form.is_valid():
            limit = _throttled(request)
            if limit:
                form.add_error(None, limit)
            else:
                current = call_service(form, lambda: _request(request, form.cleaned_data, usable))
        if htmx:
            return render(request, "web/studio/_result.html", {"form": form, "current": current,
                                                                "formats": REQUEST_FORMATS})
        if current is not None:
            return redirect(f"{reverse('web:studio')}?generation={current.pk}")
    context = _studio_context(request, form, rows, stock, current)
    return render(request, "web/studio/studio.html", context, status=400 if form.errors else 200)


def _request(request: HttpRequest, data: dict, usable) -> Generation:
    voice, stock_voice = None, None
    if data["voice"].startswith(STOCK_PREFIX):
        stock_voice = data["voice"][len(STOCK_PREFIX):]  # no consent gate: the service says why
    else:
        voice = next(row.voice for row in usable if str(row.voice.pk) == data["voice"])
    return synthesis_services.request_synthesis(
        user=request.user, voice=voice, stock_voice=stock_voice, text=data["text"], language=data["language"],
        instruct=data["instruct"],
        speed=data["speed"], use=data["use"], output_format=data["output_format"],
        audible_label=data["audible_label"], delivery=Delivery.STREAM if data["stream"] else Delivery.JOB)


@requires_role(Role.PRODUCER, page=PAGE)
def generation_status(request: HttpRequest, generation_id) -> HttpResponse:
    """The job's progress, polled by the page until it is final; then the player and downloads."""
    generation = synthesis_selectors.generations_for(request.membership.organisation).filter(pk=generation_id).first()
    if generation is None:
        raise Http404
    return render(request, "web/studio/_generation.html", {"g": generation, "formats": REQUEST_FORMATS})


@requires_role(Role.PRODUCER, page=PAGE)
def pronunciation(request: HttpRequest) -> HttpResponse:
    """How the front end will read the text (sentences and phonemes), or why it cannot."""
    text = request.POST.get("text", "")
    language = request.POST.get("language", "auto")
    context: dict = {}
    try:
        context["units"] = prepare_text(text, language)[:40]
    except DomainError as exc:
        context["error"] = exc.message
    return render(request, "web/studio/_pronunciation.html", context)
