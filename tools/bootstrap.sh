#!/usr/bin/env bash
# Installs everything the platform and its tests need, idempotently:
# Debian tools (ffmpeg, espeak-ng, sox, chromium) when missing, the virtualenv, the pinned
# Python packages, and the .pth file that puts platform/ on the path (see README).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
command -v espeak-ng >/dev/null || need_apt+=(espeak-ng)
command -v sox >/dev/null || need_apt+=(sox)
# Human recordings the tests use and the synthetic-speech detector never trained on (see
# safety/detector/MODEL_CARD.md): codec2's natural speech samples.
[ -f /usr/share/codec2/raw/big_dog.raw ] || need_apt+=(codec2-examples)
if [ "${VOICEGATE_BROWSER_TESTS:-1}" = "1" ]; then
  command -v chromium >/dev/null || need_apt+=(chromium)
  # CJK glyphs for the zh-Hans pages in browser screenshots
  [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need_apt+=(fonts-wqy-microhei)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "installing Debian packages: ${need_apt[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "missing Debian packages (install them as root): ${need_apt[*]}" >&2
    exit 1
  fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch is pinned to 2.13.0 (a CPU build); see requirements.txt.
.venv/bin/python -m pip install -q -r requirements.txt
# The detector's quality front end (safety/detector/quality.py) and the enrollment bench's naturalness
# figure: DistillMOS, whose wheel carries its weights. --no-deps: what it declares beyond torch and
# numpy (torchaudio, transformers, librosa) serves only its command line and the XLS-R variants, and
# no torchaudio build loads against this torch (pip would replace torch with a CUDA build for it).
.venv/bin/python -m pip install -q --no-deps distillmos==0.9.1 xls-r-sqa==0.1.0
site=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
printf '%s\n%s\n' "$PWD" "$PWD/platform" > "$site/voicegate-paths.pth"
# Kokoro's 54 stock voices: the npm package kokoro-js 1.2.1 (npm pack, or an HTTP GET of the
# npm registry's tarball), sha256-pinned, kept in $VOICEGATE_MODEL_CACHE/kokoro-js (synthesis/voices.py).
.venv/bin/python -m synthesis.voices fetch
# Enrollment ranks the 54 stock voices from a table of their judges' figures (built once per
# machine into the model cache, ~2 min on 2 cores); English now, Mandarin/Japanese at first use.
.venv/bin/python -m synthesis.enrollment en
