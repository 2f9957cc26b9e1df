"""Voices & consent: enroll a voice from uploaded or recorded reference audio, obtain the owner's
recorded consent statement, and see or revoke each consent's status, scope and expiry.

Every rule lives in consent.services (enroll_voice, issue_statement, grant_consent,
revoke_consent, approve_consent); these views only collect input and show the answers.
"""
from __future__ import annotations

from functools import lru_cache

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent import selectors as consent_selectors
from consent import services as consent_services
from consent.models import ConsentRecord, ConsentStatus, StatementChallenge, Use, Voice
from consent.statements import STATEMENT_LANGUAGES
from voicegate.accounts.models import Role
from voicegate.audio import decode_audio
from synthesis.selectors import enrollment_of
from voicegate.errors import DomainError
from web.access import requires_role
from web.pages.common import MultipleFileField, call_service, storage_file

PAGE = gettext_lazy("Voices & consent")
STATEMENT_LANGUAGE_NAMES = {"en": gettext_lazy("English"), "zh": gettext_lazy("Mandarin Chinese")}


@lru_cache(maxsize=1)
def language_choices() -> list[tuple[str, str]]:
    """Languages a consent can cover: those the synthesis engines speak."""
    try:
        from synthesis.selectors import language_catalogue

        seen: dict[str, str] = {}
        for row in language_catalogue():
            seen.setdefault(row["code"], f"{row['name']} ({row['code']})")
        if seen:
            return list(seen.items())
    except Exception:  # synthesis not importable: fall back to the languages the issue names
        pass
    return [("zh", "Mandarin (zh)"), ("en", "English (en)"), ("ja", "Japanese (ja)"), ("yue", "Cantonese (yue)")]


class VoiceForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Voice name"), max_length=200,
                           error_messages={"required": gettext_lazy("Give the voice a name.")})
    owner = forms.CharField(label=gettext_lazy("Owner (the person whose voice it is)"), max_length=200, required=False,
                            help_text=gettext_lazy("You can also name the owner later, when you ask for consent."))
    references = MultipleFileField(
        label=gettext_lazy("Reference recordings"),
        help_text=gettext_lazy("3–30 s of the owner speaking alone in a quiet room; WAV, FLAC, MP3, OGG or M4A."),
        error_messages={"required": gettext_lazy("Upload or record at least one reference recording.")},
        widget=MultipleFileField.widget(attrs={"accept": "audio/*,video/webm,.wav,.flac,.mp3,.ogg,.opus,.m4a,.webm"}))


class StatementForm(forms.Form):
    owner = forms.CharField(label=gettext_lazy("Owner's full name"), max_length=200, required=False)
    languages = forms.MultipleChoiceField(label=gettext_lazy("Languages the consent covers"), choices=(),
                                          widget=forms.CheckboxSelectMultiple,
                                          error_messages={"required": gettext_lazy("Tick at least one language.")})
    uses = forms.MultipleChoiceField(label=gettext_lazy("Uses the consent covers"), choices=Use.choices,
                                     widget=forms.CheckboxSelectMultiple, initial=["narration"],
                                     error_messages={"required": gettext_lazy("Tick at least one use.")})
    statement_language = forms.ChoiceField(label=gettext_lazy("Language of the statement the owner reads"),
                                           choices=[(c, STATEMENT_LANGUAGE_NAMES.get(c, c)) for c in STATEMENT_LANGUAGES])
    expires = forms.DateField(label=gettext_lazy("Consent expires on"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}),
                              help_text=gettext_lazy("Leave empty for no expiry date."),
                              error_messages={"invalid": gettext_lazy("Enter the expiry date as YYYY-MM-DD.")})

    def __init__(self, *args, voice: Voice, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["languages"].choices = language_choices()
        if voice.owner_id:
            del self.fields["owner"]
        else:
            self.fields["owner"].required = True
            self.fields["owner"].error_messages["required"] = _("Name the voice's owner: the consent must be theirs.")

    def clean_expires(self):
        expires = self.cleaned_data.get("expires")
        if expires and expires <= timezone.localdate():
            raise forms.ValidationError(_("The expiry date must be in the future."))
        return expires


class GrantForm(forms.Form):
    statement = forms.FileField(label=gettext_lazy("The owner's recorded statement"),
                                error_messages={"required": gettext_lazy("Record the statement or upload its recording.")},
                                widget=forms.ClearableFileInput(attrs={"accept": "audio/*,video/webm,.wav,.flac,.mp3,.ogg,.opus,.m4a,.webm"}))


class RevokeForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason for revoking"), max_length=500,
                             error_messages={"required": gettext_lazy("Say why the consent is revoked (it is kept in the audit log).")})


def _voice(request: HttpRequest, voice_id) -> Voice:
    voice = consent_selectors.voices_for(request.membership.organisation).filter(pk=voice_id).first()
    if voice is None:
        raise Http404
    return voice


def _expires_at(day):
    return day  # consent.services treats a date as "through the end of that day"


@requires_role(Role.PRODUCER, page=PAGE)
def voice_list(request: HttpRequest) -> HttpResponse:
    organisation = request.membership.organisation
    form = VoiceForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def enroll() -> Voice:
            uploads = [consent_services.AudioUpload.from_file(f) for f in data["references"]]
            owner = (consent_services.owner_named(organisation, data["owner"], actor=request.user)
                     if data["owner"].strip() else None)
            return consent_services.enroll_voice(organisation, name=data["name"], references=uploads, owner=owner,
                                                 actor=request.user)

        voice = call_service(form, enroll)
        if voice is not None:
            messages.success(request, _("Voice “%(name)s” was added. Next, ask its owner for consent.")
                             % {"name": voice.name})
            return redirect("web:voice", voice_id=voice.pk)
    rows = consent_selectors.usable_voices(organisation, request.user)
    return render(request, "web/voices/list.html", {"form": form, "rows": rows},
                  status=400 if form.is_bound and form.errors else 200)


@requires_role(Role.PRODUCER, page=PAGE)
def check_recording(request: HttpRequest) -> HttpResponse:
    """The quality report of one recording, shown as soon as it is chosen or recorded."""
    from consent.quality import check_recording as quality_of

    kind = "statement" if request.GET.get("kind") == "statement" else "reference"
    upload = request.FILES.get("audio")
    context: dict = {"kind": kind}
    if upload is None:
        context["error"] = _("No recording arrived; choose a file or record again.")
    else:
        try:
            clip = consent_services.AudioUpload.from_file(upload)
            decoded = decode_audio(clip.data, max_bytes=consent_services.MAX_UPLOAD_BYTES,
                                   max_seconds=consent_services.MAX_DECODE_SECONDS)
            context["report"] = quality_of(decoded.samples, decoded.sample_rate, kind=kind).as_dict()
            context["name"] = clip.name
        except DomainError as exc:
            context["error"] = exc.message
    return render(request, "web/voices/_quality.html", context)


@requires_role(Role.PRODUCER, page=PAGE)
def voice_detail(request: HttpRequest, voice_id) -> HttpResponse:
    voice = _voice(request, voice_id)
    form = StatementForm(request.POST or None, voice=voice, initial={"statement_language": _statement_language(request)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        owner = None
        if data.get("owner"):
            owner = call_service(form, lambda: consent_services.owner_named(
                voice.organisation, data["owner"], actor=request.user))
        if not form.errors:
            challenge = call_service(form, lambda: consent_services.issue_statement(
                voice, languages=data["languages"], uses=data["uses"], owner=owner,
                statement_language=data["statement_language"], actor=request.user))
            if challenge is not None:
                url = reverse("web:statement", kwargs={"voice_id": voice.pk, "challenge_id": challenge.pk})
                if data.get("expires"):
                    url += f"?expires={data['expires'].isoformat()}"
                return redirect(url)
    return _render_voice(request, voice, form, status=400 if form.errors else 200)


def _statement_language(request: HttpRequest) -> str:
    return "zh" if (request.LANGUAGE_CODE or "").startswith("zh") else "en"


def _render_voice(request: HttpRequest, voice: Voice, statement_form: StatementForm, *, status: int = 200,
                  revoke_form: RevokeForm | None = None, revoke_for=None) -> HttpResponse:
    consents = list(voice.consents.select_related("owner", "revoked_by", "approved_by").order_by("-created_at"))
    usability = next((row for row in consent_selectors.usable_voices(voice.organisation, request.user)
                      if row.voice.pk == voice.pk), None)
    return render(request, "web/voices/detail.html", {
        **_enrollment_context(voice),
        "voice": voice, "references": list(voice.references.all()), "consents": consents,
        "statement_form": statement_form, "usability": usability,
        "revoke_form": revoke_form or RevokeForm(), "revoke_for": revoke_for,
        "is_admin": request.membership.role == Role.ADMIN, "now": timezone.now(),
    }, status=status)


# The enrollment's figures, in the order a person reads them: the two speaker encoders (of
# different families), then pitch and spectral envelope. Keys are the enrollment's judges
# (synthesis.judges); "owner" is the owner's own second-recording score where one exists.
ENROLLMENT_FIGURES = (
    ("resemblyzer", gettext_lazy("Speaker similarity (Resemblyzer, steers the search)"), True, True),
    ("whisper", gettext_lazy("Speaker similarity (Whisper encoder, independent judge)"), True, True),
    ("f0_gap_st", gettext_lazy("Pitch distance (semitones)"), False, False),
    ("spectral_distance", gettext_lazy("Spectral envelope distance"), False, False),
)


def _enrollment_context(voice: Voice) -> dict:
    enrollment = enrollment_of(voice)
    judges = (enrollment.report or {}).get("judges", {}) if enrollment is not None else {}
    figures = []
    for key, label, higher_is_better, bar in ENROLLMENT_FIGURES:
        row = {"key": key, "label": label, "higher_is_better": higher_is_better, "bar": bar,
               "stock": judges.get("stock", {}).get(key), "enrolled": judges.get("enrolled", {}).get(key),
               "owner": judges.get("owner", {}).get(key)}
        if row["stock"] is not None or row["enrolled"] is not None:
            figures.append(row)
    return {"enrollment": enrollment, "figures": figures}


@requires_role(Role.PRODUCER, page=PAGE)
def enrollment_status(request: HttpRequest, voice_id) -> HttpResponse:
    """The voice-model card alone: the voice page polls it while the enrollment runs."""
    voice = _voice(request, voice_id)
    return render(request, "web/voices/_enrollment.html", {"voice": voice, **_enrollment_context(voice)})


@requires_role(Role.PRODUCER, page=PAGE)
def statement(request: HttpRequest, voice_id, challenge_id) -> HttpResponse:
    """The statement for the owner to read, recorded here (or uploaded), then verified."""
    voice = _voice(request, voice_id)
    challenge = StatementChallenge.objects.filter(pk=challenge_id, voice=voice).select_related("owner").first()
    if challenge is None:
        raise Http404
    expires = request.POST.get("expires") or request.GET.get("expires") or ""
    form = GrantForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        expiry = forms.DateField(required=False).clean(expires) if expires else None

        def grant() -> ConsentRecord:
            upload = consent_services.AudioUpload.from_file(form.cleaned_data["statement"])
            return consent_services.grant_consent(voice, statement=upload, challenge=challenge, actor=request.user,
                                                  expires_at=_expires_at(expiry))

        record = call_service(form, grant)
        if record is not None:
            _announce(request, record)
            return redirect("web:voice", voice_id=voice.pk)
    return render(request, "web/voices/statement.html", {
        "voice": voice, "challenge": challenge, "form": form, "expires": expires,
        "expired": challenge.expires_at <= timezone.now(), "used": challenge.used_at is not None,
    }, status=400 if form.errors else 200)


def _announce(request: HttpRequest, record: ConsentRecord) -> None:
    similarity = f"{record.speaker_similarity:.2f}" if record.speaker_similarity is not None else "–"
    if record.status == ConsentStatus.VERIFIED:
        messages.success(request, _("Consent verified (speaker similarity %(s)s). The voice can now be used "
                                    "within its scope.") % {"s": similarity})
    elif record.status == ConsentStatus.CONTENT_UNVERIFIED:
        messages.warning(request, _("The statement is the owner's voice (similarity %(s)s), but its words could not "
                                    "be checked automatically: %(reason)s") % {"s": similarity, "reason": record.reason})
    else:
        messages.error(request, _("Consent was not verified: %(reason)s") % {"reason": record.reason})


def _consent(voice: Voice, consent_id) -> ConsentRecord:
    record = voice.consents.filter(pk=consent_id).first()
    if record is None:
        raise Http404
    return record


@requires_role(Role.PRODUCER, page=PAGE)
def revoke(request: HttpRequest, voice_id, consent_id) -> HttpResponse:
    voice = _voice(request, voice_id)
    record = _consent(voice, consent_id)
    if request.method != "POST":
        return redirect("web:voice", voice_id=voice.pk)
    form = RevokeForm(request.POST)
    if form.is_valid():
        done = call_service(form, lambda: consent_services.revoke_consent(
            record, actor=request.user, reason=form.cleaned_data["reason"]))
        if done is not None:
            messages.success(request, _("Consent revoked. The voice can no longer be used under it, and queued "
                                        "generations were cancelled."))
            return redirect("web:voice", voice_id=voice.pk)
    return _render_voice(request, voice, StatementForm(voice=voice), status=400, revoke_form=form,
                         revoke_for=record.pk)


@requires_role(Role.ADMIN, page=gettext_lazy("Approving a consent"))
def approve(request: HttpRequest, voice_id, consent_id) -> HttpResponse:
    voice = _voice(request, voice_id)
    record = _consent(voice, consent_id)
    if request.method == "POST":
        try:
            consent_services.approve_consent(record, actor=request.user)
            messages.success(request, _("Consent approved: you confirmed the statement's words."))
        except DomainError as exc:
            messages.error(request, exc.message)
    return redirect("web:voice", voice_id=voice.pk)


@requires_role(Role.PRODUCER, page=PAGE)
def reference_audio(request: HttpRequest, voice_id, clip_id) -> HttpResponse:
    voice = _voice(request, voice_id)
    clip = voice.references.filter(pk=clip_id).first()
    if clip is None or not clip.audio:
        raise Http404
    return storage_file(clip.audio.name, filename=clip.original_name or f"{clip.pk}.audio")


@requires_role(Role.PRODUCER, page=PAGE)
def statement_audio(request: HttpRequest, voice_id, consent_id) -> HttpResponse:
    record = _consent(_voice(request, voice_id), consent_id)
    if not record.statement:
        raise Http404
    return storage_file(record.statement.name, filename=f"statement-{record.pk}")
