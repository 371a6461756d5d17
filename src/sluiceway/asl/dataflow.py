"""JSONPath-mode input and output processing: InputPath, ResultPath and OutputPath.

A JSONPath-mode state's data flows through fields in a fixed order::

    raw input -> InputPath -> Parameters -> (the work) -> ResultSelector -> ResultPath -> OutputPath

The payload templates (Parameters, ResultSelector) are :mod:`.templates`'; this module has the
three paths. ``InputPath`` and ``OutputPath`` select with :mod:`sluiceway.jsonpath` (``null``
gives ``{}``); ``ResultPath`` writes the result into a copy of the raw input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sluiceway.errors import StatesError
from sluiceway.jsonpath import Scope, json_text, reference_steps, select
from sluiceway.types import JSON

__all__ = ["input_path", "output_path", "put"]


def input_path(path: str | None, scope: Scope) -> JSON:
    """The effective input InputPath selects from ``scope.input``; ``null`` gives ``{}``.

    Raises:
        StatesError: ``States.Runtime`` (``Invalid path '<path>' : <reason>``) when a definite
            path finds nothing.
    """
    if path is None:
        return {}
    return select(path, scope, field=None)


def output_path(path: str | None, scope: Scope) -> JSON:
    """What OutputPath selects from the state's output (``scope.input``); ``null`` gives ``{}``.

    Raises:
        StatesError: as for :func:`input_path`.
    """
    if path is None:
        return {}
    return select(path, scope, field=None)


def put(data: JSON, result_path: str | None, value: JSON, *, field: str = "ResultPath") -> JSON:
    """Combine a state's input with its result, as ResultPath does.

    ``None`` discards the result and keeps ``data``; ``"$"`` returns ``value``; ``"$.a.b"`` returns
    a copy of ``data`` with ``a.b`` set, creating missing objects on the way. ``data`` is never
    changed: only the objects and arrays along the path are copied.

    Args:
        data: the state's input (the raw input, before InputPath).
        result_path: a reference path or ``None``.
        value: the state's result.
        field: the definition field, for messages (``ResultPath`` or a Catch's ``ResultPath``).

    Returns:
        The combined value.

    Raises:
        StatesError: ``States.ResultPathMatchFailure`` when the path runs through a value that is
            not an object (or an array, for an index step) or indexes past an array's end.
        ValueError: if ``result_path`` is not a reference path.
    """
    if result_path is None:
        return data
    try:
        steps = reference_steps(result_path)
    except ValueError as exc:  # PathSyntaxError included: the parser refuses both
        raise ValueError(f"{field} must be a reference path: {result_path!r}") from exc
    return _put(data, steps, 0, value, result_path, field)


def _render(steps: Sequence[str | int]) -> str:
    """Jayway's normalised form of the first steps, e.g. ``$['a'][0]``."""
    return "$" + "".join(f"[{step}]" if isinstance(step, int) else f"['{step}']" for step in steps)


def _put(node: JSON, steps: Sequence[str | int], i: int, value: JSON, text: str, field: str) -> JSON:
    if i == len(steps):
        return value
    step = steps[i]

    def failure() -> StatesError:
        return StatesError(
            "States.ResultPathMatchFailure",
            f"Unable to apply {field} '{text}' to input '{json_text(node)}': no object or array at {_render(steps[:i])}",
        )

    if isinstance(step, str):
        if not isinstance(node, Mapping):
            raise failure()
        child = node.get(step, {}) if i + 1 < len(steps) else None
        copy = dict(node)
        copy[step] = _put(child, steps, i + 1, value, text, field)
        return copy
    if not isinstance(node, list):
        raise failure()
    k = step + len(node) if step < 0 else step
    if not 0 <= k < len(node):
        raise failure()
    items = list(node)
    items[k] = _put(items[k], steps, i + 1, value, text, field)
    return items
