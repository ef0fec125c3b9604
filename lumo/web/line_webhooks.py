"""`POST /webhooks/line/<workspace_id>`: LINE webhook intake, one URL per workspace's channel.

The signature is checked on the raw bytes before anything is parsed (401 and nothing saved
otherwise); events are saved, answered with 200 at once and applied in `webhooks` jobs. A body
that cannot be read is answered 400; a malformed event inside a readable one is kept as a
failed delivery with the reason and never applied.
"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from lumo.extensions import csrf, db
from lumo.friends.events import accept_line_webhook
from lumo.line import SIGNATURE_HEADER, LineSignatureError, LineWebhookError
from lumo.models import Workspace

logger = logging.getLogger(__name__)

bp = Blueprint("line_webhooks", __name__)

#: Workspace ids are 32-bit; a larger number in the URL is no workspace (404, no query).
MAX_ID = 2**31 - 1
csrf.exempt(bp)


@bp.post(f"/webhooks/line/<int(max={MAX_ID}):workspace_id>")
def receive(workspace_id: int) -> ResponseReturnValue:
    raw_body = request.get_data(cache=True)
    workspace = db.session.get(Workspace, workspace_id)
    if workspace is None or not workspace.line_channel_secret:
        logger.warning("LINE webhook for unknown or unconfigured workspace %s", workspace_id)
        return jsonify(error="No LINE channel is set up for this webhook URL."), 404

    try:
        intake = accept_line_webhook(workspace, raw_body, request.headers.get(SIGNATURE_HEADER))
    except LineSignatureError:
        logger.warning("LINE webhook for workspace %s: bad signature, dropped", workspace_id)
        return jsonify(error="The x-line-signature header does not match the body."), 401
    except LineWebhookError as error:
        logger.warning("LINE webhook for workspace %s: malformed body", workspace_id)
        return jsonify(error=str(error)), 400
    return (
        jsonify(
            received=len(intake.delivery_ids),
            duplicates=intake.duplicates,
            malformed=intake.malformed,
        ),
        200,
    )
