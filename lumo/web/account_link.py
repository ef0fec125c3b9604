"""`/link/start`: the page a friend opens from LINE to link their store account.

It stands in for the store's own login page: it asks which customer signs in (in the demo and
the stand-ins, a Shopify customer id), stores a single-use nonce for that customer and sends
the browser on to LINE's account-link dialog (reference line.md §2). Only a link Lumo sent to
a friend of the workspace in the last ten minutes shows the store's name or makes a nonce.
"""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template_string, request
from flask.typing import ResponseReturnValue

from lumo.extensions import db
from lumo.friends.errors import LinkRefused
from lumo.friends.linking import begin_account_link, verify_link_token
from lumo.models import Workspace

logger = logging.getLogger(__name__)

bp = Blueprint("account_link", __name__)

#: Shopify customer ids and workspace ids fit these columns (BIGINT and INTEGER).
MAX_CUSTOMER_ID = 2**63 - 1
MAX_WORKSPACE_ID = 2**31 - 1
INVALID_LINK = "This link is not valid or has expired; open the newest one in LINE."

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Link your LINE account</title></head>
<body>
<main style="max-width:28rem;margin:3rem auto;font-family:system-ui,sans-serif">
<h1>Link your LINE account{% if shop %} to {{ shop }}{% endif %}</h1>
{% if problem %}<p role="alert">{{ problem }}</p>{% endif %}
{% if ready %}
<p>Sign in to your store account. LINE then asks you to confirm the link.</p>
<form method="post" action="{{ url_for('account_link.start') }}">
  <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
  <input type="hidden" name="ws" value="{{ workspace_id }}">
  <input type="hidden" name="linkToken" value="{{ link_token }}">
  <input type="hidden" name="proof" value="{{ proof }}">
  <label for="customer_id">Customer number</label>
  <input id="customer_id" name="customer_id" inputmode="numeric" required
         value="{{ customer_id }}">
  <button type="submit">Sign in and link</button>
</form>
{% endif %}
</main></body></html>"""


@bp.route("/link/start", methods=["GET", "POST"])
def start() -> ResponseReturnValue:
    source = request.form if request.method == "POST" else request.args
    link_token = source.get("linkToken", "").strip()
    proof = source.get("proof", "").strip()
    workspace = _workspace(source.get("ws", ""))
    if workspace is None or not link_token:
        return _page(None, problem="This link is incomplete; open the newest one in LINE."), 400
    # The store's name and the form appear only for a link Lumo really sent from this
    # workspace: anyone can type ?ws=2&linkToken=x.
    try:
        verify_link_token(workspace.id, link_token, proof)
    except LinkRefused:
        logger.info("workspace %s: link page opened with an unknown link token", workspace.id)
        return _page(None, problem=INVALID_LINK), 400
    if request.method == "GET":
        return _page(workspace, link_token=link_token, proof=proof)

    customer_id = _customer_id(source.get("customer_id", ""))
    if customer_id is None:
        problem = "Enter your customer number: digits only, at most 19 of them."
        return _page(workspace, link_token=link_token, proof=proof, problem=problem), 400
    try:
        dialog_url = begin_account_link(workspace.id, customer_id, link_token, proof)
    except LinkRefused as refusal:
        db.session.rollback()
        return _page(workspace, link_token=link_token, proof=proof, problem=str(refusal)), 400
    db.session.commit()
    return redirect(dialog_url, code=302)


def _workspace(raw_id: str) -> Workspace | None:
    number = _bounded_number(raw_id, MAX_WORKSPACE_ID)
    return db.session.get(Workspace, number) if number is not None else None


def _customer_id(raw: str) -> int | None:
    return _bounded_number(raw.strip(), MAX_CUSTOMER_ID)


def _bounded_number(raw: str, maximum: int) -> int | None:
    """A positive whole number up to `maximum`, else None (a huge one is never converted)."""
    if not raw or not (raw.isascii() and raw.isdigit()):
        return None
    if len(raw.lstrip("0")) > len(str(maximum)):
        return None
    number = int(raw)
    return number if 0 < number <= maximum else None


def _page(
    workspace: Workspace | None,
    *,
    link_token: str = "",
    proof: str = "",
    problem: str | None = None,
) -> str:
    return render_template_string(
        PAGE,
        shop=workspace.name if workspace else None,
        workspace_id=workspace.id if workspace else "",
        link_token=link_token,
        proof=proof,
        customer_id=request.form.get("customer_id", "")[:40],
        problem=problem,
        ready=workspace is not None and bool(link_token),
    )
