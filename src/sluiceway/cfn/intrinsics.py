"""CloudFormation's intrinsic functions and conditions, resolved as CloudFormation resolves them.

:class:`Resolver` turns a template value into plain JSON once the resources it refers
to exist: ``Ref`` (parameters, pseudo parameters, resources), ``Fn::GetAtt``,
``Fn::Sub`` (both forms, ``${!Literal}``), ``Fn::Join``, ``Fn::Select``, ``Fn::Split``,
``Fn::If`` (with ``AWS::NoValue`` removing the key or item), ``Fn::FindInMap``,
``Fn::Base64``, ``Fn::GetAZs``, ``Fn::Length``, ``Fn::ToJsonString`` (``Fn::Cidr`` is refused: no VPCs); ``Fn::ImportValue`` reads the
exports of the stacks kept in the same data dir; the ``Fn::Equals``/``And``/``Or``/``Not``
and ``Condition`` of the Conditions section. Every refusal names the place in the
template (``Resources.Queue.Properties.QueueName``).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import TemplateError

__all__ = ["NO_VALUE", "Resolver", "references"]


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()
"""What ``Ref: AWS::NoValue`` resolves to: the key or item holding it is dropped."""

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def references(value: Any) -> set[str]:
    """The logical ids (and parameters) ``value`` refers to through Ref, Fn::GetAtt and Fn::Sub."""
    found: set[str] = set()

    def walk(item: Any) -> None:
        if isinstance(item, list):
            for element in item:
                walk(element)
            return
        if not isinstance(item, dict):
            return
        if len(item) == 1:
            ((key, arg),) = item.items()
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
                return
            if key == "Fn::GetAtt":
                target = arg[0] if isinstance(arg, list) and arg else str(arg).split(".", 1)[0]
                if isinstance(target, str):
                    found.add(target)
                if isinstance(arg, list) and len(arg) > 1:
                    walk(arg[1])
                return
            if key == "Fn::Sub":
                text, variables = (arg[0], arg[1]) if isinstance(arg, list) and len(arg) == 2 else (arg, {})
                if isinstance(text, str):
                    for name in _SUB_VARIABLE.findall(text):
                        if not name.startswith("!") and name.split(".", 1)[0] not in (variables or {}):
                            found.add(name.split(".", 1)[0])
                walk(variables)
                return
        for element in item.values():
            walk(element)

    walk(value)
    return {name for name in found if not name.startswith("AWS::")}


@dataclass
class Resolver:
    """Resolves template values against parameters, conditions, mappings and the resources made so far.

    Args:
        pseudo: ``AWS::Region``, ``AWS::AccountId``, ``AWS::StackName``, ... and their values.
        parameters: each parameter's value (a list for ``List<...>`` and CommaDelimitedList types).
        mappings: the template's Mappings.
        refs: each created resource's ``Ref`` value, by logical id.
        attributes: each created resource's attributes (``Arn``, ``QueueUrl``...), by logical id.
        imports: the exports of other stacks, for ``Fn::ImportValue``.
        rewrite: applied to every string Fn::Sub or Fn::Join produce (the local stack
            rewrites API Gateway's public URLs to the endpoint's).
    """

    pseudo: Mapping[str, Any]
    parameters: Mapping[str, Any]
    mappings: Mapping[str, Any] = field(default_factory=dict)
    refs: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    imports: Mapping[str, str] = field(default_factory=dict)
    conditions: dict[str, bool] = field(default_factory=dict)
    rewrite: Callable[[str], str] = lambda text: text

    # ------------------------------------------------------------------ conditions

    def evaluate_conditions(self, definitions: Mapping[str, Any]) -> None:
        """Evaluate the template's Conditions section into :attr:`conditions`."""
        pending = dict(definitions)
        visiting: set[str] = set()

        def condition(name: str, where: str) -> bool:
            if name in self.conditions:
                return self.conditions[name]
            if name not in pending:
                raise TemplateError(f"{where}: unknown condition {name!r}")
            if name in visiting:
                raise TemplateError(f"Conditions.{name}: refers to itself")
            visiting.add(name)
            result = self._truth(pending[name], f"Conditions.{name}", condition)
            visiting.discard(name)
            self.conditions[name] = result
            return result

        self._condition = condition
        for name in definitions:
            condition(name, f"Conditions.{name}")

    def condition(self, name: Any, where: str) -> bool:
        if not isinstance(name, str) or name not in self.conditions:
            raise TemplateError(f"{where}: unknown condition {name!r}")
        return self.conditions[name]

    def _truth(self, value: Any, where: str, condition: Callable[[str, str], bool]) -> bool:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Condition":
                return condition(arg, where)
            if key == "Fn::Equals":
                if not isinstance(arg, list) or len(arg) != 2:
                    raise TemplateError(f"{where}: Fn::Equals takes a list of two values")
                left, right = (self.resolve(item, where) for item in arg)
                return _text(left) == _text(right)
            if key in ("Fn::And", "Fn::Or"):
                if not isinstance(arg, list) or not 2 <= len(arg) <= 10:
                    raise TemplateError(f"{where}: {key} takes a list of 2 to 10 conditions")
                results = [self._truth(item, where, condition) for item in arg]
                return all(results) if key == "Fn::And" else any(results)
            if key == "Fn::Not":
                if not isinstance(arg, list) or len(arg) != 1:
                    raise TemplateError(f"{where}: Fn::Not takes a list of one condition")
                return not self._truth(arg[0], where, condition)
        raise TemplateError(f"{where}: a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition, not {value!r}")

    # ------------------------------------------------------------------ values

    def resolve(self, value: Any, where: str) -> Any:
        """``value`` with every intrinsic resolved (``AWS::NoValue`` items and keys dropped)."""
        if isinstance(value, list):
            items = [self.resolve(item, f"{where}[{i}]") for i, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            function = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, arg, f"{where}.{key}")
        resolved = {key: self.resolve(item, f"{where}.{key}") for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _ref(self, name: Any, where: str) -> Any:
        if not isinstance(name, str):
            raise TemplateError(f"{where}: Ref takes a name, not {name!r}")
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise TemplateError(f"{where}: Ref to {name!r}, which is no parameter and no resource made so far")

    def _get_att(self, arg: Any, where: str) -> Any:
        if isinstance(arg, str):
            logical, _, attribute = arg.partition(".")
        elif isinstance(arg, list) and len(arg) == 2:
            logical, attribute = arg[0], self.resolve(arg[1], where)
        else:
            raise TemplateError(f"{where}: Fn::GetAtt takes [LogicalId, Attribute]")
        if logical not in self.attributes:
            raise TemplateError(f"{where}: Fn::GetAtt of {logical!r}, which is no resource made so far")
        attributes = self.attributes[logical]
        if attribute not in attributes:
            known = ", ".join(sorted(attributes)) or "none"
            raise TemplateError(f"{where}: {logical} has no attribute {attribute!r} locally (it has: {known})")
        return attributes[attribute]

    def _sub(self, arg: Any, where: str) -> Any:
        if isinstance(arg, list):
            if len(arg) != 2 or not isinstance(arg[0], str) or not isinstance(arg[1], dict):
                raise TemplateError(f"{where}: Fn::Sub takes a string, or [string, {{variables}}]")
            text, variables = arg[0], {k: self.resolve(v, f"{where}.{k}") for k, v in arg[1].items()}
        elif isinstance(arg, str):
            text, variables = arg, {}
        else:
            raise TemplateError(f"{where}: Fn::Sub takes a string, or [string, {{variables}}]")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} is the text ${Literal}
            name = name.strip()
            if name in variables:
                return _text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attribute = name.split(".", 1)
                return _text(self._get_att([logical, attribute], where))
            return _text(self._ref(name, where))

        return self.rewrite(_SUB_VARIABLE.sub(replace, text))

    def _join(self, arg: Any, where: str) -> Any:
        if not isinstance(arg, list) or len(arg) != 2 or not isinstance(arg[0], str):
            raise TemplateError(f"{where}: Fn::Join takes [delimiter, [values]]")
        values = self.resolve(arg[1], where)
        if not isinstance(values, list):
            raise TemplateError(f"{where}: Fn::Join's values must be a list")
        return self.rewrite(arg[0].join(_text(v) for v in values))

    def _select(self, arg: Any, where: str) -> Any:
        if not isinstance(arg, list) or len(arg) != 2:
            raise TemplateError(f"{where}: Fn::Select takes [index, [values]]")
        index, values = self.resolve(arg[0], where), self.resolve(arg[1], where)
        try:
            position = int(index)
        except (TypeError, ValueError):
            raise TemplateError(f"{where}: Fn::Select's index must be a number, not {index!r}") from None
        if not isinstance(values, list) or not 0 <= position < len(values):
            raise TemplateError(f"{where}: Fn::Select index {position} is out of the list's bounds")
        return values[position]

    def _split(self, arg: Any, where: str) -> Any:
        if not isinstance(arg, list) or len(arg) != 2 or not isinstance(arg[0], str):
            raise TemplateError(f"{where}: Fn::Split takes [delimiter, string]")
        text = self.resolve(arg[1], where)
        if not isinstance(text, str):
            raise TemplateError(f"{where}: Fn::Split's source must be a string")
        return text.split(arg[0])

    def _if(self, arg: Any, where: str) -> Any:
        if not isinstance(arg, list) or len(arg) != 3:
            raise TemplateError(f"{where}: Fn::If takes [condition, value if true, value if false]")
        chosen = arg[1] if self.condition(arg[0], where) else arg[2]
        return self.resolve(chosen, where)

    def _find_in_map(self, arg: Any, where: str) -> Any:
        if not isinstance(arg, list) or len(arg) not in (3, 4):
            raise TemplateError(f"{where}: Fn::FindInMap takes [map, top-level key, second-level key]")
        name, top, second = (self.resolve(item, where) for item in arg[:3])
        try:
            return self.mappings[name][_text(top)][_text(second)]
        except (KeyError, TypeError):
            if len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
                return self.resolve(arg[3]["DefaultValue"], where)
            raise TemplateError(f"{where}: Mappings has no {name}.{top}.{second}") from None

    def _base64(self, arg: Any, where: str) -> Any:
        return base64.b64encode(_text(self.resolve(arg, where)).encode()).decode()

    def _get_azs(self, arg: Any, where: str) -> Any:
        region = self.resolve(arg, where) or self.pseudo["AWS::Region"]
        return [f"{region}{zone}" for zone in "abc"]

    def _import_value(self, arg: Any, where: str) -> Any:
        name = self.resolve(arg, where)
        if name not in self.imports:
            raise TemplateError(f"{where}: no stack in this data dir exports {name!r}")
        return self.imports[name]

    def _length(self, arg: Any, where: str) -> Any:
        values = self.resolve(arg, where)
        if not isinstance(values, list):
            raise TemplateError(f"{where}: Fn::Length takes a list")
        return len(values)

    def _to_json_string(self, arg: Any, where: str) -> Any:
        return json.dumps(self.resolve(arg, where), separators=(",", ":"))

    def _condition_value(self, arg: Any, where: str) -> Any:
        return self.condition(arg, where)

    def _cidr(self, arg: Any, where: str) -> Any:
        raise TemplateError(f"{where}: Fn::Cidr is not served locally (no VPCs are emulated)")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise TemplateError(f"a list or object where text is needed: {json.dumps(value)[:200]}")
    return str(value)


_FUNCTIONS: dict[str, Callable[[Resolver, Any, str], Any]] = {
    "Ref": Resolver._ref,
    "Fn::GetAtt": Resolver._get_att,
    "Fn::Sub": Resolver._sub,
    "Fn::Join": Resolver._join,
    "Fn::Select": Resolver._select,
    "Fn::Split": Resolver._split,
    "Fn::If": Resolver._if,
    "Fn::FindInMap": Resolver._find_in_map,
    "Fn::Base64": Resolver._base64,
    "Fn::GetAZs": Resolver._get_azs,
    "Fn::ImportValue": Resolver._import_value,
    "Fn::Length": Resolver._length,
    "Fn::ToJsonString": Resolver._to_json_string,
    "Condition": Resolver._condition_value,
    "Fn::Cidr": Resolver._cidr,
}
