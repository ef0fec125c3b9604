"""JSON endpoints for sync status, history, re-sync and the Synced Data switches.

Login required and scoped to the signed-in workspace; POSTs carry the CSRF token in the
`X-CSRFToken` header.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from lumo.sync.connection import NotConnected
from lumo.sync.properties import PropertyChangeRefused, property_settings, set_property_enabled
from lumo.sync.runs import SyncAlreadyRunning
from lumo.sync.service import start_resync
from lumo.sync.status import get_run, integration_status, list_runs, run_summary
from lumo.web.auth import current_workspace_id

logger = logging.getLogger(__name__)

bp = Blueprint("api_sync", __name__, url_prefix="/api")


@bp.get("/sync/status")
@login_required
def status() -> ResponseReturnValue:
    ask = request.args.get("counts", "1") != "0"
    return jsonify(integration_status(current_workspace_id(), ask_shopify=ask))


@bp.get("/sync/runs")
@login_required
def runs() -> ResponseReturnValue:
    limit = min(max(request.args.get("limit", 50, type=int) or 50, 1), 200)
    return jsonify(runs=list_runs(current_workspace_id(), limit))


@bp.get("/sync/runs/<int:run_id>")
@login_required
def run(run_id: int) -> ResponseReturnValue:
    found = get_run(current_workspace_id(), run_id)
    if found is None:
        return jsonify(error="There is no such sync run in this workspace."), 404
    return jsonify(found)


@bp.post("/sync/resync")
@login_required
def resync() -> ResponseReturnValue:
    try:
        started = start_resync(current_workspace_id())
    except (SyncAlreadyRunning, NotConnected) as error:
        return jsonify(error=str(error)), 409
    return jsonify(run_summary(started)), 202


@bp.get("/properties")
@login_required
def properties() -> ResponseReturnValue:
    return jsonify(categories=property_settings(current_workspace_id()))


@bp.post("/properties")
@login_required
def change_properties() -> ResponseReturnValue:
    """Body: `{"category", "property", "enabled"}` or `{"changes": [those, …]}`."""
    body: Any = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="Send a JSON object with category, property and enabled."), 400
    changes = body.get("changes") if "changes" in body else [body]
    if not isinstance(changes, list):
        return jsonify(error="`changes` must be a list."), 400
    workspace_id = current_workspace_id()
    changed = 0
    for change in changes:
        if not isinstance(change, dict) or not isinstance(change.get("enabled"), bool):
            return jsonify(
                error="Each change needs category, property and enabled (true/false)."
            ), 400
        try:
            changed += set_property_enabled(
                workspace_id,
                str(change.get("category")),
                str(change.get("property")),
                change["enabled"],
            )
        except PropertyChangeRefused as error:
            return jsonify(error=str(error)), 400
    return jsonify(changed=changed, categories=property_settings(workspace_id))
