"""Reading configuration from the environment.

Every variable the service reads is declared here, with its default, so the README's list
and the code cannot drift apart (``tests/platform/test_config.py`` checks the README).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured

ROOT_DIR = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    help: str


VARIABLES: tuple[Variable, ...] = (
    Variable("SECRET_KEY", "(a random key generated once and kept in var/secret_key)",
             "Django's secret key; set it explicitly in production (all web and worker processes share it)."),
    Variable("VOICEGATE_VAR_DIR", "var/", "Folder for the SQLite file, the generated secret key and local media."),
    Variable("SECURE_COOKIES", "off", "Mark session and CSRF cookies Secure and send HSTS (`Strict-Transport-Security: max-age=31536000` on HTTPS requests); turn on behind HTTPS."),
    Variable("DEBUG", "off", "Django debug mode; `make run` turns it on."),
    Variable("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]", "Comma-separated host names the service answers."),
    Variable("CSRF_TRUSTED_ORIGINS", "(empty)", "Comma-separated origins trusted for CSRF (e.g. https://voice.example.org)."),
    Variable("DATABASE_URL", "sqlite:///var/voicegate.sqlite3", "Database; `postgres://user:pass@host:5432/name` for PostgreSQL (psycopg 3)."),
    Variable("CELERY_BROKER_URL", "(empty: jobs run in-process)", "Celery broker, e.g. `redis://127.0.0.1:6379/0`."),
    Variable("CELERY_RESULT_BACKEND", "(same as the broker; none in-process)", "Where Celery keeps task results."),
    Variable("JOBS_IN_PROCESS", "thread", "Without a broker: `thread` runs jobs on a background thread, `eager` runs them inline."),
    Variable("CACHE_URL", "(the broker's Redis when set, else local memory)", "Cache used by throttling, e.g. `redis://127.0.0.1:6379/1`."),
    Variable("STORAGE_BACKEND", "local", "`local` (a folder) or `s3` (any S3 API: AWS, MinIO, moto)."),
    Variable("STORAGE_LOCAL_ROOT", "var/media", "Folder for the local backend."),
    Variable("S3_ENDPOINT_URL", "(empty: AWS)", "S3 API endpoint, e.g. `http://minio:9000`."),
    Variable("S3_BUCKET", "voicegate", "Bucket name."),
    Variable("S3_ACCESS_KEY_ID", "(empty)", "S3 access key."),
    Variable("S3_SECRET_ACCESS_KEY", "(empty)", "S3 secret key."),
    Variable("S3_REGION", "us-east-1", "S3 region."),
    Variable("THROTTLE_SYNTHESIS_USER", "3/min", "Generations allowed per user (DRF rate syntax: N/sec|min|hour|day)."),
    Variable("THROTTLE_SYNTHESIS_ORG", "60/min", "Generations allowed per organisation."),
    Variable("THROTTLE_API_USER", "600/min", "Any API request, per user."),
    Variable("API_MAX_PAGE_SIZE", "200", "Largest `?limit=` a list endpoint accepts (default page: 50 rows); a larger one, or an `?offset=` over 1,000,000,000, is a 400."),
    Variable("LOGIN_FAILURE_LIMIT", "5", "Failed sign-ins (web UI or Django admin) for one account before its sign-in is blocked for `LOGIN_LOCKOUT_S` (audited as `auth.locked_out`)."),
    Variable("LOGIN_ADDRESS_FAILURE_LIMIT", "20", "Failed sign-ins from one client address, whatever the account, before sign-in from it is blocked."),
    Variable("TOKEN_FAILURE_LIMIT", "20", "Requests with an unknown or revoked API token from one client address before token authentication from it answers 429."),
    Variable("LOGIN_LOCKOUT_S", "900", "Window in seconds over which failures are counted, and how long a block lasts (at most)."),
    Variable("LOG_LEVEL", "INFO", "Root log level."),
    Variable("VOICEGATE_MODEL_CACHE", "~/.cache/voicegate", "Where model files assembled at first use are kept (the Whisper weights, the CPU-tuned Kokoro model)."),
    Variable("VOICEGATE_KOKORO_TUNED", "on", "Run Kokoro as a CPU-tuned rewrite (float 2-D convolutions, built once into the model cache; up to ~25% faster, CPU-dependent); `off` runs the packaged int8 model, as does any failure to build the rewrite (logged)."),
    Variable("VOICEGATE_KOKORO_THREADS", "(CPU count, at most 4)", "onnxruntime intra-op threads per Kokoro session."),
    Variable("VOICEGATE_SYNTHESIS_ENGINES", "kokoro,espeak", "Synthesis engines in priority order (e.g. `cosyvoice,kokoro,espeak` once a CosyVoice model directory is provided)."),
    Variable("SYNTHESIS_MAX_ATTEMPTS", "3", "Attempts of a synthesis, enrollment or verification job before it is marked failed (a killed worker's job is retried)."),
    Variable("SYNTHESIS_ENROLL_ON_CONSENT", "on", "Start a voice's enrollment (on the `enrollment` queue) as soon as its consent is verified; a synthesis job for a voice still enrolling waits for it (`waiting_for`: the voice's enrollment)."),
    Variable("SYNTHESIS_LEASE_S", "60", "A Celery worker running a synthesis, enrollment or verification job renews the job's lease every third of this; a job whose lease ran out (its worker was killed) is re-queued by the reaper, or failed after `SYNTHESIS_MAX_ATTEMPTS`."),
    Variable("SYNTHESIS_REAPER_INTERVAL_S", "30", "How often each Celery worker runs the reaper (it also runs once when the worker starts; `manage.py reap_jobs` runs it by hand)."),
    Variable("CELERY_VISIBILITY_TIMEOUT_S", "3600", "Seconds Redis waits before redelivering a message no worker acknowledged; must exceed the longest job (an enrollment: 5 minutes)."),
    Variable("SYNTHESIS_ENROLLMENT_BUDGET_S", "300", "Seconds a voice enrollment (style search) may run."),
    Variable("DEMO_ENROLLMENT_BUDGET_S", "60", "Enrollment budget `make run` gives the demo voice the first time (60 s reaches about 0.82 held-out similarity on a quiet machine; re-enroll with `manage.py enroll_voice --force` for the full search)."),
    Variable("WATERMARK_ENGINE", "dsp", "`dsp` (built in) or `audioseal` (needs the two checkpoint files below)."),
    Variable("WATERMARK_AUDIOSEAL_GENERATOR", "(empty)", "Path of an AudioSeal generator checkpoint an operator provides."),
    Variable("WATERMARK_AUDIOSEAL_DETECTOR", "(empty)", "Path of an AudioSeal detector checkpoint an operator provides."),
    Variable("PROVENANCE_PROVIDER", "voicegate", "Provider name written into AI labels and manifests."),
    Variable("PROVENANCE_CERT_CHAIN", "var/provenance/chain.pem (a development CA is created there when unset)", "PEM chain (leaf first) that signs C2PA manifests."),
    Variable("PROVENANCE_PRIVATE_KEY", "var/provenance/leaf.key", "PEM private key of the signing leaf."),
    Variable("PROVENANCE_TRUST_ANCHORS", "var/provenance/root.pem", "PEM root certificates trusted when validating manifests of uploaded clips."),
    Variable("CONSENT_SPEAKER_THRESHOLD", "0.72", "Speaker-similarity (Resemblyzer cosine) a consent statement must reach against the references."),
    Variable("VERIFY_MAX_BYTES", "100000000", "Largest clip accepted for verification, in bytes (100 MB; messages show it in MB of 10^6 bytes)."),
    Variable("VERIFY_MAX_SECONDS", "1800", "Longest clip accepted for verification, in seconds."),
    Variable("VERIFY_SYNC_SECONDS", "120", "Clips up to this long are verified in the request; longer ones run as a job (202 + status URL)."),
    Variable("VERIFY_VOICE_ANALYSIS_SECONDS", "6", "At most this much speech is analysed for voice identity (the speaker embedding is the slow part)."),
    Variable("VERIFY_SYNTHETIC_THRESHOLD", "(the model's, chosen for a low false-alarm rate; see safety/detector/MODEL_CARD.md)",
             "Probability at or above which the synthetic-speech detector calls a clip synthesised (0-1; lower catches more and flags more human speech)."),
    Variable("VERIFY_SYNTHETIC_MAX_SECONDS", "60", "At most this much of a clip is scored by the synthetic-speech detector (longer clips: evenly spread 10 s blocks)."),
)

VARIABLE_NAMES = frozenset(v.name for v in VARIABLES)

env = environ.Env()


def read_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use on/off, true/false or 1/0")


def read_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def read_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (os.environ.get(name) or default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not supported; choose one of: {', '.join(choices)}"
        )
    return value


def read_database(default_sqlite: Path) -> dict:
    raw = os.environ.get("DATABASE_URL") or f"sqlite:///{default_sqlite}"
    try:
        config = environ.Env.db_url_config(raw)
    except Exception as exc:  # django-environ raises several types for bad URLs
        raise ImproperlyConfigured(f"DATABASE_URL={mask_url(raw)!r} cannot be parsed: {exc}") from exc
    engine = config.get("ENGINE", "")
    if engine not in ("django.db.backends.sqlite3", "django.db.backends.postgresql"):
        raise ImproperlyConfigured(
            f"DATABASE_URL={mask_url(raw)!r} names an unknown database kind; use sqlite:/// or postgres://"
        )
    if engine == "django.db.backends.sqlite3":
        name = config.get("NAME") or str(default_sqlite)
        if name != ":memory:":
            Path(name).parent.mkdir(parents=True, exist_ok=True)
        config["NAME"] = name
        # IMMEDIATE transactions serialise writers up front, so the audit chain's
        # read-then-append never races on SQLite (Django >= 5.1).
        config.setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
        config["OPTIONS"].setdefault("timeout", 20)
    elif engine == "django.db.backends.postgresql":
        config.setdefault("CONN_MAX_AGE", 60)
        config.setdefault("CONN_HEALTH_CHECKS", True)
        config.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    return config


def mask_url(url: str) -> str:
    """The URL with its password replaced, for error messages and the health report."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable>"
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
