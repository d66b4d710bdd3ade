"""Caredesk settings. Every knob is read from the environment through the typed helpers below.

SQLite under var/ is the embedded default; set DATABASE_URL=postgres://... for production.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

SRC_DIR = Path(__file__).resolve().parent.parent  # src/caredesk
BASE_DIR = SRC_DIR.parent.parent  # the checkout
VAR_DIR = Path(os.environ.get("CAREDESK_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"Environment variable {name} must be an integer, got {raw!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def _secret_key() -> str:
    """SECRET_KEY from the environment; otherwise a random key kept under var/ (never in the repo)."""
    key = os.environ.get("CAREDESK_SECRET_KEY")
    if key:
        return key
    key_file = VAR_DIR / "secret_key"
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key


DEBUG = env_bool("CAREDESK_DEBUG", False)
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("CAREDESK_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CAREDESK_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "caredesk.config.apps.CaredeskAdminConfig",  # django.contrib.admin with our site (config/admin.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "caredesk.core",
    "caredesk.audit",
    "caredesk.accounts",
    "caredesk.practitioners",
    "caredesk.patients",
    "caredesk.scheduling",
    "caredesk.worklist",
    "caredesk.transitions",
    "caredesk.coverage",
    "caredesk.billing",
    "caredesk.referrals",
    "caredesk.messaging",
    "caredesk.careplans",
    "caredesk.inventory",
    "caredesk.education",
    "caredesk.credentialing",
    "caredesk.orders",
    "caredesk.interop",
    "caredesk.demo",
    "caredesk.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "caredesk.core.middleware.RequestIdMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "caredesk.accounts.middleware.IdleTimeoutMiddleware",
    "caredesk.accounts.middleware.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "caredesk.config.urls"
WSGI_APPLICATION = "caredesk.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SRC_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "caredesk.accounts.context_processors.navigation",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'caredesk.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CAREDESK_DB_CONN_MAX_AGE", 0))
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Django's SQLite backend, with the transactions of one process taking turns for the write lock in
    # the order they come (caredesk/core/sqlite/base.py) instead of racing in SQLite's busy handler.
    DATABASES["default"]["ENGINE"] = "caredesk.core.sqlite"
    # IMMEDIATE transactions take the write lock at BEGIN, so a check inside a transaction cannot be
    # invalidated by a concurrent writer (SQLite's way of serializing read-check-write use cases).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# django-axes: lock the account (username + IP) after 5 failed logins.
AXES_FAILURE_LIMIT = env_int("CAREDESK_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("CAREDESK_LOGIN_COOLOFF_MINUTES", 30) / 60
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
# The "account locked" page (429 with Retry-After); the sign-in view writes the attempt's audit row.
AXES_LOCKOUT_CALLABLE = "caredesk.accounts.views.locked_out"
AXES_VERBOSE = False
# Locking by username is the account lockout the HIPAA log-in monitoring asks for. Locking by IP as well
# would lock a whole clinic behind one NAT address after five typos, so axes' warning about it is silenced.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# Sessions: idle logoff (HIPAA 164.312(a)(2)(iii)); the middleware enforces it server side.
SESSION_IDLE_TIMEOUT_SECONDS = env_int("CAREDESK_SESSION_IDLE_TIMEOUT", 15 * 60)
SESSION_COOKIE_AGE = env_int("CAREDESK_SESSION_MAX_AGE", 12 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("CAREDESK_SECURE_COOKIES", False)  # set true behind TLS
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_FAILURE_VIEW = "caredesk.core.views.csrf_failure"

# Security headers.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_SSL_REDIRECT = env_bool("CAREDESK_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("CAREDESK_HSTS_SECONDS", 0)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

OTP_TOTP_ISSUER = "Caredesk"
# Roles that must use two-factor authentication (TOTP); others may enrol voluntarily.
CAREDESK_2FA_REQUIRED_ROLES = env_list("CAREDESK_2FA_REQUIRED_ROLES", ["administrator"])

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("CAREDESK_TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from finders; an empty root is fine
STATICFILES_DIRS = [
    SRC_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist" / "css"),
]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

MEDIA_ROOT = Path(env_str("CAREDESK_MEDIA_ROOT", str(VAR_DIR / "media")))
# Patient documents: allowed types (by extension and sniffed content) and maximum size.
CAREDESK_DOCUMENT_MAX_BYTES = env_int("CAREDESK_DOCUMENT_MAX_BYTES", 10 * 1024 * 1024)
CAREDESK_DOCUMENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "txt": "text/plain",
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

CAREDESK_PAGE_SIZE = env_int("CAREDESK_PAGE_SIZE", 25)
# Where each role lands after signing in (URL names): the worklist is the coordinator's and the nurse's
# home, the schedule the front desk's and the physician's, the claims the billing office's. A role not
# listed lands on patient search.
CAREDESK_HOME_PAGES = {
    "coordinator": "worklist:list",
    "nurse": "worklist:list",
    "front_desk": "scheduling:calendar",
    "physician": "scheduling:calendar",
    "billing": "billing:claims",
    "patient": "patients:portal_home",
}
CAREDESK_API_TOKEN_IDLE_DAYS = env_int("CAREDESK_API_TOKEN_IDLE_DAYS", 90)

# Transitional Care Management (transitions app): business days skip weekends, the holiday calendar
# ("us-federal" or "none") and extra closed days (YYYY-MM-DD, comma separated); the discharge date is day 0
# (or 1) of the 7/14-day visit window; discharges of these encounter classes with these PV1-36 codes
# (UB-04 patient status: home or self care, home health, either with a planned readmission) start TCM.
CAREDESK_HOLIDAY_CALENDAR = env_str("CAREDESK_HOLIDAY_CALENDAR", "us-federal")
CAREDESK_HOLIDAYS = env_list("CAREDESK_HOLIDAYS", [])
CAREDESK_TCM_DISCHARGE_DAY_NUMBER = env_int("CAREDESK_TCM_DISCHARGE_DAY_NUMBER", 0)
CAREDESK_TCM_DEFAULT_COMPLEXITY = env_str("CAREDESK_TCM_DEFAULT_COMPLEXITY", "high")
CAREDESK_TCM_ENCOUNTER_CLASSES = env_list("CAREDESK_TCM_ENCOUNTER_CLASSES", ["inpatient"])
CAREDESK_TCM_COMMUNITY_DISPOSITIONS = env_list(
    "CAREDESK_TCM_COMMUNITY_DISPOSITIONS", ["01", "06", "81", "86"]
)
# The transfer summary's care plans (transitions.ports): careplans provides them, above transitions.
CAREDESK_TRANSFER_CARE_PLANS = "caredesk.careplans.transfer.plan_summaries"
# The appointment and no-show letters' appointment (messaging.ports): scheduling provides it, above messaging.
CAREDESK_LETTER_APPOINTMENTS = "caredesk.scheduling.letters"
# The appointment a scheduled referral links (referrals.ports): scheduling provides it, above referrals.
CAREDESK_REFERRAL_APPOINTMENTS = "caredesk.scheduling.letters"

# Background work (django-tasks): the database backend, run by `caredesk db_worker`. Tests run tasks at once.
TASKS = {
    "default": {
        "BACKEND": env_str("CAREDESK_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Eligibility (X12 270/271, coverage app): interop.x12 provides the exchange the coverage app calls; the
# file-drop clearinghouse uses <CAREDESK_X12_DIR>/<organization id>/outbox and inbox; ISA06/ISA08 ids.
CAREDESK_ELIGIBILITY_EXCHANGE = "caredesk.interop.x12.exchange.X12EligibilityExchange"
# Claims (837P, billing app): interop.x12 builds, validates and writes the batches billing submits.
CAREDESK_CLAIM_SUBMITTER = "caredesk.interop.x12.claims.X12ClaimSubmitter"
CAREDESK_X12_DIR = Path(env_str("CAREDESK_X12_DIR", str(VAR_DIR / "x12")))
CAREDESK_X12_SENDER_ID = env_str("CAREDESK_X12_SENDER_ID", "CAREDESK")
CAREDESK_X12_RECEIVER_ID = env_str("CAREDESK_X12_RECEIVER_ID", "CLEARINGHOUSE")
CAREDESK_X12_PRODUCTION = env_bool("CAREDESK_X12_PRODUCTION", False)

EMAIL_BACKEND = env_str("CAREDESK_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

# Appointment reminders (scheduling): hours before the start; the SMS gateway (a dotted class path, see
# scheduling/notify.py; the file gateway writes one JSON line per SMS); where links in messages point.
CAREDESK_REMINDER_OFFSETS_HOURS = [int(h) for h in env_list("CAREDESK_REMINDER_OFFSETS_HOURS", ["72", "24"])]
CAREDESK_SMS_GATEWAY = env_str("CAREDESK_SMS_GATEWAY", "caredesk.scheduling.notify.FileSmsGateway")
CAREDESK_SMS_OUTBOX = Path(env_str("CAREDESK_SMS_OUTBOX", str(VAR_DIR / "sms" / "outbox.jsonl")))
# The shared secret the SMS gateway presents to POST /interop/sms/replies/ (inbound replies); empty: off.
CAREDESK_SMS_WEBHOOK_SECRET = env_str("CAREDESK_SMS_WEBHOOK_SECRET", "")
CAREDESK_PUBLIC_BASE_URL = env_str("CAREDESK_PUBLIC_BASE_URL", "http://127.0.0.1:8000")
# Waitlist backfill: how many waiting patients a freed time is offered to at once, and for how many hours.
CAREDESK_WAITLIST_OFFER_BATCH = env_int("CAREDESK_WAITLIST_OFFER_BATCH", 3)
CAREDESK_WAITLIST_OFFER_HOURS = env_int("CAREDESK_WAITLIST_OFFER_HOURS", 2)
# No-shows: minutes after an appointment's start before it may be marked (by hand or by the sweep).
CAREDESK_NO_SHOW_GRACE_MINUTES = env_int("CAREDESK_NO_SHOW_GRACE_MINUTES", 15)
# How many upcoming visits a patient may hold booked through the portal at once (more: call the clinic).
CAREDESK_PORTAL_MAX_UPCOMING = env_int("CAREDESK_PORTAL_MAX_UPCOMING", 3)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("CAREDESK_LOG_LEVEL", "WARNING")},
    "loggers": {"axes": {"level": "WARNING"}},
}
