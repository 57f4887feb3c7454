"""Settings for CVImprover, read from the environment (12-factor).

Every variable is documented in `.env.example`. The defaults run everything on a development machine with
PostgreSQL and Redis on their standard local ports and no `.env` at all; production sets `DEBUG=False`, which
turns on the HTTPS hardening and refuses to start without a real `SECRET_KEY`.
"""

import re
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from cvimprover.operations import parse_llm_prices
from cvimprover.secret_key import (
    development_secret_key,
    is_strong_secret_key,
    runs_schema_command,
    throwaway_secret_key,
)

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# The real environment wins over the file; ENV_FILE points elsewhere (tests point it at nothing).
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

# Off unless asked for: a server started without configuration must never run in debug mode.
# scripts/run.sh and scripts/setup.sh turn it on for development.
DEBUG = env.bool("DEBUG", default=False)

# Where development keeps the random key it generated (git-ignored; never used when SECRET_KEY is set).
SECRET_KEY_FILE = env.path("SECRET_KEY_FILE", default=BASE_DIR / ".secret_key")
SECRET_KEY = env.str("SECRET_KEY", default="") or (development_secret_key(Path(SECRET_KEY_FILE)) if DEBUG else "")
if not DEBUG and not SECRET_KEY and runs_schema_command(sys.argv):
    # makemigrations, migrate...: they sign nothing, and no server or worker ever starts with this key.
    SECRET_KEY = throwaway_secret_key()
if not DEBUG and not is_strong_secret_key(SECRET_KEY):
    raise ImproperlyConfigured(
        "DEBUG=False (the default) needs a real SECRET_KEY in the environment: at least 50 random characters, "
        "e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(50))'`. "
        "For development set DEBUG=True instead (scripts/run.sh does), which keeps a generated key in "
        f"{SECRET_KEY_FILE}."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "corsheaders",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "dj_rest_auth",
    "dj_rest_auth.registration",
    "core",
    "cv",
    "pdf",
    "cvimprover.apps.ProjectConfig",
]

MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",
    "core.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestLogMiddleware",
    "core.metrics.RequestMetricsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "cvimprover.urls"
WSGI_APPLICATION = "cvimprover.wsgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {"default": env.db("DATABASE_URL", default="postgres://127.0.0.1:5432/cvimprover")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if env.bool("DB_PREPARED_STATEMENTS", default=True):
    # Parameters sent apart from the SQL, so psycopg prepares a statement once it ran five times on a
    # connection and PostgreSQL stops planning it for every request (0.85 -> 0.26 ms of its CPU for a
    # signed-in request). Off (False) behind a pooler that cannot keep prepared statements.
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)

REDIS_URL = env.str("REDIS_URL", default="redis://localhost:6379/0")
# The cache holds what can be rebuilt (the plan catalogue, pages of a person's lists): with Redis down it
# fails open (core.redis_safety), so reads and sign-in keep working; short timeouts so a Redis that does not
# answer costs little.
CACHES = {
    "default": {
        "BACKEND": "core.redis_safety.FailOpenRedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 2},
        "KEY_PREFIX": "cvimprover",
    }
}

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses every sign-in (API and Django admin) while the account or address is locked.
    "core.login_limits.LoginLimitBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
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
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploaded CVs and rendered PDFs live here; they are never served by URL (MEDIA_URL is deliberately not
# routed): only the owner-checked download views read them.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "/media-not-served/"
STORAGES = {
    "default": {
        "BACKEND": env.str("DEFAULT_FILE_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage")
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if STORAGES["default"]["BACKEND"] == "storages.backends.s3.S3Storage":
    # Files are shared between web servers and workers on different machines through one bucket. Objects
    # stay private: every read goes through the owner-checked views, never a public or signed URL.
    STORAGES["default"]["OPTIONS"] = {
        "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
        "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
        "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
        "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
        "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
        "default_acl": "private",
        "querystring_auth": True,
        "file_overwrite": False,
    }
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# HTTPS hardening: on by default in production, each switch can be turned off where TLS ends at a proxy.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
JWT_AUTH_SECURE = env.bool("JWT_AUTH_SECURE", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("USE_X_FORWARDED_PROTO", default=False) else None
)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Health probes (compose, load balancers) call over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^core/health/$", r"^metrics$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
COOKIE_SAMESITE = env.str("COOKIE_SAMESITE", default="Lax")

# The single-page app on another origin. Reset and verification links point at it: with DEBUG=False and no
# FRONTEND_URL they would point at a developer's machine, so the check cvimprover.W002 warns at every start.
FRONTEND_URL_IS_DEFAULT = not env.str("FRONTEND_URL", default="")
FRONTEND_URL = (env.str("FRONTEND_URL", default="") or "http://localhost:3000").rstrip("/")
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[FRONTEND_URL])
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_HEADERS = ["accept", "content-type", "authorization", "x-csrftoken", "x-requested-with"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=CORS_ALLOWED_ORIGINS)
# The product's name and domain as mails show them ("[CVImprover] ...", "Hello from CVImprover!"): written to
# the Site row (SITE_ID) at every `manage.py migrate` (cvimprover.apps), a fresh database included.
SITE_NAME = env.str("SITE_NAME", default="CVImprover")
SITE_DOMAIN = env.str("SITE_DOMAIN", default="") or urlsplit(FRONTEND_URL).netloc or "localhost"
if not 0 < len(SITE_NAME) <= 50 or not 0 < len(SITE_DOMAIN) <= 100:
    raise ImproperlyConfigured("SITE_NAME must have 1 to 50 characters and SITE_DOMAIN 1 to 100.")
# The SPA reads the CSRF cookie (or /auth/csrf-token/) and echoes it in X-CSRFToken.
CSRF_COOKIE_HTTPONLY = False
CSRF_COOKIE_SAMESITE = COOKIE_SAMESITE
SESSION_COOKIE_SAMESITE = COOKIE_SAMESITE

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.authentication.JWTCookieAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttles.RequestThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON_RATE", default="1000/hour"),
        "user_burst": env.str("THROTTLE_USER_BURST_RATE", default="120/minute"),
    },
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # How many proxies sit in front of gunicorn. 0: the client's address is the socket's, and a forged
    # X-Forwarded-For cannot dodge the anonymous throttle. Behind one load balancer, set NUM_PROXIES=1.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CVImprover API",
    "DESCRIPTION": "Improve a CV for a specific job with an LLM, download it as a PDF, pay for higher limits.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's assets are served by us (no CDN: the docs work offline and leak nothing to a third party).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "cv.models.AIResponse.Status",
        "SubscriptionStatusEnum": "core.models.Subscription.Status",
        "BillingIntervalEnum": "core.models.Plan.Interval",
        "QuotaStatusEnum": ["ok", "warning", "exceeded"],
    },
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": SECRET_KEY,
    # Tokens carry a hash of the password they were issued under: a new password refuses all older ones.
    "CHECK_REVOKE_TOKEN": True,
    "REVOKE_TOKEN_CLAIM": "hash_password",
}

# Guessing bounds (core.login_limits): failed sign-ins per account and per client address in a window,
# then 429 login_locked until the window ends; password-reset mails per address per hour.
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=5)
LOGIN_FAILURES_PER_IP = env.int("LOGIN_FAILURES_PER_IP", default=50)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)
PASSWORD_RESET_MAILS_PER_HOUR = env.int("PASSWORD_RESET_MAILS_PER_HOUR", default=3)
# The queue of the account mails (reset, confirmation: core.tasks), sent by a worker so that a request does the
# same work whether or not the address has an account; tests give their own worker one.
ACCOUNT_MAIL_QUEUE = "default"
# A mail server that is down or hangs up: the account mail is tried again after 1, 2, 4 ... minutes (from the
# base, doubling up to the maximum, with jitter), at most this many times; then the task fails with its error.
ACCOUNT_MAIL_MAX_RETRIES = 5
ACCOUNT_MAIL_RETRY_BASE_SECONDS = 60.0
ACCOUNT_MAIL_RETRY_MAX_SECONDS = 600.0

# dj-rest-auth 7 reads REST_AUTH (the older names are silently ignored, see docs/stack.md).
REST_AUTH = {
    "USE_JWT": True,
    "SESSION_LOGIN": False,
    "TOKEN_MODEL": None,
    "JWT_AUTH_COOKIE": "access-token",
    "JWT_AUTH_REFRESH_COOKIE": "refresh-token",
    "JWT_AUTH_HTTPONLY": True,
    "JWT_AUTH_SECURE": JWT_AUTH_SECURE,
    "JWT_AUTH_SAMESITE": COOKIE_SAMESITE,
    "JWT_AUTH_COOKIE_USE_CSRF": True,
    "JWT_AUTH_RETURN_EXPIRATION": True,
    "USER_DETAILS_SERIALIZER": "core.serializers.UserDetailsSerializer",
    "REGISTER_SERIALIZER": "core.serializers.RegisterSerializer",
    "PASSWORD_RESET_SERIALIZER": "core.serializers.PasswordResetSerializer",
    "OLD_PASSWORD_FIELD_ENABLED": True,
}

ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# With "mandatory", a new account signs in once the SPA posted back the key of the link mailed to it
# (FRONTEND_URL/verify-email/<key>) to /auth/registration/verify-email/.
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="none")
if ACCOUNT_EMAIL_VERIFICATION not in ("none", "optional", "mandatory"):
    raise ImproperlyConfigured(
        f"ACCOUNT_EMAIL_VERIFICATION must be none, optional or mandatory, not {ACCOUNT_EMAIL_VERIFICATION!r}."
    )
ACCOUNT_ADAPTER = "core.adapters.AccountAdapter"
# A confirmed address replaces the account's email and the old one is removed (allauth's change-email flow).
# Under mandatory verification a new email given to PATCH /auth/user/ waits unverified beside the old one,
# which stays the address to sign in with until the mailed key is posted back (core.services.user_update).
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_PRESERVE_USERNAME_CASING = False

GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="")
# Replaces the hosts of Google's token, tokeninfo, certs (JWKS) and userinfo endpoints (tests: a local fake).
GOOGLE_API_BASE = env.str("GOOGLE_API_BASE", default="")
GOOGLE_TIMEOUT = env.float("GOOGLE_TIMEOUT", default=5.0)
SOCIALACCOUNT_PROVIDERS = {
    "google": {
        "SCOPE": ["profile", "email"],
        "AUTH_PARAMS": {"access_type": "online"},
        "APPS": (
            [{"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET, "key": ""}] if GOOGLE_CLIENT_ID else []
        ),
    }
}
# Never sign a Google user into an existing local account just because the email matches: local emails are
# not verified, so that would let someone register a victim's address first and share their account later.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False

# Email: EMAIL_URL (smtp://user:pass@host:587, ...), or EMAIL_BACKEND, or the console backend. Production on
# the console backend by default would print password-reset links to the log: the check
# cvimprover.W001 warns at every start unless one of the two is set (an explicit console backend is fine).
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
    EMAIL_BACKEND_IS_DEFAULT = False
else:
    EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="")
    EMAIL_BACKEND_IS_DEFAULT = not EMAIL_BACKEND
    EMAIL_BACKEND = EMAIL_BACKEND or "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CVImprover <no-reply@cvimprover.local>")

# Stripe. Unset secret key: payment endpoints answer 503.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="") or None
STRIPE_API_VERSION = "2026-10-28.endive"  # the version stripe==16.1.0 is built for
STRIPE_TIMEOUT = env.float("STRIPE_TIMEOUT", default=10.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)

# The LLM: any OpenAI-compatible server. No key: the built-in offline analyser.
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="") or None
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")
# Seconds one request to the model may take. A model on this machine or the local network (llama.cpp,
# Ollama, vLLM on CPU) writes a CV at a few to 20 tokens a second: it gets 10 minutes, a hosted API 60 s.
_LOCAL_MODEL = bool(
    re.match(
        r"https?://(localhost|127\.|\[::1\]|0\.0\.0\.0|host\.docker\.internal|[^/:]+\.local\b)", OPENAI_BASE_URL or ""
    )
)
OPENAI_TIMEOUT = env.float("OPENAI_TIMEOUT", default=600.0 if _LOCAL_MODEL else 60.0)
# Ask the server to stream its answer (llama.cpp's server, vLLM, Ollama and OpenAI all can), so a running job
# reports the share written so far (cv.progress). A server that refuses the parameter is asked without it.
# OPENAI_TIMEOUT still bounds the whole streamed answer, not only the wait between its pieces.
OPENAI_STREAM = env.bool("OPENAI_STREAM", default=True)
# How the answer's shape is asked for first: `json_schema` (strict structured output), `json_object` or `prompt`
# (the CV as plain Markdown, the change list from the diff); a server that refuses a form is asked in the next.
# A small model on a local server answers best in Markdown: given a schema, a 1.5B model copied the prompt's
# blocks into the JSON string until the output bound (README, "Run with a local model").
OPENAI_ANSWER_FORM = env.str("OPENAI_ANSWER_FORM", default="prompt" if _LOCAL_MODEL else "json_schema")
if OPENAI_ANSWER_FORM not in ("json_schema", "json_object", "prompt"):
    raise ImproperlyConfigured("OPENAI_ANSWER_FORM must be json_schema, json_object or prompt.")
# How the CV is rewritten: `whole` (one answer holds the whole improved CV) or `sections` (cv.llm.piecewise: the
# summary and each role's points are rewritten in short calls, and the CV is put together around them, every
# employer, title, date and degree kept as written). A small local model copies a whole CV back unchanged, but
# rewrites a role's points well (README, "Run with a local model"); a large hosted one does best with `whole`.
OPENAI_REWRITE = env.str("OPENAI_REWRITE", default="sections" if _LOCAL_MODEL else "whole")
if OPENAI_REWRITE not in ("whole", "sections"):
    raise ImproperlyConfigured("OPENAI_REWRITE must be whole or sections.")
OPENAI_MAX_ATTEMPTS = env.int("OPENAI_MAX_ATTEMPTS", default=4)
# Bound on each answer of the model's reading of a job (cv.llm.requirements: its terms, then the CV's words for
# them), in tokens: about 40 terms, or 30 lines of evidence. A small CPU model otherwise wrote for minutes.
LLM_REQUIREMENTS_MAX_TOKENS = env.int("LLM_REQUIREMENTS_MAX_TOKENS", default=600)
# Bound on the answer (tokens). A rewritten CV is about as long as the CV: 4000 tokens hold about 14,000
# characters. Sent as max_completion_tokens to OpenAI, max_tokens elsewhere (the other name if refused).
OPENAI_MAX_OUTPUT_TOKENS = env.int("OPENAI_MAX_OUTPUT_TOKENS", default=4000)
# At most this many characters of the CV's text reach the model (a normal CV has 3,000 to 10,000).
LLM_MAX_INPUT_CHARS = env.int("LLM_MAX_INPUT_CHARS", default=40000)
# A job claimed by a worker that stops renewing its lease (killed, out of memory) is taken again by the sweep.
JOB_LEASE_SECONDS = env.int("JOB_LEASE_SECONDS", default=int(OPENAI_TIMEOUT) + 30)

CV_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
CV_MAX_PAGES = 20
# Bounds on a CV's text, shared by the uploaded CV's extracted text, the model's answer and a person's edit
# (cv.intake.limits): every operation on a CV (claims check, match report, diff, exports, render) is then bounded by
# these. A 20-page CV has about 60,000 characters; no real word (a URL included) is longer than 200
# characters, and no real line longer than 2,000. A request past one of them gets a 400 that names it.
CV_MAX_TEXT_CHARS = 60_000
CV_MAX_WORD_CHARS = 200
CV_MAX_LINE_CHARS = 2_000
CV_MAX_TABLE_ROWS = 200
CV_MAX_TABLE_COLUMNS = 12
# Any request body over this is refused with 413 before it is read (core.middleware): a 10 MB CV plus the
# multipart framing and the questionnaire's text fields.
REQUEST_MAX_BODY_BYTES = CV_MAX_UPLOAD_BYTES + 1024 * 1024
# Wall-clock limit for parsing one uploaded PDF (in a child process with CPU and memory limits). A 20-page
# CV takes about 2 s on a busy 2-core machine; a PDF that needs longer is refused as too complex, so a
# hostile file holds a web worker for at most this long (and one person parses one file at a time).
CV_EXTRACT_TIMEOUT = env.float("CV_EXTRACT_TIMEOUT", default=5.0)
# A queue name for analyses and cover letters instead of their route (cv.tasks.* -> ai); tests give their
# own workers one.
CV_ANALYSIS_QUEUE: str | None = None
# First back-off step for transient LLM errors; doubles per attempt, with jitter, up to the maximum.
CV_RETRY_BASE_SECONDS = env.float("CV_RETRY_BASE_SECONDS", default=5.0)
CV_RETRY_MAX_SECONDS = env.float("CV_RETRY_MAX_SECONDS", default=300.0)
# An analysis or letter still pending this long after it was last queued may have lost its message (a broker
# restart): the sweep sends it again (a duplicate is harmless, the claim decides).
CV_PENDING_REQUEUE_AFTER_SECONDS = 300
# A job description longer than this is refused (400) where it enters (cv.serializers).
CV_JOB_DESCRIPTION_MAX_CHARS = 5000
# A model's cover letter longer than this fails `answer_text_too_long` (its unit given back) instead of being
# cut: generous for 600 words of Markdown (about 4,000 characters), within CV_MAX_TEXT_CHARS.
CV_MAX_LETTER_CHARS = 12_000

# PDF renders (core.jobs): a render takes about a second; the task's time limits (pdf.services.render_time_limits,
# sent with each message: soft at 3/4 of the lease, hard at 11/12, so 45 s and 55 s) stay below the lease, so a document still running after it
# belongs to a worker that died. A pending one queued longer than the lease ago is sent again. Storage
# failures are retried with back-off from the base, up to the maximum attempts.
PDF_RENDER_LEASE_SECONDS = 60
PDF_MAX_ATTEMPTS = 3
PDF_RETRY_BASE_SECONDS = 5.0

# Stripe webhook events (core.jobs): a failed event is retried after 1, 2, 4, ... minutes up to 6 hours,
# then waits for an admin; a claim older than the lease belongs to a worker that died.
STRIPE_EVENT_LEASE_SECONDS = 300
STRIPE_EVENT_MAX_ATTEMPTS = 10
STRIPE_EVENT_RETRY_BASE_SECONDS = 60.0
STRIPE_EVENT_RETRY_MAX_SECONDS = 6 * 3600.0
# A stored event still `received` this long after it came in lost its enqueue: the beat task queues it again.
STRIPE_EVENT_RECEIVED_GRACE_SECONDS = 120

# A past-due subscription keeps its plan's limits this long (Stripe retries the card meanwhile).
BILLING_PAST_DUE_GRACE_DAYS = env.int("BILLING_PAST_DUE_GRACE_DAYS", default=7)

# Celery on Redis: separate queues so a slow LLM never delays webhooks or PDFs.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
if CELERY_BROKER_URL.startswith("redis://"):
    CELERY_BROKER_TRANSPORT = "cvimprover.broker:Transport"  # kombu's, reusing its publishing client
CELERY_RESULT_BACKEND = None  # the database row is the truth, not a result backend
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = (Queue("default"), Queue("ai"), Queue("pdf"))
CELERY_TASK_ROUTES = {"cv.tasks.*": {"queue": "ai"}, "pdf.tasks.*": {"queue": "pdf"}}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker whose broker goes away keeps reconnecting (never gives up and exits), so it resumes by itself.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # A request that queues a job waits at most a few seconds on a broker that does not answer, then 503s.
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "retry_on_timeout": True,
}
# Publishing from a request: a couple of quick retries (a broker restarting, a pooled connection gone stale),
# then the request answers 503 (core.redis_safety.send_task) instead of hanging.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.25, "interval_max": 0.5}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    # core (billing): begin
    # Failed webhook events whose back-off has passed, and stored events whose enqueue was lost.
    "billing-retry-failed-stripe-events": {"task": "core.tasks.retry_failed_stripe_events", "schedule": 60.0},
    # Past-due subscriptions whose grace period ended lose their plan's limits (no Stripe event says so).
    "billing-grace-sweep": {"task": "core.tasks.billing_grace_sweep", "schedule": crontab(minute=7)},
    # core (billing): end
    # cv: begin
    # Jobs whose worker died run again within JOB_LEASE_SECONDS + 30 s; on the default queue, so a backed-up
    # ai queue cannot delay the sweep itself.
    "cv-requeue-stuck-responses": {
        "task": "cv.tasks.requeue_stuck_responses",
        "schedule": 30.0,
        "options": {"queue": "default"},
    },
    "cv-requeue-stuck-cover-letters": {
        "task": "cv.tasks.requeue_stuck_cover_letters",
        "schedule": 30.0,
        "options": {"queue": "default"},
    },
    "cv-cleanup-old-data": {
        "task": "cv.tasks.cleanup_old_data",
        "schedule": crontab(hour=3, minute=30),
        "options": {"queue": "default"},
    },
    # cv: end
    # pdf: begin
    # Re-queue documents whose worker died mid-render or whose queue message was lost (lease: 60 s).
    "pdf-sweep-stuck-documents": {
        "task": "pdf.tasks.sweep_stuck_documents",
        "schedule": 30.0,
        # On the default queue, so a backlog of renders cannot delay the sweep that rescues dead ones.
        "options": {"queue": "default"},
    },
    # pdf: end
}

DATA_RETENTION_DAYS = env.int("DATA_RETENTION_DAYS", default=180)

# Operations (README, "Operations"). GET /metrics answers only with "Authorization: Bearer <METRICS_TOKEN>", and
# 404 while it is unset. PROMETHEUS_MULTIPROC_DIR (read by prometheus-client from the environment itself) is the
# folder where every process of a deployment keeps its numbers (core.metrics).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Model prices (core.costs), US dollars per million input and output tokens, per model name as the server
# returns it (a name the server adds a suffix to, "gpt-4o-mini-2024-07-18", takes the longest name it starts
# with): LLM_PRICES='{"gpt-4o-mini": [0.15, 0.60]}'. A model without a price is counted with no cost.
LLM_PRICES = parse_llm_prices(env.str("LLM_PRICES", default=""))
# Error reports (cvimprover.sentry): only with a DSN, and then without request bodies, CV text or personal data.
# No DSN: the SDK is not even imported.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from cvimprover.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default=""),
        release=env.str("SENTRY_RELEASE", default=""),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# LOG_FORMAT=json: one JSON object per line (time, level, logger, message, request_id) for log shippers; the
# default is one plain line, ending in " request_id=<id>" inside a request or a task it queued.
LOG_FORMAT = env.str("LOG_FORMAT", default="line")
if LOG_FORMAT not in ("line", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be line or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.request_context.RequestIdFilter"}},
    "formatters": {
        "line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s%(request_suffix)s"},
        "json": {
            "()": "core.request_context.JSONLineFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        # The request log below replaces Django's own 4xx warnings, which would repeat every line.
        "django.request": {"level": "ERROR"},
        # The Stripe SDK logs two lines per call at INFO; our own lines say what happened.
        "stripe": {"level": "WARNING"},
    },
}
