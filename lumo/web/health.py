"""GET /healthz: is the database reachable, is Redis, and can the app serve."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from lumo import jobs
from lumo.extensions import csrf, db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@csrf.exempt
def healthz() -> ResponseReturnValue:
    report: dict[str, Any] = {"database": "ok", "jobs": jobs.runner().mode}
    status = 200

    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        report["database"] = f"unreachable: {error.__class__.__name__}"
        status = 503

    runner = jobs.runner()
    if runner.redis is None:
        report["redis"] = "not used (jobs run in-process)"
    else:
        try:
            runner.redis.ping()
            report["redis"] = "ok"
        except (RedisError, OSError) as error:
            # Webhooks are still stored while Redis is down, so the app can serve.
            report["redis"] = f"unreachable: {error.__class__.__name__}"

    report["status"] = "ok" if status == 200 else "unavailable"
    return jsonify(report), status
