"""From gathered evidence to a verdict with a one-paragraph explanation (pure; no Django, no I/O).

Precedence, strongest provenance first, then the risk a moderator must act on:

1. ``generated_here`` — our watermark decoded, the fingerprint registry matched a registered
   output, or our own signed manifest validated. A record exists, so a voice match is not a clone.
2. ``possible_clone_of_protected_voice`` — no record, and the voice is close to a protected voice
   (the most serious case: someone the platform promised never to imitate).
3. ``possible_clone_of_enrolled_voice`` — no record, and the voice is close to one of the
   organisation's enrolled voices.
4. ``labelled_ai_elsewhere`` — no record and no voice match, but a manifest or metadata label
   says another generator made it (a label alone is weaker than the voice-identity risk, and
   is still cited when a clone verdict wins).
5. ``likely_ai_generated`` — nothing above explains the clip, but the synthetic-speech detector
   (safety.detector) says it sounds synthesised. Where something above does explain it, the
   detector's score is cited as corroboration and the verdict stays.
6. ``no_evidence`` — never "authentic": marks and labels can be stripped, voices outside the
   registry are never compared, and the detector misses some generators (its measured miss rate
   is quoted).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GENERATED_HERE = "generated_here"
LABELLED_AI_ELSEWHERE = "labelled_ai_elsewhere"
POSSIBLE_CLONE_OF_ENROLLED_VOICE = "possible_clone_of_enrolled_voice"
POSSIBLE_CLONE_OF_PROTECTED_VOICE = "possible_clone_of_protected_voice"
LIKELY_AI_GENERATED = "likely_ai_generated"
NO_EVIDENCE = "no_evidence"
VERDICTS = (GENERATED_HERE, LABELLED_AI_ELSEWHERE, POSSIBLE_CLONE_OF_ENROLLED_VOICE,
            POSSIBLE_CLONE_OF_PROTECTED_VOICE, LIKELY_AI_GENERATED, NO_EVIDENCE)


@dataclass(frozen=True)
class GenerationRef:
    """What the caller may learn about a generation (details only for its own organisation)."""

    generation_id: str
    created_at: str | None
    consent_id: str | None
    same_organisation: bool
    details: dict[str, Any] = field(default_factory=dict)  # user, voice, text hash: own organisation only
    # The engine's stock voice it was made with (then consent_id is None: no one's voice was cloned).
    # Like the consent id, every organisation may learn it: it names no person and no organisation.
    stock_voice: str | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"generation_id": self.generation_id, "created_at": self.created_at,
                                "consent_id": self.consent_id,
                                "disclosure": "full" if self.same_organisation else "limited"}
        if self.stock_voice:
            body["stock_voice"] = self.stock_voice
        if self.same_organisation:
            body.update(self.details)
        else:
            body["organisation"] = "another organisation on this platform"
        return body


@dataclass(frozen=True)
class WatermarkEvidence:
    detected: bool
    confidence: float
    payload: str | None  # hex
    segments: list[tuple[float, float]] = field(default_factory=list)
    generation: GenerationRef | None = None
    available: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"detected": self.detected, "confidence": round(float(self.confidence), 4), "payload": self.payload,
                "segments": [[round(a, 2), round(b, 2)] for a, b in self.segments],
                "generation": self.generation.as_dict() if self.generation else None, "available": self.available}


@dataclass(frozen=True)
class FingerprintHit:
    generation_id: str
    score: int
    query_hashes: int
    clip_offset_s: float
    query_offset_s: float
    generation: GenerationRef | None = None
    time_scale: float = 1.0  # upload's duration / the registered output's (a tempo or speed change)
    freq_scale: float = 1.0  # upload's pitch / the registered output's

    def as_dict(self) -> dict[str, Any]:
        return {"generation_id": self.generation_id, "score": self.score, "query_hashes": self.query_hashes,
                "clip_offset_s": self.clip_offset_s, "query_offset_s": self.query_offset_s,
                "time_scale": self.time_scale, "freq_scale": self.freq_scale,
                "generation": self.generation.as_dict() if self.generation else None}

    def change(self) -> str:
        """The speed, tempo or pitch change the match undid, in words ('' when none)."""
        if self.time_scale == 1.0 and self.freq_scale == 1.0:
            return ""
        if self.freq_scale == 1.0:
            return f"tempo changed {100 * (1 / self.time_scale - 1):+.1f}%"
        if self.time_scale == 1.0:
            return f"pitch shifted {100 * (self.freq_scale - 1):+.1f}%"
        return f"playback speed {100 * (self.freq_scale - 1):+.1f}%"


@dataclass(frozen=True)
class FingerprintEvidence:
    query_hashes: int
    hits: list[FingerprintHit] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        best = self.hits[0] if self.hits else None
        return {"matched": bool(self.hits), "query_hashes": self.query_hashes,
                "generation_id": best.generation_id if best else None,
                "offset_s": best.clip_offset_s if best else None,
                "matches": [hit.as_dict() for hit in self.hits]}


@dataclass(frozen=True)
class ManifestEvidence:
    present: bool
    valid: bool = False
    signature_valid: bool | None = None
    trusted: bool | None = None
    hash_binding_valid: bool | None = None
    ours: bool = False
    ai_generated: bool = False
    claim_generator: str | None = None
    issuer: str | None = None
    generation_id: str | None = None
    errors: list[str] = field(default_factory=list)
    available: bool = True
    voice: str | None = None  # what our assertion says about the voice ("stock voice af_heart"), if anything

    def as_dict(self) -> dict[str, Any]:
        return {"present": self.present, "valid": self.valid, "signature_valid": self.signature_valid,
                "trusted": self.trusted, "hash_binding_valid": self.hash_binding_valid, "ours": self.ours,
                "ai_generated": self.ai_generated, "claim_generator": self.claim_generator, "issuer": self.issuer,
                "generation_id": self.generation_id, "voice": self.voice, "errors": list(self.errors),
                "available": self.available}


@dataclass(frozen=True)
class Label:
    """An implicit AI label found in the file's metadata (ours or another provider's)."""

    where: str  # e.g. "ID3 TXXX:AI_GENERATED", "Vorbis comment", "RIFF INFO"
    text: str
    provider: str | None
    ours: bool
    ai_generated: bool

    def as_dict(self) -> dict[str, Any]:
        return {"where": self.where, "text": self.text, "provider": self.provider, "ours": self.ours,
                "ai_generated": self.ai_generated}


@dataclass(frozen=True)
class VoiceMatch:
    kind: str  # "enrolled" | "protected"
    id: str
    name: str
    similarity: float
    flagged: bool  # at or above the same-speaker threshold

    def as_dict(self) -> dict[str, Any]:
        key = "voice_id" if self.kind == "enrolled" else "protected_voice_id"
        return {"kind": self.kind, key: self.id, "name": self.name, "similarity": round(float(self.similarity), 4),
                "flagged": self.flagged}


@dataclass(frozen=True)
class SyntheticSpeechEvidence:
    """What the synthetic-speech detector said (``body`` is its full JSON: segments, model...)."""

    available: bool
    judged: bool = False
    probability: float | None = None
    detected: bool = False
    reason: str = ""
    miss_rate: float | None = None  # on generators it was not trained on
    false_alarm_rate: float | None = None  # on human recordings from sources it was not trained on
    body: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"probability": self.probability, "detected": self.detected, "judged": self.judged,
                "reason": self.reason, "segments": [], "suspicious_segments": [], "model": {},
                **self.body, "available": self.available}

    def sentence(self) -> str:
        """One sentence for an explanation, citing the measured error rates."""
        if not self.available:
            return "The synthetic-speech detector failed to run (see the service log)."
        if not self.judged:
            return f"The synthetic-speech detector did not judge the clip ({self.reason})."
        rates = self._rates()
        if self.detected:
            spans = self.body.get("suspicious_segments") or []
            where = (f", most strongly in {', '.join(f'{a:.1f}-{b:.1f} s' for a, b in spans[:4])}"
                     if spans else "")
            return (f"The synthetic-speech detector says the speech sounds synthesised (probability "
                    f"{self.probability:.3f}{where}){rates}.")
        return (f"The synthetic-speech detector found no sign of synthesis (probability {self.probability:.3f}){rates}; "
                "that is not proof of a human speaker.")

    def _rates(self) -> str:
        if self.miss_rate is None or self.false_alarm_rate is None:
            return ""
        return (f"; measured, it misses about {self.miss_rate:.0%} of clips from generators it was not trained on "
                f"and flags about {self.false_alarm_rate:.1%} of human recordings from unseen sources")


NOT_RUN = SyntheticSpeechEvidence(available=False, reason="not run")


@dataclass(frozen=True)
class Evidence:
    watermark: WatermarkEvidence
    fingerprint: FingerprintEvidence
    manifest: ManifestEvidence
    labels: list[Label] = field(default_factory=list)
    voice_matches: list[VoiceMatch] = field(default_factory=list)
    voice_analysed: bool = True
    voice_note: str | None = None  # why no voice comparison was possible
    similarity_threshold: float = 0.72
    synthetic: SyntheticSpeechEvidence = NOT_RUN


@dataclass(frozen=True)
class Finding:
    verdict: str
    explanation: str
    generation_id: str | None


def decide(evidence: Evidence) -> Finding:
    """The verdict and a paragraph citing the evidence behind it (see the module docstring)."""
    generation_id = _provenance_generation(evidence)
    if generation_id is not None or evidence.watermark.detected:
        return Finding(GENERATED_HERE, _explain_generated_here(evidence, generation_id), generation_id)
    protected = _flagged(evidence, "protected")
    if protected:
        return Finding(POSSIBLE_CLONE_OF_PROTECTED_VOICE, _explain_clone(evidence, protected, "protected"), None)
    enrolled = _flagged(evidence, "enrolled")
    if enrolled:
        return Finding(POSSIBLE_CLONE_OF_ENROLLED_VOICE, _explain_clone(evidence, enrolled, "enrolled"), None)
    if _foreign_ai_claims(evidence):
        return Finding(LABELLED_AI_ELSEWHERE, _explain_labelled(evidence), None)
    if evidence.synthetic.detected:
        return Finding(LIKELY_AI_GENERATED, _explain_synthetic(evidence), None)
    return Finding(NO_EVIDENCE, _explain_nothing(evidence), None)


def _provenance_generation(evidence: Evidence) -> str | None:
    if evidence.watermark.detected and evidence.watermark.generation:
        return evidence.watermark.generation.generation_id
    if evidence.fingerprint.hits:
        return evidence.fingerprint.hits[0].generation_id
    manifest = evidence.manifest
    if manifest.ours and manifest.valid and manifest.generation_id:
        return manifest.generation_id
    return None


def _flagged(evidence: Evidence, kind: str) -> list[VoiceMatch]:
    return sorted((m for m in evidence.voice_matches if m.kind == kind and m.flagged),
                  key=lambda m: -m.similarity)


def _foreign_ai_claims(evidence: Evidence) -> list[str]:
    """Descriptions of AI claims from manifests or labels (including unconfirmed claims to be ours)."""
    claims = []
    manifest = evidence.manifest
    if manifest.present and manifest.ai_generated:
        state = "a valid" if manifest.valid else "an unverifiable"
        claims.append(f"{state} C2PA manifest from {manifest.claim_generator or manifest.issuer or 'an unnamed generator'}"
                      " declaring AI-generated content")
    for label in evidence.labels:
        if label.ai_generated:
            who = label.provider or "an unnamed provider"
            suffix = " (claiming this platform, but unconfirmed by watermark or fingerprint)" if label.ours else ""
            claims.append(f"a metadata label from {who} in {label.where}{suffix}")
    return claims


def _when(ref: GenerationRef | None) -> str:
    if ref is None:
        return ""
    if ref.stock_voice:
        return f", created {ref.created_at} with stock voice {ref.stock_voice} (no consent record: it clones no one)"
    consent = f" under consent record {ref.consent_id}" if ref.consent_id else ""
    return f", created {ref.created_at}{consent}"


def _explain_generated_here(evidence: Evidence, generation_id: str | None) -> str:
    parts: list[str] = []
    watermark = evidence.watermark
    ref = watermark.generation or next((h.generation for h in evidence.fingerprint.hits
                                        if h.generation_id == generation_id), None)
    if watermark.detected:
        covered = sum(b - a for a, b in watermark.segments)
        where = f" in {len(watermark.segments)} segment(s) covering {covered:.1f} s" if watermark.segments else ""
        if watermark.generation:
            parts.append(f"The clip carries this platform's watermark (confidence {watermark.confidence:.2f}, "
                         f"payload {watermark.payload}){where}, which points to generation {generation_id}"
                         f"{_when(watermark.generation)}.")
        else:
            parts.append(f"The clip carries this platform's watermark (confidence {watermark.confidence:.2f}, "
                         f"payload {watermark.payload}){where}, but no generation record holds that payload "
                         "(it may have been erased).")
    else:
        parts.append("No intact watermark was found (it may have been removed or damaged by re-encoding or editing).")
    if evidence.fingerprint.hits:
        hit = evidence.fingerprint.hits[0]
        agree = "confirms" if hit.generation_id == generation_id else "independently matches"
        parts.append(f"The fingerprint registry {agree} generation {hit.generation_id}"
                     f"{_when(ref) if not watermark.generation else ''}: {hit.score} of {hit.query_hashes} "
                     f"landmark hashes align, starting {hit.clip_offset_s:.2f} s into the registered output"
                     f"{f' ({hit.change()})' if hit.change() else ''}.")
    manifest = evidence.manifest
    if manifest.present:
        parts.append(_manifest_sentence(manifest))
    if ref is not None and ref.stock_voice:
        parts.append(f"The generation used stock voice {ref.stock_voice}, one of the synthesis engine's own voices "
                     "rather than a person's, so a resemblance to an enrolled or protected voice is a coincidence "
                     "of timbre, not a sign of cloning.")
    else:
        parts.append("Because a generation record exists, a resemblance to an enrolled or protected voice is "
                     "covered by that record's consent rather than a sign of cloning.")
    if evidence.synthetic.available and evidence.synthetic.judged:
        parts.append(f"Corroboration: {_lower_first(evidence.synthetic.sentence())}")
    return " ".join(parts)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _manifest_sentence(manifest: ManifestEvidence) -> str:
    checks = [f"signature {_yes_no(manifest.signature_valid)}", f"trust {_yes_no(manifest.trusted)}",
              f"hash binding {_yes_no(manifest.hash_binding_valid)}"]
    who = manifest.claim_generator or manifest.issuer or "an unnamed generator"
    return f"A C2PA manifest from {who} is present ({', '.join(checks)})."


def _yes_no(value: bool | None) -> str:
    return "not checked" if value is None else ("valid" if value else "INVALID")


def _explain_clone(evidence: Evidence, matches: list[VoiceMatch], kind: str) -> str:
    best = matches[0]
    what = "protected voice" if kind == "protected" else "voice enrolled by this organisation"
    others = f" ({len(matches) - 1} other voice(s) also above the threshold)" if len(matches) > 1 else ""
    parts = [f"The speaker sounds like the {what} \u201c{best.name}\u201d (similarity {best.similarity:.2f}, "
             f"threshold {evidence.similarity_threshold:.2f}){others}, yet neither a watermark of this platform nor "
             "the fingerprint registry links the clip to any generation record, so it may be an unauthorised "
             "clone made elsewhere (or a genuine recording of that person: speaker similarity alone cannot tell)."]
    claims = _foreign_ai_claims(evidence)
    if claims:
        parts.append(f"The file also carries {'; '.join(claims)}.")
    parts.append(evidence.synthetic.sentence())
    return " ".join(parts)


def _explain_labelled(evidence: Evidence) -> str:
    claims = _foreign_ai_claims(evidence)
    return (f"The file carries {'; '.join(claims)}. Neither this platform's watermark nor its fingerprint registry "
            "links the clip to a generation made here, and the voice is not close to any enrolled or protected "
            f"voice{_closest(evidence)}. {evidence.synthetic.sentence()}")


def _explain_synthetic(evidence: Evidence) -> str:
    searched = ("No watermark of this platform was found" if evidence.watermark.available
                else "The watermark check failed to run (see the service log)")
    return (f"{evidence.synthetic.sentence()} {searched}, the fingerprint registry has no match, the file carries "
            "no AI label or manifest declaring AI generation, and the voice is not close to any enrolled or protected "
            f"voice{_closest(evidence)}, so the clip was probably made by another generator that leaves no mark. "
            "A detector can be wrong: treat this as a reason to look closer, not as proof.")


def _closest(evidence: Evidence) -> str:
    if not evidence.voice_analysed:
        return f" (voice not compared: {evidence.voice_note or 'no speech found'})"
    if not evidence.voice_matches:
        return " (no voices to compare with)"
    best = max(evidence.voice_matches, key=lambda m: m.similarity)
    return f" (closest: \u201c{best.name}\u201d at {best.similarity:.2f})"


def _explain_nothing(evidence: Evidence) -> str:
    manifest = ("carries no C2PA manifest" if not evidence.manifest.present
                else "carries a C2PA manifest that does not declare AI generation")
    searched = ("No watermark of this platform was found" if evidence.watermark.available
                else "The watermark check failed to run (see the service log)")
    return (f"{searched}, the fingerprint registry has no match "
            f"({evidence.fingerprint.query_hashes} hashes looked up), the file {manifest} and no AI metadata "
            f"label, and the voice is not close to any enrolled or protected voice{_closest(evidence)}. "
            f"{evidence.synthetic.sentence()} "
            "This does not show the clip is authentic: watermarks and labels can be stripped, other generators "
            "may leave no mark or escape the detector, and only voices known to this platform are compared.")
