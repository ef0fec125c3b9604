"""The Marketing Agent: turns a marketer's request into a Segment, shows its work, drafts a
broadcast.

Entry points: `agent.conversation.ask` (one turn of a stored conversation),
`agent.planners.choose_planner` (offline or LLM) and `agent.broadcasts`.
"""
