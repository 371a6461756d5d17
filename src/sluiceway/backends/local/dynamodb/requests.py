"""What a request's expression parameters mean (or its legacy parameters): placeholders, condition, projection (checked once)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ....dynamodb.errors import validation
from ....dynamodb.expressions import Bindings
from ....dynamodb.expressions import legacy as legacy_module
from ....dynamodb.expressions.nodes import Condition, Name, Path, Projection, Update

__all__ = ["Expressions"]

# DynamoDB names the parameters of a mixed request in these orders.
_EXPRESSION_ORDER = ("UpdateExpression", "ConditionExpression", "ProjectionExpression", "FilterExpression", "KeyConditionExpression")
_LEGACY_ORDER = ("AttributeUpdates", "Expected", "AttributesToGet", "QueryFilter", "ScanFilter", "ConditionalOperator", "KeyConditions")


class Expressions:
    """The expressions of one request, parsed and resolved against its placeholders.

    Every placeholder must be used by one of them (DynamoDB refuses the request otherwise).
    The legacy parameters (``Expected``, ``AttributeUpdates``, ``KeyConditions``,
    ``QueryFilter``/``ScanFilter`` named by ``legacy_filter``, ``AttributesToGet``) give the
    same trees; a request may not mix them with expressions. ``ConditionalOperator`` joins the
    ``Expected`` of a request with a condition, or else its legacy filter.
    """

    def __init__(
        self,
        request: Mapping[str, Any],
        *,
        condition: bool = False,
        update: bool = False,
        filter_: bool = False,
        key_condition: bool = False,
        projection: bool = True,
        legacy_filter: str | None = None,
    ) -> None:
        names = request.get("ExpressionAttributeNames")
        values = request.get("ExpressionAttributeValues")
        texts = {
            "ConditionExpression": request.get("ConditionExpression") if condition else None,
            "UpdateExpression": request.get("UpdateExpression") if update else None,
            "FilterExpression": request.get("FilterExpression") if filter_ else None,
            "KeyConditionExpression": request.get("KeyConditionExpression") if key_condition else None,
            "ProjectionExpression": request.get("ProjectionExpression") if projection else None,
        }
        # What ConditionalOperator joins, if the operation takes it; its value is checked first (a member of the shape).
        joins = "Expected" if condition else legacy_filter
        given_operator = request.get("ConditionalOperator") if joins is not None else None
        operator = legacy_module.conditional_operator(given_operator)
        legacy = {
            "AttributeUpdates": update,
            "Expected": condition,
            "AttributesToGet": projection,
            "QueryFilter": legacy_filter == "QueryFilter",
            "ScanFilter": legacy_filter == "ScanFilter",
            # Every operation that takes ConditionalOperator counts it as legacy, whatever it joins.
            "ConditionalOperator": joins is not None,
            # KeyConditions alone go with a FilterExpression (DynamoDB lets them).
            "KeyConditions": key_condition and texts["KeyConditionExpression"] is not None,
        }
        used_expressions = [n for n in _EXPRESSION_ORDER if texts[n] is not None]
        used_legacy = [n for n in _LEGACY_ORDER if legacy[n] and request.get(n) is not None]
        if used_expressions and used_legacy:
            raise validation(
                "Can not use both expression and non-expression parameters in the same request:"
                f" Non-expression parameters: {{{', '.join(used_legacy)}}} Expression parameters: {{{', '.join(used_expressions)}}}"
            )
        if not used_expressions:
            if names is not None:
                raise validation("ExpressionAttributeNames can only be specified when using expressions")
            if values is not None:
                raise validation("ExpressionAttributeValues can only be specified when using expressions")
        if given_operator is not None:
            # Checked ahead of the conditions it joins, and of a Query's missing key condition.
            legacy_module.check_joined(request.get(str(joins)))
        self.legacy_key_conditions: Mapping[str, Any] | None = None
        """The ``KeyConditions`` the key condition comes from (their types are checked against the key), if any."""
        self.query_filter: Mapping[str, Any] | None = None
        """The ``QueryFilter`` the filter comes from (it may not name a key attribute), if any."""
        bindings = Bindings(names, values)
        self.key_condition: Condition | None = None
        self.update: Update | None = None
        self.condition: Condition | None = None
        self.filter: Condition | None = None
        self.projection: Projection | None = None
        # DynamoDB checks the expressions in this order.
        if texts["KeyConditionExpression"] is not None:
            self.key_condition = bindings.condition(str(texts["KeyConditionExpression"]), "KeyConditionExpression")
        elif key_condition and request.get("KeyConditions") is not None:
            self.key_condition = legacy_module.key_conditions(request["KeyConditions"])
            self.legacy_key_conditions = request["KeyConditions"]
        if texts["UpdateExpression"] is not None:
            self.update = bindings.update(str(texts["UpdateExpression"]))
        elif update and request.get("AttributeUpdates") is not None:
            self.update = legacy_module.attribute_updates(request["AttributeUpdates"])
        if texts["ConditionExpression"] is not None:
            self.condition = bindings.condition(str(texts["ConditionExpression"]), "ConditionExpression")
        elif condition and request.get("Expected") is not None:
            self.condition = legacy_module.expected_condition(request["Expected"], operator)
        if texts["FilterExpression"] is not None:
            self.filter = bindings.condition(str(texts["FilterExpression"]), "FilterExpression")
        elif legacy_filter is not None and request.get(legacy_filter) is not None:
            self.filter = legacy_module.filter_condition(request[legacy_filter], operator)
            if legacy_filter == "QueryFilter":
                self.query_filter = request[legacy_filter]
        if texts["ProjectionExpression"] is not None:
            self.projection = bindings.projection(str(texts["ProjectionExpression"]))
        elif projection and request.get("AttributesToGet") is not None:
            self.projection = _attributes_to_get(request["AttributesToGet"])
        bindings.check_all_used()


def _attributes_to_get(attributes: Any) -> Projection:
    seen: set[str] = set()
    for attribute in attributes:
        if attribute in seen:
            raise validation(f"One or more parameter values were invalid: Duplicate value in attribute name: {attribute}")
        seen.add(attribute)
    return Projection(tuple(Path((Name(str(a)),)) for a in attributes))
