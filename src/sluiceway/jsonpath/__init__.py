"""JSONPath as AWS evaluates it, shared by the ASL engine and EventBridge's input transformation.

Step Functions and EventBridge evaluate JSONPath with the Java library Jayway JsonPath, so this
package follows Jayway's semantics and error texts rather than any JSONPath spec:

* A *definite* path (only ``.name``, ``['name']``, ``[n]`` and a trailing ``['a','b']``) yields one
  value or fails; an *indefinite* one (``[*]``, ``..``, ``[?(...)]``, ``[a:b]``, ``[0,1]``) always
  yields a list, possibly empty, and never fails for missing data.
* Negative indexes count from the end; JSONPath functions such as ``.length()`` are not supported
  (AWS treats ``length()`` as a property name).
* Keys in brackets keep their backslashes: AWS reads ``$['a\\"b']`` as the key ``a\\"b``.

Three roots exist: ``$`` (the document: a state's input, an event), ``$$`` (Step Functions' context
object) and ``$name`` (a workflow variable). All values are plain JSON (``dict``, ``list``, ``str``,
``int``, ``float``, ``bool``, ``None``) and are treated as immutable: results may share structure
with their inputs.

The package is pure and depends only on :mod:`sluiceway.errors`, :mod:`sluiceway.types` and the
bounded regular expressions of :mod:`sluiceway.regexes` (a filter's ``=~`` is matched against
data, so it must not be able to backtrack for hours). What Step Functions builds on paths (payload
templates, intrinsic functions, ResultPath) lives in :mod:`sluiceway.asl`.
"""

from __future__ import annotations

from typing import Any

from sluiceway.errors import StatesError
from sluiceway.types import JSON

from ._evaluate import NotFoundError, Scope, evaluate
from ._syntax import MAX_PATH_STEPS, CompiledPath, Index, PathSyntaxError, Prop, compile_path
from .text import java_class, java_text, json_text

__all__ = [
    "MAX_PATH_STEPS",
    "PathSyntaxError",
    "Scope",
    "is_definite",
    "is_path",
    "is_reference_path",
    "java_class",
    "java_text",
    "json_text",
    "lookup",
    "reference_steps",
    "select",
    "validate_path",
]


def _compile_or_fail(path: str) -> CompiledPath:
    try:
        return compile_path(path)
    except PathSyntaxError as exc:
        raise StatesError("States.Runtime", f"Invalid path '{path}' : {exc}") from exc


def select(path: str, scope: Scope, *, field: str | None = None) -> JSON:
    """Evaluate a JSONPath against the scope.

    Args:
        path: ``$...`` (input), ``$$...`` (context object) or ``$name...`` (variable).
        scope: what the path can see.
        field: the definition field the path came from, e.g. ``"value.$"`` in a payload template
            or ``"CausePath"``. It selects AWS's message for a miss: with a field, "The JSONPath
            '<path>' specified for the field '<field>' could not be found in the input '<input>'";
            without (InputPath, OutputPath, ItemsPath...), "Invalid path '<path>' : <reason>".

    Returns:
        The value for a definite path; a list (possibly empty) for an indefinite one.

    Raises:
        StatesError: ``States.Runtime`` when a definite path finds nothing or the path is invalid.
    """
    compiled = _compile_or_fail(path)
    try:
        return evaluate(compiled, scope)
    except NotFoundError as exc:
        if field is not None:
            raise StatesError(
                "States.Runtime",
                f"The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{json_text(scope.input)}'",
            ) from None
        raise StatesError("States.Runtime", f"Invalid path '{path}' : {exc}") from None


def lookup(path: str, scope: Scope) -> tuple[bool, JSON]:
    """Evaluate a path without failing on a miss.

    Args:
        path: a JSONPath as for :func:`select`.
        scope: what the path can see.

    Returns:
        ``(True, value)`` when found, ``(False, None)`` when a definite path finds nothing. An
        indefinite path is always found (its value is a list, possibly empty).

    Raises:
        StatesError: ``States.Runtime`` if the path is not valid JSONPath.
    """
    compiled = _compile_or_fail(path)
    try:
        return True, evaluate(compiled, scope)
    except NotFoundError:
        return False, None


def is_definite(path: str) -> bool:
    """Whether a valid path selects at most one node (no wildcard, scan, filter, slice or list).

    Raises:
        PathSyntaxError: if the path is not valid JSONPath.
    """
    return compile_path(path).definite


def is_path(s: Any) -> bool:
    """Whether ``s`` is meant as a path: a string starting with ``$``."""
    return isinstance(s, str) and s.startswith("$")


def validate_path(path: Any, *, reference: bool = False) -> list[str]:
    """Problems with a path in a definition.

    Args:
        path: the value found in the definition.
        reference: require a reference path (ResultPath): only ``$``-rooted, with single names
            and indexes.

    Returns:
        Human-readable problems; empty when the path is fine.
    """
    if not isinstance(path, str):
        return [f"expected a JSONPath string, got {json_text(path)}"]
    try:
        compiled = compile_path(path)
    except PathSyntaxError as exc:
        return [f"invalid JSONPath '{path}': {exc}"]
    if reference and not _is_reference(compiled):
        return [f"'{path}' is not a valid reference path"]
    return []


def _is_reference(compiled: CompiledPath) -> bool:
    return compiled.root == "$" and all(
        (isinstance(t, Prop) and len(t.names) == 1) or (isinstance(t, Index) and len(t.indexes) == 1) for t in compiled.tokens
    )


def is_reference_path(path: Any) -> bool:
    """Whether ``path`` is a valid reference path (what ResultPath accepts)."""
    return not validate_path(path, reference=True)


def reference_steps(path: str) -> tuple[str | int, ...]:
    """The steps of a reference path (what ResultPath takes): names and indexes, in order.

    ``$.a.b[0]`` is ``("a", "b", 0)``; ``$`` is ``()``.

    Raises:
        PathSyntaxError: the path is not valid JSONPath.
        ValueError: the path is valid but not a reference path (a wildcard, a filter, ``$$``...).
    """
    compiled = compile_path(path)
    if not _is_reference(compiled):
        raise ValueError(f"not a reference path: {path!r}")
    steps: list[str | int] = []
    for token in compiled.tokens:
        if isinstance(token, Prop):
            steps.append(token.names[0])
        elif isinstance(token, Index):
            steps.append(token.indexes[0])
    return tuple(steps)
