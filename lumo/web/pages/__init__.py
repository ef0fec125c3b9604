"""The merchant's pages: Home, Friends, Segments, the Marketing Agent and Integrations → Shopify.

`bp` is the one blueprint the app registers; each area is a nested blueprint of its own, so
endpoints read `pages.friends.show`, `pages.shopify.dashboard` and so on.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_login import login_required

from lumo.app import plugin_manager
from lumo.extensions import db
from lumo.models import Workspace
from lumo.web.auth import current_workspace_id
from lumo.web.pages import agent, friends, segments, shopify
from lumo.web.pages.formatting import register_filters

bp = Blueprint("pages", __name__)
bp.register_blueprint(shopify.bp)
bp.register_blueprint(friends.bp)
bp.register_blueprint(segments.bp)
bp.register_blueprint(agent.bp)
bp.record_once(lambda state: register_filters(state.app))


@bp.get("/")
@login_required
def home() -> ResponseReturnValue:
    workspace = db.get_or_404(Workspace, current_workspace_id())
    categories = plugin_manager(current_app).categories()
    return render_template("home.html", workspace=workspace, categories=categories)
