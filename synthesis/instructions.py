"""Natural-language style instructions mapped to controls the engine really has.

Supported (English or Chinese, several may be combined with commas or "and"/"，"):

| instruction (examples) | effect |
| --- | --- |
| slowly / slower / 慢一点 / 慢点 | speed x0.8 |
| very slowly / 非常慢 | speed x0.65 |
| quickly / faster / 快一点 / 快点 | speed x1.25 |
| calm / calmly / gentle / 平静 / 温柔 | speed x0.92, pitch -0.5 st, -1 dB, pauses x1.2 |
| excited / enthusiastic / 兴奋 / 激动 | speed x1.12, pitch +1.5 st, +2 dB |
| happy / cheerful / 开心 / 高兴 | speed x1.06, pitch +1 st, +1 dB |
| sad / sadly / 悲伤 / 难过 | speed x0.85, pitch -1.5 st, -3 dB, pauses x1.3 |
| pause longer between sentences / 停顿长一点 | pauses x1.8 |
| shorter pauses / 停顿短一点 | pauses x0.6 |
| louder / 大声一点 | +6 dB |
| softer / quietly / 小声 / 轻声 | -6 dB |

Anything else is refused with UnsupportedInstruction naming what is supported: a dialect or
accent ("用四川话说", "in a Scottish accent"), singing, whispering, or words we do not know.
An instruction is never silently ignored. Emotions do not touch the style vector: pushing its
prosody half moved F0 the wrong way for some voices (measured), so they use controls that
behave the same for every voice.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from voicegate.errors import DomainError

from synthesis.engines.base import MAX_SPEED, MIN_SPEED, SynthesisOptions


class UnsupportedInstruction(DomainError):
    code = "unsupported_instruction"


@dataclass(frozen=True)
class InstructionEffect:
    speed_factor: float = 1.0
    pitch_semitones: float = 0.0
    volume_db: float = 0.0
    energy: float = 1.0
    pause_scale: float = 1.0
    style: str | None = None
    matched: tuple[str, ...] = field(default_factory=tuple)

    def combine(self, other: InstructionEffect) -> InstructionEffect:
        return InstructionEffect(
            speed_factor=self.speed_factor * other.speed_factor,
            pitch_semitones=self.pitch_semitones + other.pitch_semitones,
            volume_db=self.volume_db + other.volume_db,
            energy=self.energy * other.energy,
            pause_scale=self.pause_scale * other.pause_scale,
            style=other.style or self.style,
            matched=self.matched + other.matched)


# (name, effect, patterns); more specific entries come first ("very slowly" before "slowly").
_RULES: tuple[tuple[str, InstructionEffect, tuple[str, ...]], ...] = (
    ("very slow", InstructionEffect(speed_factor=0.65), (r"\bvery slow(ly)?\b", r"非常慢|特别慢|很慢")),
    ("slow", InstructionEffect(speed_factor=0.8),
     (r"\bslow(ly|er)?\b|\bslow down\b|\bless fast\b", r"慢一?点|慢慢|放慢|慢速|慢些|慢")),
    ("fast", InstructionEffect(speed_factor=1.25),
     (r"\bquick(ly|er)?\b|\bfast(er)?\b|\bspeed up\b|\brapid(ly)?\b", r"快一?点|加快|快速|快些|快")),
    ("longer pauses", InstructionEffect(pause_scale=1.8),
     (r"\b(pause|pauses) longer\b|\blonger pauses?\b|\bmore pauses?\b", r"停顿长一?点|停顿久一?点|多停顿|停顿多一?点")),
    ("shorter pauses", InstructionEffect(pause_scale=0.6),
     (r"\bshorter pauses?\b|\bpause less\b|\bfewer pauses\b", r"停顿短一?点|少停顿|停顿少一?点")),
    ("louder", InstructionEffect(volume_db=6.0), (r"\blouder\b|\bloud(ly)?\b", r"大声|响亮|音量大")),
    ("softer", InstructionEffect(volume_db=-6.0),
     (r"\bsofter\b|\bquiet(ly|er)?\b|\bsoft(ly)?\b", r"小声|轻声|音量小|轻一?点")),
    ("calm", InstructionEffect(0.92, -0.5, -1.0, 1.0, 1.2, "calm"),
     (r"\bcalm(ly)?\b|\bgentl[ey]\b|\brelaxed\b|\bsoothing\b", r"平静|冷静|温柔|平和|舒缓")),
    ("excited", InstructionEffect(1.12, 1.5, 2.0, 1.0, 1.0, "excited"),
     (r"\bexcit(ed|edly|ing)\b|\benthusiastic(ally)?\b|\benergetic\b", r"兴奋|激动|热情")),
    ("happy", InstructionEffect(1.06, 1.0, 1.0, 1.0, 1.0, "happy"),
     (r"\bhappy\b|\bhappily\b|\bcheerful(ly)?\b|\bjoyful(ly)?\b", r"开心|高兴|快乐|愉快")),
    ("sad", InstructionEffect(0.85, -1.5, -3.0, 1.0, 1.3, "sad"),
     (r"\bsad(ly)?\b|\bsorrowful(ly)?\b|\bmelancholy\b", r"悲伤|难过|伤心|忧伤")),
)
SUPPORTED = tuple(name for name, _, _ in _RULES)

# What we recognise but cannot do, with the reason given to the user.
_REFUSALS: tuple[tuple[str, str], ...] = (
    (r"四川|川话|上海话|沪语|东北话|天津话|河南话|山东话|湖南话|闽南|客家|方言|dialect|sichuan|shanghainese|hokkien",
     "speaking in a Chinese dialect is not available (no engine here has dialect voices)"),
    (r"粤语|广东话|cantonese", "Cantonese is a language setting, not an instruction: set language to 'yue' "
                               "(basic-quality espeak-ng voice)"),
    (r"accent|口音|腔", "speaking with a regional or foreign accent is not available"),
    (r"\bsing|singing|\bsung\b|唱", "singing is not available"),
    (r"whisper|耳语|悄悄", "whispering is not available (use 'softer' for a quieter voice)"),
    (r"laugh|笑着|哭|cry|shout|scream|喊", "laughing, crying or shouting is not available"),
)
_CLAUSE_SPLIT = re.compile(r"\s*(?:[,，、;；.。!！]|\band\b|\bthen\b|\bbut\b|并且|而且|然后|同时|和)\s*")
_FILLER = re.compile(
    r"\b(please|speak|talk|say|read|it|this|in|a|an|the|voice|tone|way|manner|style|with|more|bit|little|"
    r"slightly|somewhat|bit|of|and|be|sound|sounding|between|sentences|words|a lot)\b|"
    r"请|用|说话|说|读|念|的|语气|声音|地|得|一些|一点|有点|稍微|句子之间|之间|语速|再|更",
    re.IGNORECASE)


def _refusal_message(reason: str) -> str:
    return f"{reason}. Supported instructions: {', '.join(SUPPORTED)}."


def parse_instruction(text: str | None, language: str = "auto") -> InstructionEffect:
    """Map an instruction to controls, or raise UnsupportedInstruction naming what works.

    ``language`` is the synthesis language; instructions are understood in English and Chinese
    whatever the language of the text.
    """
    effect = InstructionEffect()
    if not text or not text.strip():
        return effect
    lowered = text.strip().lower()
    for pattern, reason in _REFUSALS:
        if re.search(pattern, lowered):
            raise UnsupportedInstruction(_refusal_message(f"cannot follow {text.strip()!r}: {reason}"),
                                         details={"supported": list(SUPPORTED)})
    for clause in filter(None, _CLAUSE_SPLIT.split(lowered)):
        remaining = clause
        clause_effect = InstructionEffect()
        for name, rule_effect, patterns in _RULES:
            for pattern in patterns:
                if re.search(pattern, remaining):
                    remaining = re.sub(pattern, " ", remaining)
                    clause_effect = clause_effect.combine(replace(rule_effect, matched=(name,)))
        leftover = _FILLER.sub(" ", remaining).strip(" -'\"")
        if leftover and re.search(r"\w", leftover):
            raise UnsupportedInstruction(
                _refusal_message(f"cannot follow the instruction {clause!r} (unknown: {leftover!r})"),
                details={"supported": list(SUPPORTED)})
        effect = effect.combine(clause_effect)
    return effect


def apply_instruction(options: SynthesisOptions, effect: InstructionEffect) -> SynthesisOptions:
    """Options with the effect applied; speed stays within the engine's 0.5-2.0."""
    return SynthesisOptions(
        speed=min(MAX_SPEED, max(MIN_SPEED, options.speed * effect.speed_factor)),
        volume_db=min(12.0, max(-24.0, options.volume_db + effect.volume_db)),
        pitch_semitones=min(6.0, max(-6.0, options.pitch_semitones + effect.pitch_semitones)),
        energy=min(2.0, max(0.0, options.energy * effect.energy)),
        pause_scale=min(4.0, max(0.1, options.pause_scale * effect.pause_scale)),
        style=effect.style or options.style)
