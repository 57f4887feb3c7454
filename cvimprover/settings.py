"""Settings for CVImprover, read from the environment (12-factor).

Every variable is documented in `.env.example`. The defaults run everything on a development machine with
PostgreSQL and Redis on their standard local ports and no `.env` at all; production sets `DEBUG=False`, which
turns on the HTTPS hardening and refuses to start without a real `SECRET_KEY`.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET_KEY = "django-insecure-development-only-key-never-used-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY)
if not DEBUG and (SECRET_KEY == _DEV_SECRET_KEY or SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 32):
    raise ImproperlyConfigured(
        "DEBUG=False needs a real SECRET_KEY (at least 32 random characters) in the environment."
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
]

MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.RequestLogMiddleware",
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

REDIS_URL = env.str("REDIS_URL", default="redis://localhost:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        "KEY_PREFIX": "cvimprover",
    }
}

AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
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
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
COOKIE_SAMESITE = env.str("COOKIE_SAMESITE", default="Lax")

# The single-page app on another origin.
FRONTEND_URL = env.str("FRONTEND_URL", default="http://localhost:3000").rstrip("/")
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[FRONTEND_URL])
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_HEADERS = ["accept", "content-type", "authorization", "x-csrftoken", "x-requested-with"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=CORS_ALLOWED_ORIGINS)
# The SPA reads the CSRF cookie (or /auth/csrf-token/) and echoes it in X-CSRFToken.
CSRF_COOKIE_HTTPONLY = False
CSRF_COOKIE_SAMESITE = COOKIE_SAMESITE
SESSION_COOKIE_SAMESITE = COOKIE_SAMESITE

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["core.authentication.JWTCookieAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttles.AnonBurstThrottle",
        "core.throttles.UserBurstThrottle",
        "core.throttles.PlanAPICallThrottle",
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
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
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
}

# dj-rest-auth 7 reads REST_AUTH (the older names are silently ignored, see STACK.md).
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
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="none")
ACCOUNT_ADAPTER = "core.adapters.AccountAdapter"
ACCOUNT_PRESERVE_USERNAME_CASING = False

GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="")
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

# Email: EMAIL_URL (smtp://user:pass@host:587, ...) or the console backend.
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
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
OPENAI_TIMEOUT = env.float("OPENAI_TIMEOUT", default=60.0)
OPENAI_MAX_ATTEMPTS = env.int("OPENAI_MAX_ATTEMPTS", default=4)
# A job claimed by a worker that stops renewing its lease (killed, out of memory) is taken again by the sweep.
JOB_LEASE_SECONDS = env.int("JOB_LEASE_SECONDS", default=int(OPENAI_TIMEOUT) + 30)

CV_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
CV_MAX_PAGES = 20
# Wall-clock limit for parsing one uploaded PDF (in a child process with CPU and memory limits).
CV_EXTRACT_TIMEOUT = env.float("CV_EXTRACT_TIMEOUT", default=20.0)
# First back-off step for transient LLM errors; doubles per attempt, with jitter.
CV_RETRY_BASE_SECONDS = env.float("CV_RETRY_BASE_SECONDS", default=5.0)

# A past-due subscription keeps its plan's limits this long (Stripe retries the card meanwhile).
BILLING_PAST_DUE_GRACE_DAYS = env.int("BILLING_PAST_DUE_GRACE_DAYS", default=7)

# Celery on Redis: separate queues so a slow LLM never delays webhooks or PDFs.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None  # the database row is the truth, not a result backend
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = (Queue("default"), Queue("ai"), Queue("pdf"))
CELERY_TASK_ROUTES = {"cv.tasks.*": {"queue": "ai"}, "pdf.tasks.*": {"queue": "pdf"}}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.server": {"level": "WARNING"},
        # The request log below replaces Django's own 4xx warnings, which would repeat every line.
        "django.request": {"level": "ERROR"},
        # The Stripe SDK logs two lines per call at INFO; our own lines say what happened.
        "stripe": {"level": "WARNING"},
    },
}
