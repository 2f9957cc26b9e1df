"""Settings for every context, read from environment variables (see voicegate.config).

The embedded defaults need no setup: SQLite in var/, jobs in-process, files in var/media.
Production points DATABASE_URL, CELERY_BROKER_URL and STORAGE_* at real services.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .config import ROOT_DIR, read_bool, read_choice, read_database, read_list

BASE_DIR = ROOT_DIR
VAR_DIR = Path(os.environ.get("VOICEGATE_VAR_DIR", ROOT_DIR / "var"))

DEBUG = read_bool("DEBUG", False)


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY", "").strip()
    if key:
        return key
    # No key given: keep one random key per installation in var/ so sessions and signed
    # values survive restarts without anyone committing a key.
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = read_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = read_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "voicegate.accounts",
    "voicegate.audit",
    "consent",
    "synthesis",
    "watermark",
    "safety",
    "web",
]

MIDDLEWARE = [
    "voicegate.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "voicegate.middleware.ContentSecurityPolicyMiddleware",
    "voicegate.middleware.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "voicegate.urls"
WSGI_APPLICATION = "voicegate.wsgi.application"
ASGI_APPLICATION = "voicegate.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context.navigation",
            ],
        },
    },
]

DATABASES = {"default": read_database(VAR_DIR / "voicegate.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- jobs -------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "").strip() or None
JOBS_IN_PROCESS = read_choice("JOBS_IN_PROCESS", "thread", ("thread", "eager"))
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "").strip() or CELERY_BROKER_URL
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True  # a killed worker's job is redelivered, not lost
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers an unacknowledged message (a killed worker's) only after this long; running
# jobs do not wait for it: their lease (SYNTHESIS_LEASE_S) runs out and the reaper re-queues them.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT_S", "3600"))}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# One queue per kind of work, so each worker loads only its own models (models load lazily on
# first use): `enrollment` (Kokoro + Resemblyzer style search, minutes per job), `synthesis`
# (Kokoro), `default` (verification, webhooks, registry compaction, audit checks). Routing only
# applies with a broker; in-process jobs (no CELERY_BROKER_URL) ignore it.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "synthesis.enroll_voice": {"queue": "enrollment"},
    "synthesis.run_generation": {"queue": "synthesis"},
}

# --- cache (throttling) --------------------------------------------------------------
_cache_url = os.environ.get("CACHE_URL", "").strip()
if not _cache_url and CELERY_BROKER_URL and CELERY_BROKER_URL.startswith("redis"):
    _cache_url = CELERY_BROKER_URL
if _cache_url:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url,
                          "KEY_PREFIX": "voicegate"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- storage --------------------------------------------------------------------------
STORAGE_BACKEND = read_choice("STORAGE_BACKEND", "local", ("local", "s3"))
STORAGE_LOCAL_ROOT = Path(os.environ.get("STORAGE_LOCAL_ROOT") or VAR_DIR / "media")
if not STORAGE_LOCAL_ROOT.is_absolute():
    STORAGE_LOCAL_ROOT = ROOT_DIR / STORAGE_LOCAL_ROOT
S3_OPTIONS = {
    "bucket_name": os.environ.get("S3_BUCKET", "voicegate"),
    "endpoint_url": os.environ.get("S3_ENDPOINT_URL") or None,
    "access_key": os.environ.get("S3_ACCESS_KEY_ID") or None,
    "secret_key": os.environ.get("S3_SECRET_ACCESS_KEY") or None,
    "region_name": os.environ.get("S3_REGION", "us-east-1"),
    "addressing_style": "path",
    "default_acl": None,
    "file_overwrite": False,
    "querystring_auth": True,
}
if STORAGE_BACKEND == "s3":
    _default_storage = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": S3_OPTIONS}
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage",
                        "OPTIONS": {"location": str(STORAGE_LOCAL_ROOT)}}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
                    if not DEBUG else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = str(STORAGE_LOCAL_ROOT)
STATIC_URL = "/static/"
STATIC_ROOT = str(VAR_DIR / "staticfiles")
# Serve app static files straight from their folders when collectstatic has not run
# (`make run`, tests); production images run collectstatic at build time.
WHITENOISE_USE_FINDERS = True
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024

# --- models, synthesis, provenance, consent --------------------------------------------
MODEL_CACHE_DIR = Path(os.environ.get("VOICEGATE_MODEL_CACHE") or Path.home() / ".cache" / "voicegate")
SYNTHESIS_MAX_ATTEMPTS = int(os.environ.get("SYNTHESIS_MAX_ATTEMPTS", "3"))
SYNTHESIS_ENROLL_ON_CONSENT = read_bool("SYNTHESIS_ENROLL_ON_CONSENT", True)
SYNTHESIS_LEASE_S = float(os.environ.get("SYNTHESIS_LEASE_S", "60"))
SYNTHESIS_REAPER_INTERVAL_S = float(os.environ.get("SYNTHESIS_REAPER_INTERVAL_S", "30"))
SYNTHESIS_ENROLLMENT_BUDGET_S = float(os.environ.get("SYNTHESIS_ENROLLMENT_BUDGET_S", "300"))
WATERMARK_ENGINE = read_choice("WATERMARK_ENGINE", "dsp", ("dsp", "audioseal"))
WATERMARK_AUDIOSEAL_GENERATOR = os.environ.get("WATERMARK_AUDIOSEAL_GENERATOR") or None
WATERMARK_AUDIOSEAL_DETECTOR = os.environ.get("WATERMARK_AUDIOSEAL_DETECTOR") or None
PROVENANCE_PROVIDER = os.environ.get("PROVENANCE_PROVIDER", "voicegate")
# Without explicit certificate paths, a development CA is created once in var/provenance so
# every output is signed out of the box (its root is only trusted by this installation).
_provenance_dir = VAR_DIR / "provenance"
PROVENANCE_CERT_CHAIN = os.environ.get("PROVENANCE_CERT_CHAIN") or str(_provenance_dir / "chain.pem")
PROVENANCE_PRIVATE_KEY = os.environ.get("PROVENANCE_PRIVATE_KEY") or str(_provenance_dir / "leaf.key")
PROVENANCE_TRUST_ANCHORS = os.environ.get("PROVENANCE_TRUST_ANCHORS") or str(_provenance_dir / "root.pem")
PROVENANCE_DEV_CA_DIR = None if os.environ.get("PROVENANCE_CERT_CHAIN") else str(_provenance_dir)
if os.environ.get("CONSENT_SPEAKER_THRESHOLD"):
    CONSENT_SPEAKER_THRESHOLD = float(os.environ["CONSENT_SPEAKER_THRESHOLD"])

# --- auth, i18n ---------------------------------------------------------------------
# Usernames are unique per organisation: sign-in asks for the organisation (voicegate.accounts.models).
AUTHENTICATION_BACKENDS = ["voicegate.accounts.backends.OrganisationMemberBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Brute-force protection (voicegate.accounts.lockout): failures counted per window of LOGIN_LOCKOUT_S.
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("LOGIN_ADDRESS_FAILURE_LIMIT", "20"))
TOKEN_FAILURE_LIMIT = int(os.environ.get("TOKEN_FAILURE_LIMIT", "20"))
LOGIN_LOCKOUT_S = int(os.environ.get("LOGIN_LOCKOUT_S", "900"))
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [str(ROOT_DIR / "locale")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG and read_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Behind HTTPS (SECURE_COOKIES on): browsers are told to use HTTPS only, for a year. Django sends
# the header on requests it sees as secure (TLS to Django, or a proxy set up with SECURE_PROXY_SSL_HEADER).
SECURE_HSTS_SECONDS = 31_536_000 if SESSION_COOKIE_SECURE else 0
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- REST API ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "voicegate.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["voicegate.accounts.permissions.IsOrganisationMember"],
    "DEFAULT_THROTTLE_CLASSES": ["voicegate.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_user": os.environ.get("THROTTLE_API_USER", "600/min"),
        "synthesis_user": os.environ.get("THROTTLE_SYNTHESIS_USER", "3/min"),
        "synthesis_org": os.environ.get("THROTTLE_SYNTHESIS_ORG", "60/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "voicegate.api.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "voicegate.errors.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
API_MAX_PAGE_SIZE = int(os.environ.get("API_MAX_PAGE_SIZE", "200"))
if API_MAX_PAGE_SIZE < REST_FRAMEWORK["PAGE_SIZE"]:
    raise ImproperlyConfigured(f"API_MAX_PAGE_SIZE={API_MAX_PAGE_SIZE} is below the default page size "
                               f"({REST_FRAMEWORK['PAGE_SIZE']})")
SPECTACULAR_SETTINGS = {
    "TITLE": "voicegate API",
    "DESCRIPTION": "Consent-gated voice cloning with watermarking, provenance and verification.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if not DEBUG and SECRET_KEY.startswith("django-insecure"):
    raise ImproperlyConfigured("SECRET_KEY is a development key; set a real SECRET_KEY when DEBUG is off")

