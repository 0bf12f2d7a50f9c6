"""JSON schemas of the structured replies: the clarifier's intake, the planner's plan and
the reviewer's verdict, each the shape its parser in ``roles`` reads.

Sent as ``AgentRequest.response_schema``, so an API with constrained output (Ollama
``format``, OpenAI-compatible ``response_format``, an Anthropic forced tool) can only
answer in that shape. Written small and plain (no ``$ref``, no ``oneOf``): local servers
turn them into grammars. The parsers still check every reply; repair is the fallback.
"""

from __future__ import annotations

from typing import Any

from ..backends.base import JsonSchema


def _strings(description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": description}


INTAKE: JsonSchema = {
    "title": "intake",
    "type": "object",
    "properties": {
        "criteria": _strings("1-6 checkable success criteria"),
        "questions": {
            "type": "array",
            "description": "only questions whose answer changes the work; else []",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "text": {"type": "string"},
                    "default": {"type": "string"},
                },
                "required": ["id", "text", "default"],
            },
        },
    },
    "required": ["criteria", "questions"],
}


def plan(
    max_subgoals: int, workers: list[str] | None = None, tags: list[str] | None = None
) -> JsonSchema:
    """The planner's reply: at most ``max_subgoals`` subgoals (an empty list: done). With
    ``workers`` (a route that lets the planner assign), each subgoal may name one of them
    and its estimated size in worker tokens; both optional. With ``tags`` (those that have a
    specialist), each may carry some of them (optional)."""
    properties: dict[str, Any] = {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "instructions": {"type": "string"},
        "files": _strings("files the subgoal changes"),
    }
    if tags:
        properties["tags"] = {
            "type": "array",
            "items": {"type": "string", "enum": list(tags)},
            "description": "the kind of work, when a specialist does it",
        }
    if workers:
        properties["worker"] = {"type": "string", "enum": list(workers)}
        properties["est_tokens"] = {
            "type": "integer",
            "minimum": 0,
            "description": "estimated worker tokens, prompt and generated together",
        }
    subgoal = {
        "type": "object",
        "properties": properties,
        "required": ["id", "title", "instructions"],
    }
    return {
        "title": "plan",
        "type": "object",
        "properties": {"subgoals": {"type": "array", "items": subgoal, "maxItems": max_subgoals}},
        "required": ["subgoals"],
    }


VERDICT: JsonSchema = {
    "title": "verdict",
    "type": "object",
    "properties": {
        "complete": {"type": "boolean", "description": "true only if every criterion holds"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "issues": _strings("what is wrong or missing"),
        "next_steps": _strings("what to do next"),
    },
    "required": ["complete", "score", "issues", "next_steps"],
}
