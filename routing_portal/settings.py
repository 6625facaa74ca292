"""Settings for Routing Portal, read from the environment.

Production is the default: DEBUG is off unless DJANGO_DEBUG says otherwise, and then the portal
refuses to start without DJANGO_SECRET_KEY. `make run` is the development path: it sets
DJANGO_DEBUG=1 and, with no DATABASE_URL or REDIS_URL, runs on a SQLite file and an embedded
filesystem broker. Production sets DATABASE_URL (PostgreSQL), REDIS_URL, DJANGO_SECRET_KEY and
DJANGO_ALLOWED_HOSTS, and the TLS settings at the end of this file (README, "Deploying").
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ROUTING_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off. In production set it to a "
            "long random value, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`; for local "
            "development use `make run`, or set DJANGO_DEBUG=1."
        )
    # Development only: a fixed, obviously insecure key so sessions survive restarts.
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "apps.backoffice.site.RoutingAdminConfig",  # django.contrib.admin, managers only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here: /api/docs/ needs no CDN
    "simple_history",
    "adminsortable2",
    "django_celery_beat",
    "apps.core",
    "apps.territories",
    "apps.reps",
    "apps.accounts",
    "apps.rules",
    "apps.leads",
    "apps.configuration",
    "apps.routing",
    "apps.notifications",
    # The edges, above every service layer.
    "apps.api",
    "apps.backoffice",
    "apps.portal",
    "apps.dashboards",
    "apps.audit",
    "apps.demo",
]

MIDDLEWARE = [
    "apps.core.middleware.HealthzMiddleware",  # probes come by IP and plain HTTP
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "apps.core.middleware.AdminViewerTimezoneMiddleware",  # the admin in the viewer's zone
]

ROOT_URLCONF = os.environ.get(
    "DJANGO_ROOT_URLCONF", "routing_portal.urls"
)  # bench/intake.py swaps in bench.bare_urls
WSGI_APPLICATION = "routing_portal.wsgi.application"
ASGI_APPLICATION = "routing_portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: PostgreSQL in production; a SQLite file by default.
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'routing_portal.sqlite3'}"
# `make run` seeds the demo by itself only into this default file, never into a configured
# database (apps/core/management/commands/runportal.py).
DATABASE_IS_EMBEDDED_DEFAULT = not os.environ.get("DATABASE_URL")
# Persistent connections made a 6x difference to request throughput (DESIGN.md).
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DJANGO_CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: WAL lets readers run beside one writer, and
    # IMMEDIATE transactions take the write lock up front instead of failing on upgrade.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DATABASES["default"].setdefault("TEST", {})
# SQLite ignores an index's INCLUDE columns (the covering indexes are for PostgreSQL's sake).
SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", VAR_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG
# Uploads (lead import files and their rejects): shared by web and workers on one machine; point
# DJANGO_MEDIA_ROOT at shared storage when workers run elsewhere.
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Everyone signs in on the portal's page; each lands where their role works (apps/portal).
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:landing"
LOGOUT_REDIRECT_URL = "portal:login"

# Mail: SMTP when EMAIL_HOST is set; else each mail is a .eml file under var/mail/ (EMAIL_FILE_PATH)
# with one log line per mail (apps/core/mail.py), so the log stays readable.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "apps.core.mail.FileAndLogBackend",
)
EMAIL_FILE_PATH = Path(os.environ.get("EMAIL_FILE_PATH", VAR_DIR / "mail"))
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "routing-portal@localhost")

# REST framework
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON that cannot be stored (overflowing numbers, unpaired surrogates, deep nesting, an
    # oversized body) is a 400 naming the field on every endpoint, never a 500.
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"intake": os.environ.get("ROUTING_INTAKE_THROTTLE", "100/second")},
    "EXCEPTION_HANDLER": "apps.core.api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Routing Portal API",
    "DESCRIPTION": "Lead intake, routing decisions and routing configuration.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/ loads Swagger UI from our static files (collected, served by whitenoise).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # no badge from Swagger's online validator either: the docs page calls no other host
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

# Celery: JSON only, late acks (a killed worker's task is redelivered), separate queues.
REDIS_URL = os.environ.get("REDIS_URL", "")


def redis_cache_url(broker_url: str) -> str:
    """The cache's Redis database: 8 above the broker's (mod 16), never the broker's own, since
    clearing a cache flushes its whole database."""
    parts = urlsplit(broker_url)
    db = parts.path.strip("/")
    cache_db = (int(db) + 8) % 16 if db.isdigit() else 8
    return urlunsplit(parts._replace(path=f"/{cache_db}"))


# Cache: the intake throttle's counters and briefly cached roles. On Redis when there is one, so
# every web process counts against the same per-user limit; per process otherwise.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "apps.core.cache.SharedRedisCache",
            "LOCATION": os.environ.get("REDIS_CACHE_URL") or redis_cache_url(REDIS_URL),
            "KEY_PREFIX": "rp",
            # Fail fast: an unreachable cache is a miss (apps/core/cache.py), never a stall.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # visibility_timeout must exceed the longest task so acks_late redelivery is not premature.
        "visibility_timeout": 3600,
        # Fail fast when the broker is down: a publish makes one connection attempt (kombu's
        # default is 3 more, 2 s apart: a 6 s stall per intake request) and gives up on a host
        # that does not answer after 2 s. Publishers go through apps/core/broker.py's breaker.
        "max_retries": 0,
        "socket_connect_timeout": 2,
        # A broker that vanished without closing the connection: a publish waits no longer.
        "socket_timeout": 10,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY = False
# Workers (and beat) keep reconnecting for as long as the broker is down: no retry limit.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# After a failed publish, skip publishing for this long (apps/core/broker.py): leads are saved
# and answered at once, and route_pending routes them once the broker is back.
ROUTING_BROKER_BREAKER_SECONDS = float(os.environ.get("ROUTING_BROKER_BREAKER_SECONDS", "5"))
# Each further failure in a row doubles that window, up to this (a hung broker costs every probe
# the socket timeout); route_pending routes what was not published meanwhile.
ROUTING_BROKER_BREAKER_MAX_SECONDS = float(
    os.environ.get("ROUTING_BROKER_BREAKER_MAX_SECONDS", "30")
)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Anything a task prints to stdout (e.g. EMAIL_BACKEND=console) is logged as INFO, not WARNING.
CELERY_WORKER_REDIRECT_STDOUTS_LEVEL = "INFO"
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# Celery's Django fixup closes the database connection around every task unless this is set,
# which costs a new PostgreSQL connection per task; routing_portal/celery.py applies Django's
# own CONN_MAX_AGE and health checks around tasks instead.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = "routing"
CELERY_TASK_QUEUES = [Queue(name) for name in ("routing", "notify", "sweeps", "imports")]
CELERY_TASK_ROUTES = {
    "apps.routing.tasks.*": {"queue": "routing"},
    "apps.routing.tasks.route_pending": {"queue": "sweeps"},
    "apps.routing.tasks.reassign_inactive": {"queue": "sweeps"},
    "apps.routing.tasks.sla_deadline": {"queue": "sweeps"},
    "apps.notifications.tasks.*": {"queue": "notify"},
    "apps.routing.import_tasks.*": {"queue": "imports"},
    "apps.dashboards.tasks.*": {"queue": "sweeps"},
}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The schedule lives in django-celery-beat's tables (apps/routing/schedule.py creates the defaults
# on migrate), so managers edit it in the admin and a beat restart does not undo their change.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

# Routing
ROUTING_DEFAULT_SLA_MINUTES = env_int("ROUTING_DEFAULT_SLA_MINUTES", 60)
ROUTING_MAX_REASSIGNMENTS = env_int("ROUTING_MAX_REASSIGNMENTS", 2)
# A worker notices configuration changes within this many seconds (one cheap query then).
ROUTING_CONFIG_RECHECK_SECONDS = float(os.environ.get("ROUTING_CONFIG_RECHECK_SECONDS", "1.0"))
# A route_lead task also routes up to this many - 1 other waiting `new` leads in its transaction
# (oldest first): under a backlog the work is shared, with none there is no wait. 1 turns it off.
# route_pending routes its backlog in transactions of this many leads too.
ROUTING_BATCH_SIZE = max(1, env_int("ROUTING_BATCH_SIZE", 50))
# `import_leads` routes its saved leads this many per transaction: each transaction pays a fixed
# cost (locks, loads, commit, one dispatcher message) that 50-lead batches made most of an
# import's routing time (bench/import.py), while a larger batch holds the rotation and rep rows
# of its rules longer (a live lead on the same rules waits for it). Live routing keeps
# ROUTING_BATCH_SIZE.
IMPORT_ROUTING_BATCH_SIZE = max(1, env_int("IMPORT_ROUTING_BATCH_SIZE", 250))
# Leads still `new` this long after intake are picked up by route_pending (the broker was down).
ROUTING_PENDING_GRACE = timedelta(seconds=env_int("ROUTING_PENDING_GRACE_SECONDS", 30))
# /healthz reports "degraded" (and the unrouted digest lists them) when leads have waited `new`
# longer than this: route_pending should have routed them long before.
ROUTING_HEALTH_NEW_LEAD_MINUTES = env_int("ROUTING_HEALTH_NEW_LEAD_MINUTES", 5)
# Leads per SLA sweep transaction. A page holds the rotation and rep locks that routing needs
# until it commits, so live routing waits up to one page during a large sweep: smaller pages
# keep that wait short, larger ones sweep a big backlog faster (bench/sweep.py --probe; 500
# keeps the 1M-lead, 10k-overdue sweep inside its 5 s budget with room, 200 did not).
ROUTING_SWEEP_PAGE_SIZE = max(1, env_int("ROUTING_SWEEP_PAGE_SIZE", 500))
# SLA ladder (apps/routing/sla.py): remind the owner at this fraction of the SLA window, move the
# lead at 100%, escalate after ROUTING_MAX_REASSIGNMENTS inactivity moves.
ROUTING_SLA_REMINDER_FRACTION = float(os.environ.get("ROUTING_SLA_REMINDER_FRACTION", "0.5"))
# Leads move within this many seconds of their deadline (deadline timers armed by the minute
# sweep, apps/routing/sla_timers.py); the minute sweep itself stays the safety net.
ROUTING_SLA_PRECISION_SECONDS = env_int("ROUTING_SLA_PRECISION_SECONDS", 5)
# Uploaded lead files and their rejects CSVs are deleted this many days after the import
# finished (a daily beat task); the run's counts and report stay.
LEAD_IMPORT_RETENTION_DAYS = max(1, env_int("LEAD_IMPORT_RETENTION_DAYS", 30))
# Count the SLA clock only in the owner's working hours (paused outside them and during time
# off). Off by default: API.md defines sla_minutes as elapsed time to first contact, routing
# stamps a wall-clock sla_due_at and the response-time dashboard measures wall-clock, and a lead
# goes cold in minutes whatever the owner's hours, so it should move to someone working. Reps
# without working hours are unaffected either way.
ROUTING_SLA_BUSINESS_HOURS = env_bool("ROUTING_SLA_BUSINESS_HOURS", False)

# Notifications (apps/notifications): mail per the EMAIL_* settings, signed webhooks.
ROUTING_SITE_URL = os.environ.get("ROUTING_SITE_URL", "")
NOTIFY_UNROUTED_DIGEST_MINUTES = env_int("NOTIFY_UNROUTED_DIGEST_MINUTES", 60)
NOTIFY_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("NOTIFY_WEBHOOK_TIMEOUT_SECONDS", "5"))
# 10 attempts at 10 s doubling: the last one ~85 min after the first (outlasts an outage).
NOTIFY_WEBHOOK_MAX_ATTEMPTS = env_int("NOTIFY_WEBHOOK_MAX_ATTEMPTS", 10)
NOTIFY_WEBHOOK_RETRY_BASE_SECONDS = float(os.environ.get("NOTIFY_WEBHOOK_RETRY_BASE_SECONDS", "10"))
NOTIFY_WEBHOOK_RETRY_MAX_SECONDS = float(os.environ.get("NOTIFY_WEBHOOK_RETRY_MAX_SECONDS", "3600"))
# Webhook URLs resolving to private, loopback, link-local, multicast, reserved or unspecified
# addresses are refused (at save and at send) unless this is on (local receivers, tests, demo).
NOTIFY_WEBHOOK_ALLOW_PRIVATE = env_bool("NOTIFY_WEBHOOK_ALLOW_PRIVATE", False)
# The notification outbox (apps/notifications): a mail that fails is retried with exponential
# backoff, 30 s doubling up to 15 min, 10 attempts: ~75 min in all before it is marked failed.
NOTIFY_OUTBOX_MAX_ATTEMPTS = env_int("NOTIFY_OUTBOX_MAX_ATTEMPTS", 10)
NOTIFY_OUTBOX_RETRY_BASE_SECONDS = float(os.environ.get("NOTIFY_OUTBOX_RETRY_BASE_SECONDS", "30"))
NOTIFY_OUTBOX_RETRY_MAX_SECONDS = float(os.environ.get("NOTIFY_OUTBOX_RETRY_MAX_SECONDS", "900"))
#: Rows (and due webhook deliveries) one dispatcher run handles before it hands over.
NOTIFY_OUTBOX_BATCH = env_int("NOTIFY_OUTBOX_BATCH", 500)

# Error pages and error mails list the settings: mask every URL, cache location and database
# entry too, since those carry credentials (postgres://user:password@..., redis://:password@...).
DEFAULT_EXCEPTION_REPORTER_FILTER = "apps.core.error_reports.CredentialsMaskingReporterFilter"

# HTTPS (README, "Deploying"). Behind a proxy that terminates TLS, set
# DJANGO_SECURE_PROXY_SSL_HEADER=1 so its X-Forwarded-Proto tells Django the request was secure;
# only then, since a client could send that header itself to a server that is not behind one.
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Load balancers and probes check /healthz over plain HTTP: a redirect would read as a failure.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}
