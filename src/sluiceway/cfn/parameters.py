"""A template's Parameters: defaults, ``--parameter-overrides``, and CloudFormation's checks of each value."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import TemplateError

__all__ = ["parameter_values"]

_LIST_TYPES = ("CommaDelimitedList", "List<Number>", "List<String>")


def parameter_values(declared: Mapping[str, Any], overrides: Mapping[str, str], source: str) -> dict[str, Any]:
    """Each parameter's value: the override, else the default; lists for list types.

    Raises:
        TemplateError: an override of no parameter, a parameter without a value, or a value
            its constraints refuse (AllowedValues, AllowedPattern, lengths, Min/MaxValue).
    """
    if not isinstance(declared, Mapping):
        raise TemplateError(f"{source}: Parameters must be an object")
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"{source}: --parameter-overrides names no parameter of the template: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        where = f"{source}: Parameters.{name}"
        if not isinstance(spec, Mapping) or "Type" not in spec:
            raise TemplateError(f"{where}: needs a Type")
        kind = str(spec["Type"])
        if name in overrides:
            raw: Any = overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            raise TemplateError(f"{where}: no value (give one with --parameter-overrides {name}=VALUE)")
        if kind.startswith("AWS::SSM::Parameter"):
            raise TemplateError(f"{where}: {kind} parameters read SSM Parameter Store, which is not emulated locally")
        values[name] = _checked(name, kind, raw, spec, where)
    return values


def _text(value: Any) -> str:
    # YAML's true is CloudFormation's "true" (a parameter's value is always text).
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _checked(name: str, kind: str, raw: Any, spec: Mapping[str, Any], where: str) -> Any:
    text = ",".join(map(_text, raw)) if isinstance(raw, list) else _text(raw)
    if kind in _LIST_TYPES or kind.startswith("List<"):
        items = [item.strip() for item in text.split(",")] if text else []
        if kind == "List<Number>":
            for item in items:
                _number(item, where)
        return items
    if kind == "Number":
        number = _number(text, where)
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise TemplateError(f"{where}: {text} is below MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise TemplateError(f"{where}: {text} is above MaxValue {spec['MaxValue']}")
        return text
    allowed = spec.get("AllowedValues")
    if allowed is not None and text not in [_text(v) for v in allowed]:
        raise TemplateError(f"{where}: {text!r} is not one of the AllowedValues {[_text(v) for v in allowed]}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(str(pattern), text):
        message = spec.get("ConstraintDescription") or f"must match pattern {pattern}"
        raise TemplateError(f"{where}: {text!r} {message}")
    if "MinLength" in spec and len(text) < int(spec["MinLength"]):
        raise TemplateError(f"{where}: shorter than MinLength {spec['MinLength']}")
    if "MaxLength" in spec and len(text) > int(spec["MaxLength"]):
        raise TemplateError(f"{where}: longer than MaxLength {spec['MaxLength']}")
    return text


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise TemplateError(f"{where}: {text!r} is not a number") from None
