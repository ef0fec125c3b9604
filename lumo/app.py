"""The application factory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from config import load_settings
from lumo import jobs
from lumo.crypto import configure_encryption
from lumo.extensions import csrf, db, login_manager, migrate
from lumo.plugin_manager import LumoPluginManager, build_plugin_manager

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build a Lumo app from the environment; `overrides` replace settings (tests, CLI)."""
    settings = load_settings()
    if overrides:
        settings.update(overrides)

    app = Flask(
        __name__,
        instance_path=settings["LUMO_INSTANCE_PATH"],
        template_folder="web/templates",
        static_folder="web/static",
    )
    app.config.update(settings)
    app.config["SQLALCHEMY_DATABASE_URI"] = settings["DATABASE_URL"]
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(settings["DATABASE_URL"])
    app.config["TESTING"] = settings["LUMO_ENV"] == "testing"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    secure = settings["LUMO_ENV"] == "production"
    app.config["SESSION_COOKIE_SECURE"] = secure
    app.config["REMEMBER_COOKIE_SECURE"] = secure
    # Werkzeug refuses bigger bodies with 413 before anyone reads them.
    app.config["MAX_CONTENT_LENGTH"] = settings["LUMO_MAX_REQUEST_BYTES"]
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    configure_encryption(settings["LUMO_ENCRYPTION_KEY"])
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    jobs.init_app(app)

    disabled = [name for name in settings["LUMO_DISABLED_PLUGINS"].split(",") if name]
    app.extensions["lumo.plugins"] = build_plugin_manager(
        disabled, trace=settings["LUMO_TRACE_HOOKS"]
    )

    _register_blueprints(app)
    return app


def plugin_manager(app: Flask) -> LumoPluginManager:
    return app.extensions["lumo.plugins"]  # type: ignore[no-any-return]


def current_flask_app() -> Flask:
    """The real app behind `current_app`, for code that hands it to another thread."""
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _engine_options(url: str) -> dict[str, Any]:
    # A database error's message would otherwise carry the statement's values (names,
    # emails) into logs and into the reasons kept on failed webhook deliveries.
    options: dict[str, Any] = {"hide_parameters": True}
    if url.startswith("sqlite"):
        # Several threads (web, in-process jobs) share one SQLite file; wait for locks.
        return {**options, "connect_args": {"timeout": 30, "check_same_thread": False}}
    return {**options, "pool_pre_ping": True}


def _register_blueprints(app: Flask) -> None:
    from lumo.web import register_web

    register_web(app)
