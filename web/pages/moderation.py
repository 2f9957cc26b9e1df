"""Moderation desk: upload a clip, read its evidence report, and work the queue with decisions.

Verification, verdicts, assignment and decisions are safety.services; these views only collect
input and lay the evidence out (the uploaded audio is not kept, so the waveform with the
watermarked seconds is drawn in the browser from the file that was just chosen).
"""
from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from safety import selectors as safety_selectors
from safety import services as safety_services
from safety.models import Decision, ModerationStatus, Verdict
from voicegate.accounts.models import Role
from voicegate.errors import DomainError
from web.access import requires_role
from web.pages.common import call_service

PAGE = gettext_lazy("The moderation desk")
QUEUE_PAGE_SIZE = 25
VERDICT_CLASS = {Verdict.GENERATED_HERE: "info", Verdict.LABELLED_AI_ELSEWHERE: "warn",
                 Verdict.POSSIBLE_CLONE_OF_ENROLLED_VOICE: "bad", Verdict.POSSIBLE_CLONE_OF_PROTECTED_VOICE: "bad",
                 Verdict.LIKELY_AI_GENERATED: "warn", Verdict.NO_EVIDENCE: "neutral"}


class UploadForm(forms.Form):
    clip = forms.FileField(label=gettext_lazy("Clip to verify"),
                           help_text=gettext_lazy("WAV, FLAC, MP3, M4A/AAC, Ogg/Opus, or a video whose sound is checked."),
                           error_messages={"required": gettext_lazy("Choose the audio or video file to verify."),
                                           "empty": gettext_lazy("The file is empty; choose the original file again.")},
                           widget=forms.ClearableFileInput(attrs={"accept": "audio/*,video/*"}))


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=gettext_lazy("Decision"), choices=Decision.choices, widget=forms.RadioSelect,
                                 error_messages={"required": gettext_lazy("Choose approve, take down or escalate.")})
    notes = forms.CharField(label=gettext_lazy("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                            help_text=gettext_lazy("Required for a take-down or an escalation: say why."))


class QueueFilter(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False,
                               choices=[("", gettext_lazy("Open and escalated"))] + list(ModerationStatus.choices)
                               + [("all", gettext_lazy("All"))])
    verdict = forms.ChoiceField(label=gettext_lazy("Verdict"), required=False,
                                choices=[("", gettext_lazy("Any verdict"))] + list(Verdict.choices))


def _queue(request: HttpRequest):
    organisation = request.membership.organisation
    form = QueueFilter(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    status = data.get("status") or ""
    items = safety_selectors.moderation_queue(organisation, verdict=data.get("verdict") or None,
                                              status=status if status not in ("", "all") else None)
    if status == "":
        items = items.exclude(status=ModerationStatus.CLOSED)
    page = Paginator(items, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return form, page, query.urlencode()


@requires_role(Role.MODERATOR, page=PAGE)
def desk(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    htmx = request.headers.get("HX-Request") == "true"
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["clip"]
        verification = call_service(form, lambda: safety_services.submit_verification(
            request.user, upload.read(), upload.name or ""))
        if verification is not None:
            if htmx:
                return render(request, "web/moderation/_report.html", _report_context(request, verification,
                                                                                     from_upload=True))
            return redirect("web:verification", verification_id=verification.pk)
    if request.method == "POST" and htmx:
        return render(request, "web/moderation/_upload_errors.html", {"form": form})
    filter_form, page, query = _queue(request)
    return render(request, "web/moderation/desk.html", {
        "form": form, "filter_form": filter_form, "page": page, "query": query, "verdict_class": VERDICT_CLASS,
    }, status=400 if form.errors else 200)


def _verification(request: HttpRequest, verification_id):
    verification = (safety_selectors.verifications_for(request.membership.organisation)
                    .filter(pk=verification_id).first())
    if verification is None:
        raise Http404
    return verification


def _report_context(request: HttpRequest, verification, *, from_upload: bool = False,
                    decision_form: DecisionForm | None = None) -> dict:
    report = verification.report or {}
    watermark = report.get("watermark") or {}
    duration = (report.get("clip") or {}).get("duration_s") or verification.duration_s or 0
    segments = [{"start": a, "end": b, "label": _("watermark")} for a, b in watermark.get("segments") or []]
    synthetic = report.get("synthetic_speech") or {}
    threshold = (synthetic.get("model") or {}).get("threshold", 0.5)
    suspicious = [{"start": a, "end": b, "label": _("sounds synthesised"), "color": "rgba(196, 48, 28, 0.22)"}
                  for a, b in synthetic.get("suspicious_segments") or []]
    # One bar per half-second hop (windows are 1 s long and overlap by half), height = probability.
    synthetic_bars = [{"left": 100 * w["start_s"] / duration, "width": 100 * min(0.5, duration - w["start_s"]) / duration,
                       "height": max(4.0, 100 * w["probability"]), "p": w["probability"], "start": w["start_s"],
                       "end": w["end_s"], "flag": w["probability"] >= threshold and w.get("speech", 1) >= 0.5}
                      for w in synthetic.get("segments") or [] if duration and w["start_s"] < duration]
    item = getattr(verification, "moderation", None)
    matches = (report.get("fingerprint") or {}).get("matches") or []
    # The watermark names the generation; when it was destroyed, the fingerprint still may.
    matched = watermark.get("generation") or next((m.get("generation") for m in matches if m.get("generation")), None)
    return {
        "matched_generation": matched,
        "v": verification, "r": report, "from_upload": from_upload, "duration": duration,
        "segments": segments, "segments_json": json.dumps(segments + suspicious),
        "synthetic": synthetic, "synthetic_bars": synthetic_bars, "synthetic_threshold_height": 100 * threshold,
        "segment_bars": [{"left": 100 * s["start"] / duration, "width": 100 * (s["end"] - s["start"]) / duration,
                          "start": s["start"], "end": s["end"]} for s in segments] if duration else [],
        "item": item, "history": list(item.history.select_related("actor", "assigned_to")) if item else [],
        "decision_form": decision_form or DecisionForm(), "verdict_class": VERDICT_CLASS,
        "verdict_label": dict(Verdict.choices).get(verification.verdict, verification.verdict),
        "active": verification.status in ("queued", "running"),
    }


@requires_role(Role.MODERATOR, page=PAGE)
def verification_report(request: HttpRequest, verification_id) -> HttpResponse:
    verification = _verification(request, verification_id)
    template = ("web/moderation/_report.html" if request.headers.get("HX-Request") == "true"
                else "web/moderation/report.html")
    return render(request, template, _report_context(request, verification))


@requires_role(Role.MODERATOR, page=PAGE)
def decide(request: HttpRequest, verification_id) -> HttpResponse:
    verification = _verification(request, verification_id)
    item = getattr(verification, "moderation", None)
    if item is None or request.method != "POST":
        return redirect("web:verification", verification_id=verification.pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        done = call_service(form, lambda: safety_services.decide_item(
            request.user, item.pk, form.cleaned_data["decision"], form.cleaned_data["notes"]))
        if done is not None:
            messages.success(request, _("Decision recorded: %(d)s.") % {"d": done.get_decision_display()})
            return redirect("web:verification", verification_id=verification.pk)
    return render(request, "web/moderation/report.html",
                  _report_context(request, verification, decision_form=form), status=400)


@requires_role(Role.MODERATOR, page=PAGE)
def assign_to_me(request: HttpRequest, verification_id) -> HttpResponse:
    verification = _verification(request, verification_id)
    item = getattr(verification, "moderation", None)
    if item is not None and request.method == "POST":
        try:
            safety_services.assign_item(request.user, item.pk, request.user)
            messages.success(request, _("The item is assigned to you."))
        except DomainError as exc:
            messages.error(request, exc.message)
    return redirect("web:verification", verification_id=verification.pk)
