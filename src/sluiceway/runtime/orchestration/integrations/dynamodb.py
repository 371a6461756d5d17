"""The ``dynamodb:putItem/getItem/updateItem/deleteItem`` task integrations on a MetadataTable port.

Requests and responses use DynamoDB's JSON (``{"S": "x"}``, ``{"N": "1"}``, ...)
exactly as the Step Functions integration does; items are stored as plain JSON
behind the port. Expressions cover what state machines usually send:
``SET`` and ``REMOVE`` updates, ``attribute_exists``/``attribute_not_exists``
and ``=`` conditions (joined with AND), with ``#name``/``:value`` placeholders.
Anything else is refused with DynamoDB's ValidationException, never guessed.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from ....asl.commands import InvokeTask
from ....errors import ConflictError
from ....ports import Condition, MetadataTable
from ....types import JSON
from .base import Integration, TaskError, TaskPorts

__all__ = ["INTEGRATIONS", "DynamoDbTasks", "from_attribute", "to_attribute"]


def to_attribute(value: JSON) -> dict[str, Any]:
    """A JSON value as a DynamoDB AttributeValue."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(Decimal(str(value)).normalize()) if isinstance(value, float) else str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [to_attribute(v) for v in value]}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attribute(v) for k, v in value.items()}}
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def from_attribute(value: Mapping[str, Any]) -> JSON:
    """A DynamoDB AttributeValue as a JSON value (sets become sorted lists)."""
    if len(value) != 1:
        raise TaskError("DynamoDB.ValidationException", f"Supplied AttributeValue has {len(value)} types: {sorted(value)}")
    [(kind, item)] = value.items()
    if kind == "S":
        return str(item)
    if kind == "N":
        number = Decimal(str(item))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "BOOL":
        return bool(item)
    if kind == "NULL":
        return None
    if kind == "L":
        return [from_attribute(v) for v in item]
    if kind == "M":
        return {k: from_attribute(v) for k, v in item.items()}
    if kind == "SS":
        return sorted(str(v) for v in item)
    if kind == "NS":
        return sorted(from_attribute({"N": v}) for v in item)
    raise TaskError("DynamoDB.ValidationException", f"Unsupported AttributeValue type {kind}")


def _item(attributes: Any, what: str) -> dict[str, JSON]:
    if not isinstance(attributes, Mapping):
        raise TaskError("DynamoDB.ValidationException", f"{what} must be a map of AttributeValues")
    return {str(k): from_attribute(v) for k, v in attributes.items()}


_NAME = r"(#[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*)"
_EXISTS = re.compile(rf"^(attribute_exists|attribute_not_exists)\s*\(\s*{_NAME}\s*\)$")
_EQUALS = re.compile(rf"^{_NAME}\s*=\s*(:[A-Za-z0-9_]+)$")
_SET = re.compile(rf"^{_NAME}\s*=\s*(:[A-Za-z0-9_]+)$")


class DynamoDbTasks:
    """Handlers for the four item actions, given a way to open a table by name."""

    def __init__(self, open_table: Callable[[str], MetadataTable]) -> None:
        self.open_table = open_table

    def put_item(self, params: Mapping[str, Any]) -> JSON:
        table = self._table(params)
        item = _item(params.get("Item"), "Item")
        self._write(lambda: table.put(item, condition=self._condition(params)))
        return _metadata({})

    def get_item(self, params: Mapping[str, Any]) -> JSON:
        table = self._table(params)
        item = table.get(_item(params.get("Key"), "Key"))
        return _metadata({} if item is None else {"Item": {k: to_attribute(v) for k, v in item.items()}})

    def update_item(self, params: Mapping[str, Any]) -> JSON:
        table = self._table(params)
        key = _item(params.get("Key"), "Key")
        sets, removes = self._update(params)
        if removes:
            existing = table.get(key) or dict(key)
            for name in removes:
                existing.pop(name, None)
            existing.update(sets)
            self._write(lambda: table.put(existing, condition=self._condition(params)))
            updated: Mapping[str, JSON] = existing
        else:
            result: dict[str, Any] = {}
            self._write(lambda: result.update(table.update(key, sets, condition=self._condition(params))))
            updated = result
        response: dict[str, Any] = {}
        if params.get("ReturnValues") in ("ALL_NEW", "UPDATED_NEW"):
            chosen = updated if params["ReturnValues"] == "ALL_NEW" else {k: v for k, v in updated.items() if k in sets}
            response["Attributes"] = {k: to_attribute(v) for k, v in chosen.items()}
        return _metadata(response)

    def delete_item(self, params: Mapping[str, Any]) -> JSON:
        table = self._table(params)
        key = _item(params.get("Key"), "Key")
        self._write(lambda: table.delete(key, condition=self._condition(params)))
        return _metadata({})

    # -- helpers ------------------------------------------------------------------

    def _table(self, params: Mapping[str, Any]) -> MetadataTable:
        name = params.get("TableName")
        if not isinstance(name, str) or not name:
            raise TaskError("DynamoDB.ValidationException", "TableName is required")
        try:
            return self.open_table(name)
        except KeyError:
            raise TaskError(
                "DynamoDB.ResourceNotFoundException", f"Requested resource not found: Table: {name} not found"
            ) from None

    @staticmethod
    def _write(action: Callable[[], Any]) -> None:
        try:
            action()
        except ConflictError:
            raise TaskError("DynamoDB.ConditionalCheckFailedException", "The conditional request failed") from None
        except ValueError as exc:
            raise TaskError("DynamoDB.ValidationException", str(exc)) from None

    def _names_values(self, params: Mapping[str, Any]) -> tuple[Mapping[str, str], Mapping[str, JSON]]:
        names = params.get("ExpressionAttributeNames") or {}
        values = {k: from_attribute(v) for k, v in (params.get("ExpressionAttributeValues") or {}).items()}
        return names, values

    def _name(self, token: str, names: Mapping[str, str]) -> str:
        if token.startswith("#"):
            if token not in names:
                raise TaskError(
                    "DynamoDB.ValidationException",
                    f"An expression attribute name used in the document path is not defined; attribute name: {token}",
                )
            return names[token]
        return token

    def _value(self, token: str, values: Mapping[str, JSON]) -> JSON:
        if token not in values:
            raise TaskError(
                "DynamoDB.ValidationException", f"An expression attribute value used in expression is not defined; attribute value: {token}"
            )
        return values[token]

    def _condition(self, params: Mapping[str, Any]) -> Condition | None:
        text = params.get("ConditionExpression")
        if not text:
            return None
        names, values = self._names_values(params)
        exists: list[str] = []
        not_exists: list[str] = []
        equals: dict[str, JSON] = {}
        for part in re.split(r"\s+AND\s+", str(text).strip(), flags=re.IGNORECASE):
            part = part.strip().strip("()").strip() if part.count("(") != part.count(")") else part.strip()
            if match := _EXISTS.match(part):
                (exists if match.group(1) == "attribute_exists" else not_exists).append(self._name(match.group(2), names))
            elif match := _EQUALS.match(part):
                equals[self._name(match.group(1), names)] = self._value(match.group(2), values)
            else:
                raise TaskError("DynamoDB.ValidationException", f"Unsupported ConditionExpression part: {part!r}")
        return Condition(exists=tuple(exists), not_exists=tuple(not_exists), equals=equals)

    def _update(self, params: Mapping[str, Any]) -> tuple[dict[str, JSON], list[str]]:
        text = str(params.get("UpdateExpression") or "").strip()
        if not text:
            raise TaskError("DynamoDB.ValidationException", "UpdateExpression is required")
        names, values = self._names_values(params)
        sets: dict[str, JSON] = {}
        removes: list[str] = []
        for clause in re.split(r"(?=\b(?:SET|REMOVE)\b)", text, flags=re.IGNORECASE):
            clause = clause.strip()
            if not clause:
                continue
            verb, _, body = clause.partition(" ")
            for part in (p.strip() for p in body.split(",") if p.strip()):
                if verb.upper() == "SET" and (match := _SET.match(part)):
                    sets[self._name(match.group(1), names)] = self._value(match.group(2), values)
                elif verb.upper() == "REMOVE" and re.fullmatch(_NAME, part):
                    removes.append(self._name(part, names))
                else:
                    raise TaskError("DynamoDB.ValidationException", f"Unsupported UpdateExpression part: {verb} {part}")
        return sets, removes


def _metadata(response: dict[str, Any]) -> dict[str, Any]:
    response.setdefault("SdkHttpMetadata", {"HttpStatusCode": 200})
    response.setdefault("SdkResponseMetadata", {"RequestId": str(uuid.uuid4())})
    return response


_OPERATIONS = {"put_item": "PutItem", "get_item": "GetItem", "update_item": "UpdateItem", "delete_item": "DeleteItem"}


def _on_table(method: str) -> Callable[[TaskPorts, InvokeTask, Mapping[str, Any]], JSON]:
    def run(ports: TaskPorts, command: InvokeTask, params: Mapping[str, Any]) -> JSON:
        if ports.dynamodb is not None and not _held(ports, params.get("TableName")):
            return _through_engine(ports.dynamodb, _OPERATIONS[method], params)
        result: JSON = getattr(DynamoDbTasks(ports.require(ports.tables, "table")), method)(params)
        return result

    return run


def _held(ports: TaskPorts, name: Any) -> bool:
    if ports.tables is None or not isinstance(name, str):
        return False
    try:
        ports.tables(name)
    except KeyError:
        return False
    return True


def _through_engine(call: Callable[[str, Mapping[str, Any]], dict[str, Any]], operation: str, params: Mapping[str, Any]) -> JSON:
    """A task on any other table: the request goes to the local DynamoDB engine as DynamoDB's JSON, as
    Step Functions passes it to DynamoDB (every type, the whole expression language), and its errors
    come back as ``DynamoDB.<code>``."""
    from ....dynamodb.errors import DynamoDbError

    try:
        response = call(operation, _binary(dict(params), decode=True))
    except DynamoDbError as exc:
        raise TaskError(f"DynamoDB.{exc.code}", exc.message) from None
    except (ValueError, TypeError) as exc:  # a B value that is not base64
        raise TaskError("DynamoDB.ValidationException", str(exc)) from None
    shaped: JSON = _metadata(_binary(response, decode=False))
    return shaped


def _binary(value: Any, *, decode: bool) -> Any:
    """B and BS attribute values between the task's JSON (base64 text) and the engine's bytes."""
    if isinstance(value, list):
        return [_binary(item, decode=decode) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 and ("B" in value or "BS" in value):
        (kind, data), = value.items()
        convert = (lambda text: base64.b64decode(text, validate=True)) if decode else (lambda raw: base64.b64encode(raw).decode())
        if kind == "B" and isinstance(data, (str, bytes)):
            return {"B": convert(data)}
        if kind == "BS" and isinstance(data, list):
            return {"BS": [convert(item) for item in data]}
    return {key: _binary(item, decode=decode) for key, item in value.items()}


INTEGRATIONS = (
    Integration("dynamodb:putItem", _on_table("put_item"), ("dynamodb:PutItem",), in_database=True),
    Integration("dynamodb:getItem", _on_table("get_item"), ("dynamodb:GetItem",), in_database=True),
    Integration("dynamodb:updateItem", _on_table("update_item"), ("dynamodb:UpdateItem",), in_database=True),
    Integration("dynamodb:deleteItem", _on_table("delete_item"), ("dynamodb:DeleteItem",), in_database=True),
)
