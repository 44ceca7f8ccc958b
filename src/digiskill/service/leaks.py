"""Scanning citizen responses for anything that gives away an answer: a key, an explanation, a score, a parameter.

Used by the tests (every citizen response they see) and by ``digiskill loadtest`` (every response it gets).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORBIDDEN_FIELDS = frozenset(
    {
        "key",
        "keys",
        "correct",
        "explanation",
        "score",
        "response",
        "responses",
        "theta",
        "se",
        "a",
        "b",
        "c",
        "d",
        "thresholds",
        "steps",
        "level_probabilities",
        "candidates",
        "state",
        "seed",
    }
)


def _walk(node: Any, path: str = "$") -> Iterable[tuple[str, str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield path, str(k), v
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")


def find_leaks(body: Any, explanations: Iterable[str] = ()) -> list[str]:
    """Where ``body`` (parsed JSON of a citizen response) names a forbidden field or contains an explanation text."""
    found = [f"{path}.{key}" for path, key, _ in _walk(body) if key.lower() in FORBIDDEN_FIELDS]
    text = repr(body)
    found += [f"explanation text {e[:30]!r}…" for e in explanations if e and e in text]
    return found
