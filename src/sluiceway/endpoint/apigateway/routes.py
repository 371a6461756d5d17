"""Which route a request takes, and its path parameters.

Both kinds of API prefer the most specific route: at each segment a literal beats a
``{variable}``, which beats a greedy ``{proxy+}`` (one or more segments); a route for the
request's method beats ``ANY``. An HTTP API falls back to its ``$default`` route. Matching works
on the path as sent (still percent-encoded), segment by segment, so an encoded ``/`` (``%2F``)
stays inside its segment.

Empty segments are ignored (``/admin/``, ``//admin`` and ``/admin//`` are ``/admin``), and what a
request is authorized against must be exactly what it was routed on: :attr:`Match.path` is that
canonical path, and the gateway builds the method ARN, the authorizer's event and the
integration's event from it. Otherwise a Deny on ``GET/admin`` would miss ``GET/admin/`` while
the request still reached ``GET /admin``.

Methods are case-sensitive (RFC 9110) and API Gateway's methods are uppercase: a method that is
not one of them (``get``, ``Get``, ``PROPFIND``) takes no route, not even ``ANY`` or ``$default``,
so no case trick can reach a route under a method an authorizer's policy does not name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .model import DEFAULT_ROUTE, Route

__all__ = ["METHODS", "Match", "canonical_path", "match_route"]

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
"""The methods API Gateway routes (``ANY`` stands for all of them)."""


@dataclass(frozen=True)
class Match:
    route: Route
    path_parameters: dict[str, str] = field(default_factory=dict)
    """Parameter -> its raw (percent-encoded) value; a greedy one spans segments joined by ``/``."""
    path: str = "/"
    """The path the route was matched on: raw segments, empty ones dropped (``/admin`` for ``/admin//``)."""


def canonical_path(path: str) -> str:
    """``path`` as routing sees it: its non-empty raw segments joined by ``/``, with a leading ``/``."""
    return "/" + "/".join(_segments(path))


def match_route(routes: Sequence[Route], method: str, path: str) -> Match | None:
    """The route ``method path`` (the path after the stage, raw) takes, or None."""
    if method not in METHODS:
        return None
    segments = _segments(path)
    canonical = "/" + "/".join(segments)
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
        rank = (score, 1 if route.method == method else 0, Match(route, parameters, canonical))
        if best is None or rank[:2] > best[:2]:
            best = rank
    if best is not None:
        return best[2]
    return Match(fallback, path=canonical) if fallback is not None else None


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


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
            parameters[part[1:-1]] = segments[index]
            score.append(1)
        elif part == segments[index]:
            score.append(2)
        else:
            return None
    if len(segments) != len(template):
        return None
    return tuple(score), parameters
