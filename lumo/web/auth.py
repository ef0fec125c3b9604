"""Sign-in and sign-out for merchant accounts; every page is scoped to the account's workspace."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from lumo.extensions import db
from lumo.models import Account

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)


def load_account(account_id: str) -> Account | None:
    return db.session.get(Account, int(account_id))


def create_account(workspace_id: int, email: str, password: str) -> Account:
    """Add a sign-in for a workspace; the password is stored only as a salted hash."""
    if len(password) < 8:
        raise ValueError("Choose a password of at least 8 characters.")
    account = Account(
        workspace_id=workspace_id,
        email=email.strip().lower(),
        password_hash=generate_password_hash(password),
    )
    db.session.add(account)
    db.session.flush()
    logger.info("account %s created for workspace %s", account.id, workspace_id)
    return account


def current_workspace_id() -> int:
    """The signed-in account's workspace: the only one any page or endpoint may touch."""
    return int(current_user.workspace_id)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("pages.home"))

    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        password = request.form.get("password", "")
        account = db.session.scalar(select(Account).where(func.lower(Account.email) == email))
        if account is not None and check_password_hash(account.password_hash, password):
            login_user(account, remember=bool(request.form.get("remember")))
            logger.info("account %s signed in", account.id)
            return redirect(_local_target(request.args.get("next", "")))
        flash("That email and password don't match an account. Check both and try again.")
        return render_template("sign_in.html", email=email), 401

    return render_template("sign_in.html", email="")


def _local_target(target: str) -> str:
    """Only a path on this site: never bounce a merchant to another site after sign-in."""
    # Browsers drop tabs and newlines and read backslashes as slashes, so judge what they see.
    cleaned = "".join(ch for ch in target if ch not in "\t\r\n").replace("\\", "/")
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc or not cleaned.startswith("/") or cleaned.startswith("//"):
        return url_for("pages.home")
    return cleaned


@bp.post("/sign-out")
@login_required
def sign_out() -> ResponseReturnValue:
    logout_user()
    return redirect(url_for("auth.sign_in"))
