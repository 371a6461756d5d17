"""A template's Parameters: defaults, ``--parameter-overrides``, and CloudFormation's checks of each value.

Parameters of the SSM types (``AWS::SSM::Parameter::Value<String>``, ``<List<String>>``,
``<CommaDelimitedList>``, ``<AWS::EC2::...>``) take a Parameter Store name and resolve to that
parameter's value, read from the local store when the stack is deployed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import TemplateError

__all__ = ["parameter_values", "ssm_parameter_names"]

_LIST_TYPES = ("CommaDelimitedList", "List<Number>", "List<String>")
_SSM_VALUE = "AWS::SSM::Parameter::Value<"
_SSM_NAME = "AWS::SSM::Parameter::Name"

ParameterReader = Callable[[str], "tuple[str, str] | None"]
"""``read(name) -> (type, value)`` of a Parameter Store parameter; None when there is none."""


def parameter_values(
    declared: Mapping[str, Any],
    overrides: Mapping[str, str],
    source: str,
    *,
    read_parameter: ParameterReader | None = None,
) -> dict[str, Any]:
    """Each parameter's value: the override, else the default; lists for list types.

    Args:
        read_parameter: reads Parameter Store, for the parameters of SSM types (without it
            they are refused).

    Raises:
        TemplateError: an override of no parameter, a parameter without a value, or a value
            its constraints refuse (AllowedValues, AllowedPattern, lengths, Min/MaxValue); an
            SSM-typed parameter naming a parameter that does not exist or is a SecureString.
    """
    if not isinstance(declared, Mapping):
        raise TemplateError(f"{source}: Parameters must be an object")
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"{source}: --parameter-overrides names no parameter of the template: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    ssm_names: dict[str, str] = {}
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
        if kind.startswith(_SSM_VALUE) and kind.endswith(">"):
            ssm_names[name] = _text(raw)
            continue
        if kind == _SSM_NAME:
            values[name] = _text(raw)
            continue
        values[name] = _checked(name, kind, raw, spec, where)
    if ssm_names:
        values.update(_from_parameter_store(declared, ssm_names, read_parameter, source))
        values = {name: values[name] for name in declared if name in values}
    return values


def ssm_parameter_names(declared: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    """The Parameter Store name each parameter of an ``AWS::SSM::Parameter::Value<...>`` type is given.

    The override, else the default. CloudFormation shows this name as the parameter's
    ``ParameterValue`` and what it read from the store as its ``ResolvedValue``.
    """
    names: dict[str, str] = {}
    for name, spec in declared.items():
        kind = str(spec.get("Type", "")) if isinstance(spec, Mapping) else ""
        if not (kind.startswith(_SSM_VALUE) and kind.endswith(">")):
            continue
        if name in overrides:
            names[name] = _text(overrides[name])
        elif "Default" in spec:
            names[name] = _text(spec["Default"])
    return names


def _from_parameter_store(
    declared: Mapping[str, Any], names: Mapping[str, str], read: ParameterReader | None, source: str
) -> dict[str, Any]:
    """The values of the SSM-typed parameters, read as CloudFormation reads them when a stack is made."""
    if read is None:
        raise TemplateError(f"{source}: Parameters {sorted(names)} read SSM Parameter Store, which this deploy cannot reach")
    found: dict[str, tuple[str, str]] = {}
    missing: list[str] = []
    for parameter, ssm_name in names.items():
        try:
            got = read(ssm_name)
        except TemplateError as error:
            raise TemplateError(f"{source}: Parameters.{parameter}: {error}") from None
        if got is None:
            missing.append(ssm_name)
        else:
            found[parameter] = got
    if missing:
        raise TemplateError(f"{source}: Unable to fetch parameters [{','.join(missing)}] from parameter store for this account.")
    secure = [names[parameter] for parameter, (kind, _) in found.items() if kind == "SecureString"]
    if secure:
        raise TemplateError(f"{source}: Parameters [{','.join(secure)}] referenced by template have types not supported by CloudFormation.")
    values: dict[str, Any] = {}
    for parameter, (_, value) in found.items():
        inner = str(declared[parameter]["Type"])[len(_SSM_VALUE) : -1]
        is_list = inner.startswith("List<") or inner == "CommaDelimitedList"
        values[parameter] = [item.strip() for item in value.split(",")] if is_list else value
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
