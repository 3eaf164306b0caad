"""Funnel settings, read from the environment.

With nothing set, Funnel runs on embedded defaults (SQLite and a filesystem
Celery broker under var/) so that `make run` works on a fresh machine.
Setting DATABASE_URL and REDIS_URL moves the same code to PostgreSQL and Redis.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("FUNNEL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Development defaults (DEBUG on, the public development key) only when asked for:
# `make run` and the test settings set FUNNEL_DEV=1; anything else starts as production.
FUNNEL_DEV = env_bool("FUNNEL_DEV", False)
DEBUG = env_bool("DEBUG", default=FUNNEL_DEV)

# Public (it is in this file): it must never sign sessions or derive the webhook-secret key in production.
DEVELOPMENT_SECRET_KEY = "funnel-development-only-key-not-for-production-use-0123456789"
MIN_SECRET_KEY_LENGTH = 50
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not DEBUG and (len(SECRET_KEY) < MIN_SECRET_KEY_LENGTH or SECRET_KEY == DEVELOPMENT_SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least "
        f"{MIN_SECRET_KEY_LENGTH} characters when DEBUG is off (for example: "
        'python -c "import secrets; print(secrets.token_urlsafe(64))"); '
        "for local development run `make run` or set FUNNEL_DEV=1."
    )
if not SECRET_KEY:
    SECRET_KEY = DEVELOPMENT_SECRET_KEY

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from the installation
    "django_htmx",
    "axes",
    "funnel",
    "leads",
    "events",
    "scoring",
    "sales",
    "analytics",
    "attribution",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "funnel.unavailable.ServiceUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "funnel.middleware.ErrorPagesMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "funnel.middleware.UserTimezoneMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "funnel.urls"
WSGI_APPLICATION = "funnel.wsgi.application"

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
                "funnel.context_processors.navigation",
                "sales.context_processors.sales_header",
            ],
            "builtins": ["funnel.templatetags.people"],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "") or f"sqlite:///{VAR_DIR / 'funnel.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # Web, worker and beat write to one file: IMMEDIATE transactions take the
        # write lock up front (no deadlocking upgrades) and the timeout waits for it.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so a real worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Broker and cache -----------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
BROKER_DIR = Path(os.environ.get("FUNNEL_BROKER_DIR") or VAR_DIR / "broker")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    for sub in ("out", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # The exchange tables; kombu's default is ./control, written wherever the worker starts.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that restarts must never end the worker: reconnect for as long as it takes
# (the default gives up after 100 attempts and the worker exits).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# No task uses acks_late (the database says what is left to do), so a task running when
# the connection drops has nothing to redeliver; this is Celery 6's behaviour, stated.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Remote control listens on an auto-delete queue whose channel, closed after the broker
# went away, rebuilds its Redis pool from a connection kombu has already released:
# `AttributeError: 'NoneType' object has no attribute 'hostname'` ends the worker
# (celery/kombu#582; gossip, mingle and heartbeat hold such channels too and are off
# in the Procfile and docker-compose). Funnel sends no control commands; the database's
# marks and jobs say what the workers are doing.
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
# The database is the source of truth; a publish that cannot reach the broker must
# not hang a request, the periodic sweep picks up what the doorbell missed.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {}

# --- Auth -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes guards the login form: failed sign-ins are counted per account and per
# client address (separately); past the limit both are refused until the cool-off ends.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("FUNNEL_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("FUNNEL_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_DISABLE_ACCESS_LOG = True
# Password-reset mails: at most this many per address per window (seconds); more are silently not sent.
FUNNEL_PASSWORD_RESET_LIMIT = int(os.environ.get("FUNNEL_PASSWORD_RESET_LIMIT", "3"))
FUNNEL_PASSWORD_RESET_WINDOW = int(os.environ.get("FUNNEL_PASSWORD_RESET_WINDOW", "3600"))
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

EMAIL_URL = os.environ.get("EMAIL_URL", "")
if EMAIL_URL:
    from urllib.parse import unquote, urlparse

    _email = urlparse(EMAIL_URL)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email.hostname or "localhost"
    EMAIL_PORT = _email.port or 25
    EMAIL_HOST_USER = unquote(_email.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email.password or "")
    EMAIL_USE_TLS = _email.scheme in {"smtp+tls", "submission"}
    EMAIL_USE_SSL = _email.scheme == "smtps"
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "funnel@localhost")

# --- Internationalisation -------------------------------------------------
LANGUAGE_CODE = "en-us"
# One date format everywhere (funnel/formats/en/formats.py overrides the locale's).
FORMAT_MODULE_PATH = ["funnel.formats"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# collectstatic fills it; it exists from the start so WhiteNoise does not warn before.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# In development the static files come straight from static/ (no collectstatic), also in
# the test run, where pytest-django turns DEBUG off after these settings are read.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = VAR_DIR / "media"

# --- API ------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "events.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "funnel.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["events.throttling.ApiKeyRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "funnel.api_errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Funnel API",
    "DESCRIPTION": "Lead lifecycle: events in, scores, stages and the sales queue out.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/ works without internet: Swagger UI comes with the installation.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PREPROCESSING_HOOKS": ["funnel.routing.schema_paths_without_trailing_slash"],
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "leads.stages.Stage",
        "MoveKindEnum": "leads.stages.MoveKind",
        "RuleKindEnum": "scoring.models.RuleKind",
    },
}

# --- Security (production) --------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Funnel -----------------------------------------------------------------
PORT = int(os.environ.get("PORT", "8000"))
# The port people open in a browser. Under `make run`, honcho gives every process its
# own PORT (the worker's is the web's + 100), so the Makefile passes the web's port to
# all of them as FUNNEL_WEB_PORT; links built by the worker must not use its own PORT.
FUNNEL_WEB_PORT = int(os.environ.get("FUNNEL_WEB_PORT") or PORT)
FUNNEL_DEMO_PASSWORD = os.environ.get("FUNNEL_DEMO_PASSWORD", "funnel-demo")
FUNNEL_REQUIRE_SERVICES = env_bool("FUNNEL_REQUIRE_SERVICES", False)
FUNNEL_CORS_ORIGINS = env_list("FUNNEL_CORS_ORIGINS")
# Per API key: at most FUNNEL_API_RATE_LIMIT requests per FUNNEL_API_RATE_WINDOW seconds (429 past it).
FUNNEL_API_RATE_LIMIT = int(os.environ.get("FUNNEL_API_RATE_LIMIT", "30000"))
FUNNEL_API_RATE_WINDOW = int(os.environ.get("FUNNEL_API_RATE_WINDOW", "60"))
# Per client address: at most this many requests with a wrong API key per window (429 past it).
FUNNEL_API_BAD_KEY_LIMIT = int(os.environ.get("FUNNEL_API_BAD_KEY_LIMIT", "20"))
# bench/ingest.py's baseline: an authenticated no-op endpoint, routed only when set.
FUNNEL_BENCH_NOOP = env_bool("FUNNEL_BENCH_NOOP", False)
# A customer's next scored engagement after this many quiet days opens a new cycle.
FUNNEL_RECYCLE_QUIET_DAYS = int(os.environ.get("FUNNEL_RECYCLE_QUIET_DAYS", "30"))
# Likelihood to buy: at most this many (lead, moment) snapshots per training run (a
# fixed share of leads is sampled above it), and a rep's capacity for precision@k.
FUNNEL_LIKELIHOOD_MAX_SNAPSHOTS = int(os.environ.get("FUNNEL_LIKELIHOOD_MAX_SNAPSHOTS", "200000"))
FUNNEL_LIKELIHOOD_WEEKLY_CAPACITY = int(os.environ.get("FUNNEL_LIKELIHOOD_WEEKLY_CAPACITY", "50"))

# --- Sales: assignment, SLAs, reasons, webhooks -------------------------------
# New MQL alerts go round-robin to active sales reps (on in the demo).
FUNNEL_ROUND_ROBIN = env_bool("FUNNEL_ROUND_ROBIN", True)
# SLA clocks run in business hours only: Monday=0 … Sunday=6, hours [start, end).
FUNNEL_WORKING_DAYS = [int(day) for day in env_list("FUNNEL_WORKING_DAYS", "0,1,2,3,4")]
FUNNEL_WORKING_HOURS = tuple(int(hour) for hour in os.environ.get("FUNNEL_WORKING_HOURS", "9-17").split("-", 1))
FUNNEL_BUSINESS_TIME_ZONE = os.environ.get("FUNNEL_BUSINESS_TIME_ZONE", TIME_ZONE)
FUNNEL_SLA_HOURS = float(os.environ.get("FUNNEL_SLA_HOURS", "4"))
FUNNEL_SLA_NEAR_MINUTES = int(os.environ.get("FUNNEL_SLA_NEAR_MINUTES", "60"))
# Why sales sends a lead back (reject an MQL, lose a deal): code → label.
FUNNEL_REJECT_REASONS = {
    "not_a_fit": "Not a fit",
    "no_budget": "No budget",
    "bad_timing": "Bad timing",
    "no_response": "Could not reach them",
    "student_or_job_seeker": "Student or job seeker",
    "competitor": "Went with a competitor",
    "duplicate": "Duplicate",
    "other": "Other",
}
# The currency the funnel report shows sums of deal values in (and a new deal's default).
FUNNEL_CURRENCY = os.environ.get("FUNNEL_CURRENCY", "EUR").upper()
# Links in notification emails and webhooks point here: the web server people use.
FUNNEL_BASE_URL = (os.environ.get("FUNNEL_BASE_URL") or f"http://127.0.0.1:{FUNNEL_WEB_PORT}").rstrip("/")
FUNNEL_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("FUNNEL_WEBHOOK_MAX_ATTEMPTS", "8"))
# The whole of one delivery attempt (lookup, connect, send, read), in seconds.
FUNNEL_WEBHOOK_TIMEOUT = float(os.environ.get("FUNNEL_WEBHOOK_TIMEOUT", "10"))
# Webhooks go only to internet addresses; 1 lets them reach loopback and private networks (local testing only).
FUNNEL_WEBHOOK_ALLOW_PRIVATE = env_bool("FUNNEL_WEBHOOK_ALLOW_PRIVATE", False)
# First retry after this many seconds, doubling each time, capped at an hour.
FUNNEL_WEBHOOK_BACKOFF_SECONDS = float(os.environ.get("FUNNEL_WEBHOOK_BACKOFF_SECONDS", "10"))
CELERY_BEAT_SCHEDULE["sales-sla-sweep"] = {"task": "sales.sweep_slas", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["sales-webhook-sweep"] = {"task": "sales.redeliver_stale_webhooks", "schedule": 300.0}
# Folds the board's +1/−1 summary rows into one row per bucket.
CELERY_BEAT_SCHEDULE["leads-compact-pipeline-counts"] = {"task": "leads.compact_pipeline_counts", "schedule": 60.0}
# Rebuilds the funnel report's summary tables (set-based, a few scans of the source tables).
# Retrains the likelihood model weekly (published only if not worse on the holdout).
CELERY_BEAT_SCHEDULE["scoring-train-likelihood"] = {"task": "scoring.train_likelihood", "schedule": 7 * 86400.0}
CELERY_BEAT_SCHEDULE["analytics-refresh"] = {
    "task": "analytics.refresh",
    "schedule": float(os.environ.get("FUNNEL_ANALYTICS_REFRESH_SECONDS", "600")),
}
# Attribution: how far before a conversion a touch still counts, the time-decay model's
# half-life, and how often beat rebuilds the credits (a won deal also asks for a rebuild).
FUNNEL_ATTRIBUTION_WINDOW_DAYS = int(os.environ.get("FUNNEL_ATTRIBUTION_WINDOW_DAYS", "90"))
FUNNEL_ATTRIBUTION_HALF_LIFE_DAYS = float(os.environ.get("FUNNEL_ATTRIBUTION_HALF_LIFE_DAYS", "7"))
CELERY_BEAT_SCHEDULE["attribution-refresh"] = {
    "task": "attribution.refresh",
    "schedule": float(os.environ.get("FUNNEL_ATTRIBUTION_REFRESH_SECONDS", "600")),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
# Scoring: default half-life of behaviour points (days), the lease a worker holds on
# the marks it rescores, and the batch sizes of mark-driven and full rescores.
FUNNEL_SCORE_HALF_LIFE_DAYS = float(os.environ.get("FUNNEL_SCORE_HALF_LIFE_DAYS", "30"))
FUNNEL_RESCORE_LEASE_SECONDS = float(os.environ.get("FUNNEL_RESCORE_LEASE_SECONDS", "60"))
FUNNEL_RESCORE_CHUNK = int(os.environ.get("FUNNEL_RESCORE_CHUNK", "500"))
FUNNEL_RESCORE_JOB_BATCH = int(os.environ.get("FUNNEL_RESCORE_JOB_BATCH", "20000"))
# Ingest: on PostgreSQL a request stores events in the intake and a worker processes them
# (events/intake.py); INLINE processes them in the request's process (the test suite),
# PROCESS_BATCH is how many a worker claims at a time, SWEEP_SECONDS how often beat rings
# for events whose doorbell was lost or whose worker died.
FUNNEL_INGEST_DEFERRED = env_bool("FUNNEL_INGEST_DEFERRED", True)
FUNNEL_INGEST_INLINE = env_bool("FUNNEL_INGEST_INLINE", False)
FUNNEL_INGEST_PROCESS_BATCH = int(os.environ.get("FUNNEL_INGEST_PROCESS_BATCH", "1000"))
# A worker doubles its claim while claims come back full, up to this (events/processing.py).
FUNNEL_INGEST_PROCESS_BATCH_MAX = int(os.environ.get("FUNNEL_INGEST_PROCESS_BATCH_MAX", "4000"))
FUNNEL_INGEST_SWEEP_SECONDS = float(os.environ.get("FUNNEL_INGEST_SWEEP_SECONDS", "10"))
# Every worker's watchman (funnel/watchman.py): every FUNNEL_WATCHMAN_SECONDS (0: off) it
# does itself the intake and rescore work that has waited longer than OVERDUE seconds,
# and restarts its worker when its consumer has heard nothing for DEAF seconds of that.
FUNNEL_WATCHMAN_SECONDS = float(os.environ.get("FUNNEL_WATCHMAN_SECONDS", "2"))
FUNNEL_WATCHMAN_OVERDUE_SECONDS = float(os.environ.get("FUNNEL_WATCHMAN_OVERDUE_SECONDS", "10"))
FUNNEL_WATCHMAN_DEAF_SECONDS = float(os.environ.get("FUNNEL_WATCHMAN_DEAF_SECONDS", "30"))
# The ingest processing has a queue and a worker of its own (Procfile, docker-compose): it
# waits at times for a rescore's row locks, and must not hold up the rescore's own tasks
# (the MQL alerts wait for those) while it does.
INGEST_QUEUE = "ingest"
CELERY_TASK_ROUTES = {"events.process_incoming": {"queue": INGEST_QUEUE}}
CELERY_BEAT_SCHEDULE["events-process-incoming"] = {
    "task": "events.process_incoming",
    "schedule": FUNNEL_INGEST_SWEEP_SECONDS,
}
CELERY_BEAT_SCHEDULE["scoring-sweep"] = {"task": "scoring.sweep", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["scoring-decay"] = {"task": "scoring.apply_decay", "schedule": 3600.0}
