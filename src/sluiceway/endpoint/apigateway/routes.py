"""Which route a request takes, and its path parameters.

Both kinds of API prefer the most specific route: at each segment a literal beats a
``{variable}``, which beats a greedy ``{proxy+}`` (one or more segments); a route for the
request's method beats ``ANY``. An HTTP API falls back to its ``$default`` route. Matching works
on the path as sent (still percent-encoded), segment by segment, so an encoded ``/`` (``%2F``)
stays inside its segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .model import DEFAULT_ROUTE, Route

__all__ = ["Match", "match_route"]


@dataclass(frozen=True)
class Match:
    route: Route
    path_parameters: dict[str, str] = field(default_factory=dict)
    """Parameter -> its raw (percent-encoded) value; a greedy one spans segments joined by ``/``."""


def match_route(routes: Sequence[Route], method: str, path: str) -> Match | None:
    """The route ``method path`` (the path after the stage, raw) takes, or None."""
    segments = _segments(path)
    best: tuple[tuple[int, ...], int, Match] | None = None
    fallback: Route | None = None
    for route in routes:
        if route.path == DEFAULT_ROUTE:
            fallback = route
            continue
        if route.method not in (method, "ANY"):
            continue
        found = _match(_segments(route.path), segments)
        if found is None:
            continue
        score, parameters = found
        rank = (score, 1 if route.method == method else 0, Match(route, parameters))
        if best is None or rank[:2] > best[:2]:
            best = rank
    if best is not None:
        return best[2]
    return Match(fallback) if fallback is not None else None


def _segments(path: str) -> list[str]:
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


def _match(template: list[str], segments: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """The specificity of ``template`` for ``segments`` (higher is more specific) and its parameters."""
    score: list[int] = []
    parameters: dict[str, str] = {}
    for index, part in enumerate(template):
        if part.startswith("{") and part.endswith("+}"):
            rest = segments[index:]
            if not rest or index != len(template) - 1:
                return None
            parameters[part[1:-2]] = "/".join(rest)
            score.append(0)
            return tuple(score), parameters
        if index >= len(segments):
            return None
        if part.startswith("{") and part.endswith("}"):
            if not segments[index]:
                return None
            parameters[part[1:-1]] = segments[index]
            score.append(1)
        elif part == segments[index]:
            score.append(2)
        else:
            return None
    if len(segments) != len(template):
        return None
    return tuple(score), parameters
