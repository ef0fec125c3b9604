"""Segments: the saved list, the text-form editor, and a preview with count and reachability."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select

from lumo.extensions import db
from lumo.models import Segment as SavedSegment
from lumo.segments import service
from lumo.segments.errors import SegmentError
from lumo.segments.model import Segment
from lumo.segments.printer import format_segment
from lumo.web.auth import current_workspace_id

logger = logging.getLogger(__name__)

bp = Blueprint("segments", __name__, url_prefix="/segments")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every Segment page is for a signed-in merchant."""


def _saved_or_404(segment_id: int) -> SavedSegment:
    row = db.session.scalar(
        select(SavedSegment).where(
            SavedSegment.id == segment_id, SavedSegment.workspace_id == current_workspace_id()
        )
    )
    if row is None:
        abort(404)
    return row


def read_saved(row: SavedSegment) -> tuple[str, str | None]:
    """The saved Segment's text form, or ("", why) when its stored definition cannot be read.

    A row saved by an older version, or by a caller that got past the limits, must still be
    listed and openable, so the merchant can rewrite or delete it instead of meeting a 500.
    """
    try:
        return format_segment(Segment.from_json(row.definition)), None
    except SegmentError as error:
        logger.warning("segment %s has a definition this version cannot read", row.id)
        return "", (
            f"The saved conditions of this Segment cannot be read ({error}). Write them again "
            "and save, or delete the Segment."
        )


def text_form(row: SavedSegment) -> str:
    """The saved Segment in its text form, or a note saying it cannot be read."""
    text, problem = read_saved(row)
    return problem or text


@bp.get("/")
def index() -> ResponseReturnValue:
    rows = list(
        db.session.scalars(
            select(SavedSegment)
            .where(SavedSegment.workspace_id == current_workspace_id())
            .order_by(SavedSegment.name)
        )
    )
    return render_template("segments/index.html", segments=rows, text_form=text_form)


def _fields() -> list[Any]:
    workspace_id = current_workspace_id()
    return service.field_registry().available(service.enabled_properties(workspace_id))


def _evaluate(text: str) -> dict[str, Any]:
    """Count, reachability and a preview of the text form, or the error to show beside it."""
    workspace_id = current_workspace_id()
    try:
        return {
            "count": service.count(workspace_id, text),
            "reach": service.reachability(workspace_id, text),
            "preview": service.preview(workspace_id, text, limit=10),
            "error": None,
        }
    except SegmentError as error:
        return {"error": str(error)}


@bp.route("/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    return _editor(None)


@bp.route("/<int:segment_id>", methods=["GET", "POST"])
def edit(segment_id: int) -> ResponseReturnValue:
    return _editor(_saved_or_404(segment_id))


def _editor(row: SavedSegment | None) -> ResponseReturnValue:
    if request.method == "GET":
        text, problem = read_saved(row) if row else (request.args.get("text", ""), None)
        form = {
            "name": row.name if row else request.args.get("name", ""),
            "description": (row.description or "") if row else request.args.get("description", ""),
            "text": text,
        }
        result: dict[str, Any] | None = None
        if problem:
            result = {"error": problem}
        elif row or form["text"]:
            result = _evaluate(form["text"])
        return render_template(
            "segments/edit.html", row=row, form=form, result=result, fields=_fields()
        )

    form = {key: (request.form.get(key) or "").strip() for key in ("name", "description", "text")}
    result = _evaluate(form["text"])
    if request.form.get("action") != "save" or result["error"]:
        status = 422 if result["error"] else 200
        return render_template(
            "segments/edit.html", row=row, form=form, result=result, fields=_fields()
        ), status

    workspace_id = current_workspace_id()
    if not form["name"]:
        result["error"] = "Give the Segment a name before saving it."
        return render_template(
            "segments/edit.html", row=row, form=form, result=result, fields=_fields()
        ), 422
    try:
        saved = service.save_segment(
            workspace_id,
            form["name"],
            form["text"],
            description=form["description"] or None,
            segment_id=row.id if row is not None else None,
        )
    except SegmentError as error:
        db.session.rollback()
        result["error"] = str(error)
        return render_template(
            "segments/edit.html", row=row, form=form, result=result, fields=_fields()
        ), 422
    flash(f"Segment “{saved.name}” saved: {saved.last_count:,} friends right now.")
    return redirect(url_for(".edit", segment_id=saved.id))


@bp.post("/<int:segment_id>/delete")
def remove(segment_id: int) -> ResponseReturnValue:
    row = _saved_or_404(segment_id)
    name = row.name
    db.session.delete(row)
    db.session.commit()
    logger.info("segment %s deleted in workspace %s", segment_id, current_workspace_id())
    flash(f"Segment “{name}” deleted.")
    return redirect(url_for(".index"))
