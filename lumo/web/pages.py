"""The merchant's pages that are not owned by a feature of their own."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_login import login_required

from lumo.app import plugin_manager
from lumo.extensions import db
from lumo.models import Workspace
from lumo.web.auth import current_workspace_id

bp = Blueprint("pages", __name__)


@bp.get("/")
@login_required
def home() -> ResponseReturnValue:
    workspace = db.get_or_404(Workspace, current_workspace_id())
    categories = plugin_manager(current_app).categories()
    return render_template("home.html", workspace=workspace, categories=categories)
