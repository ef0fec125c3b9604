"""The two planners behind one interface, and which one a request uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.planners.base import Clarification, Plan, Planner
from agent.planners.offline import OfflinePlanner


def llm_configured(config: Mapping[str, Any]) -> bool:
    """The LLM planner runs when an API key or an OpenAI-compatible base URL is set."""
    return bool(config.get("OPENAI_API_KEY") or config.get("OPENAI_BASE_URL"))


def choose_planner(config: Mapping[str, Any]) -> Planner:
    """The LLM planner when configured (it falls back to the offline one), else offline."""
    if llm_configured(config):
        from agent.planners.llm import LLMPlanner

        return LLMPlanner.from_config(config)
    return OfflinePlanner()


__all__ = [
    "Clarification",
    "OfflinePlanner",
    "Plan",
    "Planner",
    "choose_planner",
    "llm_configured",
]
