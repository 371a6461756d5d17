"""The order resources are made in: each after every resource it refers to (Ref, Fn::GetAtt, Fn::Sub, DependsOn)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import TemplateError
from .intrinsics import references

__all__ = ["creation_order"]


def creation_order(resources: Mapping[str, Any]) -> list[str]:
    """The logical ids in an order where each comes after what it needs; the template's order breaks ties.

    Raises:
        TemplateError: a DependsOn names no resource, or resources depend on each other in a circle.
    """
    needs: dict[str, set[str]] = {}
    for logical, resource in resources.items():
        if not isinstance(resource, dict):
            raise TemplateError(f"Resources.{logical}: must be an object with a Type")
        depends = resource.get("DependsOn") or []
        depends = [depends] if isinstance(depends, str) else list(depends)
        for name in depends:
            if name not in resources:
                raise TemplateError(f"Resources.{logical}.DependsOn: no resource {name!r} (or its Condition is false)")
        found = references(resource.get("Properties") or {}) | set(depends)
        needs[logical] = {name for name in found if name in resources and name != logical}
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = placed

    def visit(logical: str, path: list[str]) -> None:
        if state.get(logical) == 2:
            return
        if state.get(logical) == 1:
            circle = " -> ".join([*path[path.index(logical) :], logical])
            raise TemplateError(f"Resources: circular dependency between resources: {circle}")
        state[logical] = 1
        for name in sorted(needs[logical], key=list(resources).index):
            visit(name, [*path, logical])
        state[logical] = 2
        order.append(logical)

    # CloudFormation makes every resource whose dependencies are ready at once, and a custom
    # resource's provider runs its code only after that, so what a provider does (seeding a table
    # that a stream mapping reads, writing to a queue) meets the resources it does not depend on
    # already made: each custom resource is made as late as the resources that need it allow.
    custom = {logical for logical, resource in resources.items() if _is_custom(resource)}
    for logical in [name for name in resources if name not in custom] + [name for name in resources if name in custom]:
        visit(logical, [])
    return order


def _is_custom(resource: Any) -> bool:
    kind = str(resource.get("Type", "")) if isinstance(resource, dict) else ""
    return kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource"
