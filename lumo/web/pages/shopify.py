"""Integrations → Shopify: Setup, Dashboard, Synced Data and removing the integration."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import login_required

from lumo.app import plugin_manager
from lumo.categories import Category
from lumo.shopify.errors import InvalidShopDomainError
from lumo.shopify.oauth import normalize_shop_domain
from lumo.sync.rejects import KEEP_PER_CATEGORY, rejected_records, skipped_by_run
from lumo.sync.status import integration_status, run_of
from lumo.web.auth import current_workspace_id
from lumo.web.pages import integration, services
from lumo.web.pages.chart import bar_chart_svg
from lumo.web.pages.formatting import format_datetime, page_workspace

logger = logging.getLogger(__name__)

bp = Blueprint("shopify", __name__, url_prefix="/integrations/shopify")

INSTALL_PATH = "/integrations/shopify/install"


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every Shopify page is for a signed-in merchant."""


def _categories() -> list[Category]:
    return plugin_manager(current_app).categories()


def _category(key: str) -> Category:
    for category in _categories():
        if category.key == key:
            return category
    abort(404)


@bp.get("/")
def index() -> ResponseReturnValue:
    connection = integration.connection_for(current_workspace_id())
    if connection is None or connection.state != "connected":
        return redirect(url_for(".setup"))
    return redirect(url_for(".dashboard"))


@bp.get("/setup")
def setup() -> ResponseReturnValue:
    workspace_id = current_workspace_id()
    categories = _categories()
    connection = integration.connection_for(workspace_id)
    rows = [row for row in integration.property_rows(workspace_id, categories) if row.listed]
    return render_template(
        "shopify/setup.html",
        connection=connection,
        health=integration.connection_health(connection),
        categories=categories,
        rows=rows,
        first_sync=integration.last_complete_run(workspace_id),
        running=integration.running_run(workspace_id),
    )


@bp.post("/connect")
def connect() -> ResponseReturnValue:
    try:
        shop = normalize_shop_domain(request.form.get("shop", ""))
    except InvalidShopDomainError as error:
        flash(str(error))
        return redirect(url_for(".setup"))
    logger.info("workspace %s starts connecting a Shopify store", current_workspace_id())
    return redirect(f"{INSTALL_PATH}?{urlencode({'shop': shop})}")


@bp.post("/sync")
def start_sync() -> ResponseReturnValue:
    kind = "initial" if request.form.get("kind") == "initial" else "manual"
    return _start(kind)


def _start(kind: str) -> ResponseReturnValue:
    workspace_id = current_workspace_id()
    connection = integration.connection_for(workspace_id)
    if connection is None or connection.state != "connected":
        flash("Connect a Shopify store before syncing.")
        return redirect(url_for(".setup"))
    try:
        # Whether a running sync still lives is the sync engine's call (it ends one whose job
        # died); a plain "is one running" check here would keep a killed sync in the way.
        services.start_sync(workspace_id, kind)
    except services.ActionRefused as error:
        flash(str(error))
    return redirect(url_for(".dashboard"))


@bp.get("/dashboard")
def dashboard() -> ResponseReturnValue:
    workspace_id = current_workspace_id()
    categories = _categories()
    connection = integration.connection_for(workspace_id)
    # Asking Shopify for its counts is a network call: only when the merchant asks for it.
    compare = request.args.get("compare") == "1"
    status = integration_status(workspace_id, ask_shopify=compare)
    runs = integration.recent_runs(workspace_id)
    running = integration.running_run(workspace_id)
    workspace = page_workspace()
    zone = workspace.timezone if workspace else None
    chart_runs = [run for run in reversed(runs) if run.status == "complete" and run.counts]
    chart = bar_chart_svg(
        [
            (format_datetime(run.finished_at, zone, "%m-%d"), integration.run_total(run))
            for run in chart_runs
        ],
        "Records synced per completed sync run",
    )
    return render_template(
        "shopify/dashboard.html",
        connection=connection,
        health=integration.connection_health(connection, status["webhooks"]["missing"]),
        status=status,
        compared=compare,
        runs=runs,
        running=running,
        progress=integration.category_progress(running, categories) if running else [],
        last_success=integration.last_complete_run(workspace_id),
        failed_deliveries=integration.failed_deliveries(workspace_id),
        chart=chart,
        status_label=integration.status_label,
        kind_labels=integration.KIND_LABELS,
        run_total=integration.run_total,
        skipped=skipped_by_run(workspace_id, [run.id for run in runs]),
    )


@bp.get("/runs/<int:run_id>/skipped")
def skipped_records(run_id: int) -> ResponseReturnValue:
    """The records one sync skipped because they could not be read, and why."""
    workspace_id = current_workspace_id()
    run = run_of(workspace_id, run_id)
    if run is None:
        abort(404)
    return render_template(
        "shopify/skipped.html",
        run=run,
        records=rejected_records(workspace_id, run_id),
        total=skipped_by_run(workspace_id, [run_id]).get(run_id, {}),
        status_label=integration.status_label,
        kind_labels=integration.KIND_LABELS,
        keep_limit=KEEP_PER_CATEGORY,
        labels={category.key: category.label for category in _categories()},
    )


@bp.get("/progress")
def progress() -> ResponseReturnValue:
    """The running sync's progress per category, polled by the Dashboard."""
    workspace_id = current_workspace_id()
    run = integration.running_run(workspace_id)
    if run is None:
        latest = integration.recent_runs(workspace_id, limit=1)
        finished = latest[0] if latest else None
        return jsonify(
            running=False,
            run_id=finished.id if finished else None,
            status=finished.status if finished else None,
            label=integration.status_label(finished) if finished else None,
            categories=[],
        )
    return jsonify(
        running=True,
        run_id=run.id,
        status=run.status,
        label=integration.status_label(run),
        categories=[
            {
                "key": item.key,
                "label": item.label,
                "done": item.done,
                "total": item.total,
                "state": item.state,
            }
            for item in integration.category_progress(run, _categories())
        ],
    )


@bp.get("/resync")
def resync_confirm() -> ResponseReturnValue:
    workspace_id = current_workspace_id()
    return render_template(
        "shopify/resync_confirm.html",
        connection=integration.connection_for(workspace_id),
        running=integration.running_run(workspace_id),
    )


@bp.post("/resync")
def resync() -> ResponseReturnValue:
    return _start("manual")


@bp.get("/synced-data")
def synced_data() -> ResponseReturnValue:
    workspace_id = current_workspace_id()
    query = request.args.get("q", "").strip()
    rows = integration.property_rows(workspace_id, _categories())
    listed = [row for row in rows if row.listed and (not query or row.matches(query))]
    available = [row for row in rows if not row.listed]
    return render_template(
        "shopify/synced_data.html", rows=listed, available=available, query=query
    )


@bp.post("/synced-data/add")
def add_property() -> ResponseReturnValue:
    category_key, _, key = request.form.get("property", "").partition(":")
    return _set_property(category_key, key, enabled=True)


@bp.post("/synced-data/<category_key>/<key>")
def set_property(category_key: str, key: str) -> ResponseReturnValue:
    return _set_property(category_key, key, enabled=request.form.get("enabled") == "1")


def _set_property(category_key: str, key: str, *, enabled: bool) -> ResponseReturnValue:
    category = _category(category_key)
    try:
        prop = category.get_property(key)
    except KeyError:
        abort(404)
    if prop.required:
        flash(f"{prop.label} is always synced: Lumo needs it to match records.")
        return redirect(url_for(".synced_data"))
    if enabled and prop.personal and request.form.get("confirmed") != "1":
        return redirect(url_for(".confirm_property", category_key=category.key, key=prop.key))

    try:
        services.set_property_enabled(current_workspace_id(), category, prop.key, enabled)
    except services.ActionRefused as error:
        flash(str(error))
        return redirect(url_for(".synced_data"))
    if enabled:
        flash(f"{category.label}: {prop.label} is on. It fills in from the next sync.")
    elif prop.personal:
        flash(f"{category.label}: {prop.label} is off, and the stored values were deleted.")
    else:
        flash(f"{category.label}: {prop.label} is off.")
    return redirect(url_for(".synced_data", q=request.form.get("q") or None))


@bp.get("/synced-data/<category_key>/<key>/confirm")
def confirm_property(category_key: str, key: str) -> ResponseReturnValue:
    category = _category(category_key)
    try:
        prop = category.get_property(key)
    except KeyError:
        abort(404)
    return render_template("shopify/confirm_property.html", category=category, prop=prop)


@bp.get("/remove")
def remove_confirm() -> ResponseReturnValue:
    return render_template(
        "shopify/remove_confirm.html",
        connection=integration.connection_for(current_workspace_id()),
    )


@bp.post("/remove")
def remove() -> ResponseReturnValue:
    workspace_id = current_workspace_id()
    if integration.connection_for(workspace_id) is None:
        flash("No Shopify store is connected.")
        return redirect(url_for(".setup"))
    services.remove_integration(workspace_id)
    flash(
        "The Shopify integration was removed: syncing stopped, the access token was forgotten "
        "and the links between friends and Shopify customers were deleted."
    )
    return redirect(url_for(".setup"))
