"""`lumo agent ask "TEXT"`: one answer of the Marketing Agent from the shell."""

from __future__ import annotations

import json
import logging

import click
from flask.cli import with_appcontext

logger = logging.getLogger(__name__)


@click.group("agent")
def agent_command() -> None:
    """Ask the Marketing Agent for an audience."""


@agent_command.command("ask")
@click.argument("text")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the Segment, its text form, its count and member ids as JSON.",
)
@click.option(
    "--workspace", "workspace_id", type=int, help="Workspace id (default: the only one)."
)
@click.option(
    "--conversation",
    "conversation_id",
    type=click.IntRange(1, 2**31 - 1),
    help="Continue this conversation, e.g. to answer the agent's question with its number.",
)
@with_appcontext
def ask_command(
    text: str, as_json: bool, workspace_id: int | None, conversation_id: int | None
) -> None:
    """Plan TEXT into a Segment and show the agent's work."""
    from agent.conversation import ConversationNotFound, ask
    from lumo.segments import service
    from lumo.workspaces import WorkspaceNotFound, resolve_workspace

    try:
        workspace = resolve_workspace(workspace_id)
    except WorkspaceNotFound as error:
        raise click.ClickException(str(error)) from error
    try:
        answer = ask(workspace.id, text, conversation_id=conversation_id)
    except ConversationNotFound as error:
        raise click.ClickException(str(error)) from error
    segment = answer.get("segment")
    if as_json:
        members = (
            service.member_ids(workspace.id, segment["json"])
            if segment and answer.get("error") is None
            else []
        )
        click.echo(
            json.dumps(
                {
                    "segment": segment["json"] if segment else None,
                    "text_form": segment["text"] if segment else None,
                    "plain": segment["plain"] if segment else None,
                    "count": answer.get("count"),
                    "member_ids": members,
                    "answer": answer.get("text"),
                    "clarifying_question": answer.get("clarifying_question"),
                    "assumptions": answer.get("assumptions"),
                    "planner": answer.get("planner"),
                    "conversation_id": answer.get("conversation_id"),
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    click.echo(answer["text"])
    if segment:
        click.echo(f"Segment: {segment['text'] or '(every friend)'}")
        funnel = answer.get("reachability") or {}
        if funnel:
            click.echo(
                "Reach: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in funnel.items())
            )
    for assumption in answer.get("assumptions") or []:
        click.echo(f"Assumed: {assumption}")
    for entry in answer.get("glossary_applied") or []:
        click.echo(f"Glossary: {entry['term']} = {entry['definition']}")
    for suggestion in answer.get("suggestions") or []:
        click.echo(
            f"- {suggestion['title']}: {suggestion['segment_text']} "
            f"({suggestion['reachable']} reachable)"
        )
    question = answer.get("clarifying_question") or {}
    for number, option in enumerate(question.get("options") or [], start=1):
        click.echo(f"  {number}. {option['label']}")
    if question.get("options"):
        click.echo(f'Answer with: lumo agent ask "1" --conversation {answer["conversation_id"]}')
    else:
        click.echo(f"(conversation {answer['conversation_id']}; continue it with --conversation)")
