"""JSONPath-mode payload templates: Parameters, ItemSelector, ResultSelector, Assign, BatchInput.

A template is any JSON value; in its objects (also inside arrays) a key ending in ``.$`` holds a
path or an intrinsic function call whose value replaces it (the key loses its ``.$``). JSONata
templates, whose ``{% %}`` strings are evaluated wherever they sit, are :mod:`.jsonata`'s.

The module builds on :mod:`sluiceway.jsonpath` and :mod:`.intrinsics`; neither knows templates.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from sluiceway.jsonpath import Scope, select, validate_path
from sluiceway.types import JSON

from . import intrinsics

__all__ = ["resolve", "validate_template"]


def resolve(
    template: JSON,
    scope: Scope,
    *,
    field: str = "Parameters",
    rng: random.Random | None = None,
) -> JSON:
    """Build a payload from a JSONPath-mode payload template.

    Used for Parameters, ResultSelector, ItemSelector, Arguments and Assign. Objects are walked
    recursively (also inside arrays); a key ending in ``.$`` has its string value evaluated as a
    path or an intrinsic function call and loses the ``.$``. Everything else is copied as is.

    Args:
        template: the template from the definition.
        scope: what paths and intrinsics can see.
        field: the definition field, for messages when the template is not an object.
        rng: the random source for ``States.UUID`` and ``States.MathRandom``; required only if the
            template calls them.

    Returns:
        A new JSON value; values taken from the scope are shared, not copied.

    Raises:
        StatesError: ``States.Runtime`` for a path that finds nothing, ``States.IntrinsicFailure``
            for an intrinsic function that fails.
        ValueError: for a template that the definition validation should have refused.
    """
    if isinstance(template, Mapping):
        out: dict[str, JSON] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = _resolve_expression(key, value, scope, rng, field)
            else:
                out[key] = resolve(value, scope, field=field, rng=rng)
        return out
    if isinstance(template, list):
        return [resolve(v, scope, field=field, rng=rng) for v in template]
    return template


def _resolve_expression(key: str, value: JSON, scope: Scope, rng: random.Random | None, field: str) -> JSON:
    if isinstance(value, str):
        if value.startswith("States."):
            return intrinsics.evaluate(value, scope, rng, field=key)
        if value.startswith("$"):
            return select(value, scope, field=key)
    raise ValueError(f"{field}: the field '{key}' must hold a JSONPath or an intrinsic function, not {value!r}")


def validate_template(template: JSON, location: str) -> list[str]:
    """Problems with a JSONPath-mode payload template in a definition.

    Args:
        template: the template.
        location: its JSON-pointer-like location, e.g. ``/States/Step/Parameters``.

    Returns:
        Issues as ``"<location>: <problem>"``; empty when the template is fine.
    """
    issues: list[str] = []
    if isinstance(template, Mapping):
        for key, value in template.items():
            where = f"{location}/{key}"
            if not key.endswith(".$"):
                issues.extend(validate_template(value, where))
            elif isinstance(value, str) and value.startswith("States."):
                issues.extend(f"{where}: {p}" for p in intrinsics.validate(value))
            elif isinstance(value, str) and value.startswith("$"):
                issues.extend(f"{where}: {p}" for p in validate_path(value))
            else:
                issues.append(f"{where}: The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call")
    elif isinstance(template, list):
        for k, value in enumerate(template):
            issues.extend(validate_template(value, f"{location}/{k}"))
    return issues
