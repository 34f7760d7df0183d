"""Django settings. Everything a deployment changes comes from an environment variable (README: Configuration);
the defaults give the embedded demo: SQLite under ./var, the simulated exchange, debug off, loopback only."""

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("HUIFANG_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("SECRET_KEY", "huifang-demo-only-change-me-in-production-0123456789abcdef")
# Encrypts ID numbers at rest and keys their lookup hashes (lib/fieldcrypt.py). Changing it makes the stored ID
# numbers unreadable: set it once per deployment and keep it with the database backups' keys.
HUIFANG_FIELD_KEY = env_str("HUIFANG_FIELD_KEY", "") or SECRET_KEY
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "django_tasks_db",
    "huifang.audit",
    "huifang.calendars",
    "huifang.scheduling",
    "huifang.org",
    "huifang.customers",
    "huifang.surveys",
    "huifang.campaigns",
    "huifang.callbacks",
    "huifang.calls",
    "huifang.reports",
    "huifang.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "huifang.audit.middleware.RequestContextMiddleware",
    # django-axes must come last: it answers a locked-out login itself.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "huifang" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "huifang.org.context_processors.roles",
                "huifang.calendars.context_processors.calendar_coverage",
            ],
        },
    },
]

# Database: SQLite in ./var by default; DATABASE_URL (postgres://user:pass@host:5432/name) switches engines.
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "huifang.sqlite3"),
            "OPTIONS": {
                # BEGIN IMMEDIATE: concurrent writers queue instead of failing (notes/PERFORMANCE.md).
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "org.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Idle sessions expire: every request renews the cookie, so the age counts from the last request.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Lock-out after repeated failed logins (django-axes): per user name, for AXES_COOLOFF minutes.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_MINUTES", 30) / 60
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Lock by user name only: a call center's agents share one NAT address, and locking it would stop them all.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "huifang" / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "huifang" / "static"]
# Only for `huifang collectstatic` in production; the demo serves static files straight from the apps.
STATIC_ROOT = env_str("STATIC_ROOT", "") or None
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Static files are served by WhiteNoise from the app folders, so the demo needs no collectstatic step.
WHITENOISE_USE_FINDERS = True

# Background jobs: Django's task framework, stored in the database, run by `huifang worker`.
TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# Jobs enqueued when a customer or event file import finishes (customers/jobs.py), as (task path, keyword
# arguments): the customers app sits below the apps that react to new data and may not import them.
HUIFANG_AFTER_IMPORT_TASKS: list[tuple[str, dict[str, object]]] = [
    ("huifang.callbacks.jobs.run_callback_rules", {"trigger": "import"}),
]

# Worker processes validating a large import beside the process writing it (0: validate in line).
IMPORT_WORKERS = env_int("HUIFANG_IMPORT_WORKERS", min(4, os.cpu_count() or 1))

# The firm's name as scripts say it ({公司名称}).
COMPANY_NAME = env_str("HUIFANG_COMPANY_NAME", "示例证券")

# The telephone exchange (integrations/telephony/factory.py): the dotted path of its class and its keyword
# arguments as a JSON object, e.g. {"ring_seconds": 1, "seed": 7} for the simulated exchange.
TELEPHONY_BACKEND = env_str("HUIFANG_TELEPHONY_BACKEND", "huifang.integrations.telephony.simulated.SimulatedExchange")
TELEPHONY_OPTIONS: dict[str, object] = json.loads(env_str("HUIFANG_TELEPHONY_OPTIONS", "") or "{}")
if not isinstance(TELEPHONY_OPTIONS, dict):
    raise ImproperlyConfigured("HUIFANG_TELEPHONY_OPTIONS must be a JSON object")

# The rotation hint (surveys/statistics.py): a question whose best answer took this share of at least this many
# answers in the period is flagged to the HQ supervisor.
SURVEY_ROTATION_MIN_ANSWERS = env_int("SURVEY_ROTATION_MIN_ANSWERS", 100)
SURVEY_ROTATION_SHARE = env_int("SURVEY_ROTATION_PERCENT", 90) / 100
# The workbench: a personal appointment (预约下次) passes to any agent this many minutes after its time; the
# event stream sends the agent's available count every INTERVAL seconds and closes after LIFETIME (the browser
# reconnects by itself).
APPOINTMENT_HANDOVER_MINUTES = env_int("HUIFANG_APPOINTMENT_HANDOVER_MINUTES", 30)
#: a callback held (进行中) longer than this by an agent with no call up goes back to the queue (calls.jobs)
HELD_CALLBACK_TIMEOUT_MINUTES = env_int("HUIFANG_HELD_CALLBACK_TIMEOUT_MINUTES", 120)
WORKBENCH_EVENTS_INTERVAL = env_int("HUIFANG_WORKBENCH_EVENTS_INTERVAL", 5)
WORKBENCH_EVENTS_LIFETIME = env_int("HUIFANG_WORKBENCH_EVENTS_LIFETIME", 300)

# Reports' KPIs (reports/kpis.py): successful callbacks per agent per working day (seed 002's norm), the annual
# coverage goal as a share of last year's customers, and the working days after a quarter's end by which each
# branch files its quarterly roll-up (reports/filings.py).
HUIFANG_DAILY_SUCCESS_TARGET = env_int("HUIFANG_DAILY_SUCCESS_TARGET", 80)
HUIFANG_COVERAGE_GOAL = float(env_str("HUIFANG_COVERAGE_GOAL", "0.10"))
HUIFANG_QUARTERLY_FILING_WORKING_DAYS = env_int("HUIFANG_QUARTERLY_FILING_WORKING_DAYS", 5)

# Outgoing mail (the scheduled reports, reports/delivery.py), as Django 6.1's MAILERS: SMTP when EMAIL_HOST is
# set (EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, or EMAIL_USE_SSL for port 465,
# EMAIL_TIMEOUT seconds); without it the demo writes each message to the console instead of failing.
_email_host = env_str("EMAIL_HOST", "")
MAILERS: dict[str, dict[str, object]] = {"default": {
    "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "OPTIONS": {
        "host": _email_host,
        "port": env_int("EMAIL_PORT", 25),
        "username": env_str("EMAIL_HOST_USER", ""),
        "password": env_str("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "use_ssl": env_bool("EMAIL_USE_SSL", False),
        "timeout": env_int("EMAIL_TIMEOUT", 30),
    },
} if _email_host else {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "huifang@localhost")

# Demo logins are printed by `huifang demo-data`; their shared password comes from here.
DEMO_PASSWORD = env_str("DEMO_PASSWORD", "huifang-demo-2026")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
