"""What a request's expression parameters mean: its placeholders, condition, projection (checked once)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ....dynamodb.errors import validation
from ....dynamodb.expressions import Bindings
from ....dynamodb.expressions.nodes import Condition, Name, Path, Projection, Update

__all__ = ["Expressions", "LEGACY"]

#: The parameters from before expressions, which Sluiceway refuses (with the expression to use instead).
LEGACY = {
    "Expected": "ConditionExpression",
    "AttributeUpdates": "UpdateExpression",
    "KeyConditions": "KeyConditionExpression",
    "QueryFilter": "FilterExpression",
    "ScanFilter": "FilterExpression",
    "ConditionalOperator": "ConditionExpression",
}


class Expressions:
    """The expressions of one request, parsed and resolved against its placeholders.

    Every placeholder must be used by one of them (DynamoDB refuses the request otherwise).
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
    ) -> None:
        for legacy, modern in LEGACY.items():
            if request.get(legacy) is not None:
                raise validation(f"The legacy parameter {legacy} is not supported by Sluiceway; use {modern} instead")
        names = request.get("ExpressionAttributeNames")
        values = request.get("ExpressionAttributeValues")
        texts = {
            "ConditionExpression": request.get("ConditionExpression") if condition else None,
            "UpdateExpression": request.get("UpdateExpression") if update else None,
            "FilterExpression": request.get("FilterExpression") if filter_ else None,
            "KeyConditionExpression": request.get("KeyConditionExpression") if key_condition else None,
            "ProjectionExpression": request.get("ProjectionExpression") if projection else None,
        }
        if all(t is None for t in texts.values()):
            if names is not None:
                raise validation("ExpressionAttributeNames can only be specified when using expressions")
            if values is not None:
                raise validation("ExpressionAttributeValues can only be specified when using expressions")
        if projection and request.get("AttributesToGet") is not None and texts["ProjectionExpression"] is not None:
            raise validation(
                "Can not use both expression and non-expression parameters in the same request:"
                " Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"
            )
        bindings = Bindings(names, values)
        self.key_condition: Condition | None = None
        self.update: Update | None = None
        self.condition: Condition | None = None
        self.filter: Condition | None = None
        self.projection: Projection | None = None
        # DynamoDB checks the expressions in this order.
        if texts["KeyConditionExpression"] is not None:
            self.key_condition = bindings.condition(str(texts["KeyConditionExpression"]), "KeyConditionExpression")
        if texts["UpdateExpression"] is not None:
            self.update = bindings.update(str(texts["UpdateExpression"]))
        if texts["ConditionExpression"] is not None:
            self.condition = bindings.condition(str(texts["ConditionExpression"]), "ConditionExpression")
        if texts["FilterExpression"] is not None:
            self.filter = bindings.condition(str(texts["FilterExpression"]), "FilterExpression")
        if texts["ProjectionExpression"] is not None:
            self.projection = bindings.projection(str(texts["ProjectionExpression"]))
        elif projection and request.get("AttributesToGet") is not None:
            attributes = request["AttributesToGet"]
            self.projection = Projection(tuple(Path((Name(str(a)),)) for a in attributes))
        bindings.check_all_used()
