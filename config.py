"""Lumo's settings, read from the environment (and a `.env` file when one is present).

Every setting is declared once below with its default and one line of help, so `lumo settings`
and this file are the whole story. Only app-wide settings live here; per-workspace credentials
(a store's access token, a LINE channel's secret and token) are stored encrypted in the database.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

PROJECT_ROOT = Path(__file__).resolve().parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


class SettingsError(RuntimeError):
    """A setting is missing or has a value Lumo cannot use; the message names it."""


def _text(value: str) -> str:
    return value.strip()


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("use one of 1/0, true/false, yes/no, on/off")


def _environment(value: str) -> str:
    lowered = value.strip().lower()
    if lowered not in {"development", "production", "testing"}:
        raise ValueError("use development, production or testing")
    return lowered


def _database_url(value: str) -> str:
    url = value.strip()
    if not url:
        return ""  # filled in with the instance folder's SQLite file
    if url.startswith("postgres://"):
        # Heroku-style URLs; SQLAlchemy only knows the long scheme.
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith(("sqlite:", "postgresql+psycopg://")):
        raise ValueError("use a sqlite:/// or postgresql:// URL")
    return url


def _redis_url(value: str) -> str:
    url = value.strip()
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("use a redis:// URL, or leave it empty to run jobs in-process")
    return url


def _jobs_mode(value: str) -> str:
    mode = value.strip().lower()
    if mode not in {"auto", "redis", "thread", "inline"}:
        raise ValueError("use auto, redis, thread or inline")
    return mode


def _fernet_key(value: str) -> str:
    key = value.strip()
    if key:
        try:
            Fernet(key.encode())
        except ValueError as error:
            raise ValueError(
                "not a Fernet key; make one with "
                "`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`"
            ) from error
    return key


def _api_version(value: str) -> str:
    version = value.strip()
    parts = version.split("-")
    if len(parts) != 2 or not all(part.isdigit() for part in parts) or len(parts[0]) != 4:
        raise ValueError("use Shopify's YYYY-MM form, such as 2025-10")
    return version


def positive_int(value: str) -> int:
    """A count setting: a whole number above zero (anything else is refused, never 0)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise ValueError("use a whole number above zero")
    return number


@dataclass(frozen=True)
class Setting:
    """One environment variable: its default, its parser and one line of help."""

    name: str
    default: str
    help: str
    parse: Callable[[str], Any] = _text
    required_in_production: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("LUMO_ENV", "development", "development, testing or production", _environment),
    Setting(
        "DATABASE_URL",
        "",
        "SQLAlchemy URL; defaults to a SQLite file under instance/",
        _database_url,
        required_in_production=True,
    ),
    Setting(
        "REDIS_URL",
        "redis://127.0.0.1:6379/0",
        "Redis for RQ jobs; when unreachable, jobs run in-process",
        _redis_url,
    ),
    Setting(
        "SECRET_KEY",
        "",
        "signs sessions and CSRF tokens; generated into instance/ in development",
        required_in_production=True,
    ),
    Setting(
        "LUMO_ENCRYPTION_KEY",
        "",
        "Fernet key for secrets at rest; generated into instance/ in development",
        _fernet_key,
        required_in_production=True,
    ),
    Setting(
        "SHOPIFY_API_KEY",
        "lumo-dev-app",
        "the Shopify app's client id",
        required_in_production=True,
    ),
    Setting(
        "SHOPIFY_API_SECRET",
        "lumo-dev-secret",
        "the Shopify app's client secret; signs OAuth and webhooks",
        required_in_production=True,
    ),
    Setting("SHOPIFY_API_VERSION", "2026-10", "pinned Admin API version", _api_version),
    Setting(
        "SHOPIFY_SHOP_URL_TEMPLATE",
        "https://{shop}",
        "where a shop's Admin API lives; the sandbox points this at itself",
    ),
    Setting(
        "SHOPIFY_SCOPES",
        "read_customers,write_customers,read_orders,read_products,read_checkouts",
        "access scopes asked for at install",
    ),
    Setting(
        "LUMO_PUBLIC_URL",
        "http://127.0.0.1:5000",
        "the address Shopify and LINE reach Lumo at (webhooks, OAuth callback)",
    ),
    Setting("LINE_API_BASE_URL", "https://api.line.me", "LINE Messaging API origin"),
    Setting("LINE_DATA_API_BASE_URL", "https://api-data.line.me", "LINE data API origin"),
    Setting("LINE_ACCESS_BASE_URL", "https://access.line.me", "LINE account-link dialog origin"),
    Setting(
        "LINE_CHANNEL_SECRET",
        "",
        "seeds the LINE channel secret of a workspace created from the CLI",
    ),
    Setting(
        "LINE_CHANNEL_ACCESS_TOKEN",
        "",
        "seeds the LINE channel access token of a workspace created from the CLI",
    ),
    Setting("OPENAI_API_KEY", "", "enables the LLM planner of the Marketing Agent"),
    Setting("OPENAI_BASE_URL", "", "an OpenAI-compatible server; empty means OpenAI's own"),
    Setting("LUMO_AGENT_MODEL", "gpt-4o-mini", "model name the LLM planner asks for"),
    Setting("LUMO_AGENT_TIMEOUT", "20", "seconds before a model call gives up", positive_int),
    Setting(
        "LUMO_JOBS_MODE",
        "auto",
        "auto (Redis when reachable, else in-process threads), redis, thread or inline",
        _jobs_mode,
    ),
    Setting("LUMO_DISABLED_PLUGINS", "", "comma-separated plugin names not to load"),
    Setting("LUMO_TRACE_HOOKS", "0", "log every plugin hook call (debugging)", _boolean),
    Setting(
        "LUMO_MAX_REQUEST_BYTES",
        str(16 * 1024 * 1024),
        "largest request body Lumo reads (webhooks, forms); bigger ones get HTTP 413",
        positive_int,
    ),
    Setting(
        "LUMO_SYNC_BATCH_SIZE",
        "2000",
        "records per database batch; an upserted batch also ends at this many times 256 bytes "
        "of JSON (512 KB at 2000), so big records such as products come in smaller batches; "
        "the PostgreSQL COPY lane writes twice as many per batch",
        positive_int,
    ),
    Setting(
        "LUMO_SYNC_COPY_LANE",
        "1",
        "initial syncs COPY big categories into empty tables (PostgreSQL); 0 always upserts",
        _boolean,
    ),
    Setting(
        "LUMO_SYNC_LANE_PROCESS",
        "1",
        "a forked process prepares the COPY lane's batches (Linux); 0 prepares them in-process",
        _boolean,
    ),
    Setting("LUMO_INSTANCE_PATH", "", "folder for the SQLite file and generated dev keys"),
)


def load_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parse every setting, failing with a message that names the culprit.

    Development fills in missing secrets by generating them once into the instance folder, so a
    fresh clone runs; production refuses to start without them.
    """
    source = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = source.get(setting.name, setting.default)
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as error:
            raise SettingsError(f"{setting.name}={raw!r} is not valid: {error}.") from error

    production = values["LUMO_ENV"] == "production"
    missing = [
        s.name
        for s in SETTINGS
        if production and s.required_in_production and not str(source.get(s.name, "")).strip()
    ]
    if missing:
        raise SettingsError(
            "Lumo is running with LUMO_ENV=production and these settings are missing: "
            + ", ".join(missing)
            + ". Set them in the environment or in a .env file."
        )

    if production:
        _refuse_unsafe_production_values(values)

    instance = Path(values["LUMO_INSTANCE_PATH"] or DEFAULT_INSTANCE)
    values["LUMO_INSTANCE_PATH"] = str(instance)
    if not values["DATABASE_URL"]:
        values["DATABASE_URL"] = f"sqlite:///{instance / 'lumo.sqlite3'}"
    if not values["SECRET_KEY"]:
        values["SECRET_KEY"] = _generated_secret(instance / "secret.key", secrets.token_hex(32))
    if not values["LUMO_ENCRYPTION_KEY"]:
        values["LUMO_ENCRYPTION_KEY"] = _generated_secret(
            instance / "encryption.key", Fernet.generate_key().decode()
        )
    return values


#: Public development defaults that would let anyone forge webhooks or sessions in production.
_DEVELOPMENT_DEFAULTS = {
    "SHOPIFY_API_KEY": "lumo-dev-app",
    "SHOPIFY_API_SECRET": "lumo-dev-secret",
}
_MIN_SECRET_LENGTH = 32


def _refuse_unsafe_production_values(values: dict[str, Any]) -> None:
    for name, default in _DEVELOPMENT_DEFAULTS.items():
        if values[name] == default:
            raise SettingsError(
                f"{name} still has its public development value; set the one from your Shopify "
                "app's settings (Partner Dashboard → App setup)."
            )
    if len(values["SECRET_KEY"]) < _MIN_SECRET_LENGTH:
        raise SettingsError(
            f"SECRET_KEY is shorter than {_MIN_SECRET_LENGTH} characters; generate one with "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`."
        )
    if not str(values["LUMO_PUBLIC_URL"]).startswith("https://"):
        raise SettingsError(
            "LUMO_PUBLIC_URL must be the https:// address Shopify and LINE reach Lumo at."
        )


def _generated_secret(path: Path, fresh: str) -> str:
    """Read a development secret, creating it the first time so restarts keep sessions."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(fresh)
    path.chmod(0o600)
    return fresh
