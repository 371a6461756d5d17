"""DynamoDB's PartiQL operations: ExecuteStatement, BatchExecuteStatement, ExecuteTransaction.

Each statement is parsed and planned (:mod:`sluiceway.dynamodb.partiql`) into the native
request DynamoDB runs it as, which the engine then serves exactly as the native call:
a SELECT is a Query or a Scan (with their Limit, 1 MB pages and ConsistentRead), an
INSERT/UPDATE/DELETE a PutItem/UpdateItem/DeleteItem, a transaction a TransactWriteItems
or TransactGetItems. Streams, conditions and capacity are therefore the native calls'.
What PartiQL answers differently (``Items`` for everything, a DuplicateItemException for
an INSERT over an item, per-statement errors in a batch) is shaped here.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ...backends.local.dynamodb import LocalDynamoDb
from ...dynamodb.errors import CancellationReason, DynamoDbError, validation
from ...dynamodb.expressions import Bindings, holds
from ...dynamodb.partiql import (
    NO_KEY,
    Placeholders,
    Plan,
    Select,
    Statement,
    Update,
    parse_statement,
    plan_statement,
)
from ...dynamodb.partiql.messages import reworded
from ...dynamodb.partiql.nodes import Delete, Exists, Insert, Path
from ...dynamodb.schema import TableSpec
from ...dynamodb.values import check_value, from_storage, to_storage
from ..context import Context, Operations
from ..errors import AwsError

__all__ = ["register"]

MAX_BATCH = 25
MAX_TRANSACTION = 100
MAX_STATEMENT = 8192
"""The longest statement, in characters (the service model's PartiQLStatement: 1 to 8192)."""
# AWS's words for EXISTS outside a transaction are unrecorded; the ql-functions reference says
# "This function can only be used in transactional operations".
_EXISTS_OUTSIDE = "EXISTS can only be used in transactional operations"
DUPLICATE = "Duplicate primary key exists in table"
_BATCH_KEY = "Select statements within BatchExecuteStatement must specify the primary key in the where clause."

EngineOf = Callable[[Context], LocalDynamoDb]
ErrorOf = Callable[[DynamoDbError, str], AwsError]


def register(operations: Operations, engine_of: EngineOf, error_of: ErrorOf) -> None:
    """Serve the three PartiQL operations on ``operations``, over the engine ``engine_of`` gives."""

    def serve(name: str, run: Callable[[LocalDynamoDb, dict[str, Any]], dict[str, Any]]) -> None:
        def handler(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
            try:
                return run(engine_of(ctx), params)
            except DynamoDbError as exc:
                raise error_of(exc, name) from None

        handler.__name__ = handler.__qualname__ = name
        operations(name)(handler)

    serve("ExecuteStatement", execute_statement)
    serve("BatchExecuteStatement", batch_execute_statement)
    serve("ExecuteTransaction", execute_transaction)


# -- shared --------------------------------------------------------------------------------


def _statement(params: Mapping[str, Any], member: str) -> str:
    """The request's statement, its length checked first (as the service model's constraint is)."""
    text = params.get("Statement")
    if text is None:
        raise validation(f"1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null")
    text = str(text)
    if not text:
        raise validation(
            f"1 validation error detected: Value '' at '{member}' failed to satisfy constraint:"
            " Member must have length greater than or equal to 1"
        )
    if len(text) > MAX_STATEMENT:
        raise validation(
            f"1 validation error detected: Value '{text}' at '{member}' failed to satisfy constraint:"
            f" Member must have length less than or equal to {MAX_STATEMENT}"
        )
    return text


def _parameters(params: Mapping[str, Any], member: str) -> list[dict[str, Any]]:
    """The request's parameters, each checked as any AttributeValue of a request is (exactly one type, valid)."""
    given = params.get("Parameters")
    if given is None:
        return []
    if not given:
        raise validation(
            f"1 validation error detected: Value '[]' at '{member}' failed to satisfy constraint:"
            " Member must have length greater than or equal to 1"
        )
    return [check_value(p) for p in given]


def _spec(engine: LocalDynamoDb, table: str) -> TableSpec:
    return engine.catalog.must(engine.db.connection(), table)


def _run(engine: LocalDynamoDb, plan: Plan) -> dict[str, Any]:
    """The native operation's answer; an INSERT that finds its item is DynamoDB's DuplicateItemException."""
    method: Callable[[Mapping[str, Any]], dict[str, Any]] = {
        "Query": engine.query,
        "Scan": engine.scan,
        "PutItem": engine.put_item,
        "UpdateItem": engine.update_item,
        "DeleteItem": engine.delete_item,
    }[plan.operation]
    try:
        return method(plan.request)
    except DynamoDbError as exc:
        if plan.operation == "PutItem" and exc.code == "ConditionalCheckFailedException":
            raise DynamoDbError("DuplicateItemException", DUPLICATE) from None
        raise reworded(exc) from None


def _lookup(item: Mapping[str, Any], path: Path) -> Any:
    value: Any = {"M": item}
    for element in path.elements:
        if isinstance(element, int):
            members = value.get("L") if isinstance(value, Mapping) else None
            value = members[element] if members is not None and element < len(members) else None
        else:
            members = value.get("M") if isinstance(value, Mapping) else None
            value = members.get(element) if members is not None else None
        if value is None:
            return None
    return value


def _projected(item: Mapping[str, Any], paths: Sequence[Path] | None) -> dict[str, Any]:
    """A SELECT's item: all of it for ``*``; else each path's value under the path's last name (PartiQL's column name)."""
    if paths is None:
        return dict(item)
    chosen: dict[str, Any] = {}
    for path in paths:
        value = _lookup(item, path)
        if value is not None:
            column = next((e for e in reversed(path.elements) if isinstance(e, str)), str(path.elements[0]))
            chosen[column] = value
    return chosen


def _capacity_request(params: Mapping[str, Any]) -> dict[str, Any]:
    wanted = params.get("ReturnConsumedCapacity")
    return {"ReturnConsumedCapacity": wanted} if wanted else {}


def _merged(found: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """ConsumedCapacity of many calls, one entry per table with the units summed."""
    tables: dict[str, dict[str, Any]] = {}
    for entry in found:
        total = tables.setdefault(str(entry["TableName"]), {"TableName": entry["TableName"]})
        _add(total, entry)
    return list(tables.values())


def _add(total: dict[str, Any], entry: Mapping[str, Any]) -> None:
    for member, value in entry.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            total[member] = total.get(member, 0) + value
        elif isinstance(value, Mapping):
            _add(total.setdefault(member, {}), value)


# -- ExecuteStatement ------------------------------------------------------------------------


def execute_statement(engine: LocalDynamoDb, params: dict[str, Any]) -> dict[str, Any]:
    text = _statement(params, "statement")
    parameters = _parameters(params, "parameters")
    statement = parse_statement(text)
    if isinstance(statement, Exists):
        raise validation(_EXISTS_OUTSIDE)
    token = params.get("NextToken")
    if token is not None and not isinstance(statement, Select):
        raise validation("NextToken is only valid on a SELECT statement")
    spec = _spec(engine, statement.table)
    plan = plan_statement(statement, spec, parameters, consistent=bool(params.get("ConsistentRead")))
    plan.request.update(_capacity_request(params))
    if isinstance(statement, Select):
        return _select_page(engine, plan, params, _fingerprint(text, parameters))
    if params.get("ReturnValuesOnConditionCheckFailure") and not isinstance(statement, Insert):
        plan.request["ReturnValuesOnConditionCheckFailure"] = params["ReturnValuesOnConditionCheckFailure"]
    answer = _run(engine, plan)
    response: dict[str, Any] = {"Items": [answer["Attributes"]] if answer.get("Attributes") else []}
    if "ConsumedCapacity" in answer:
        response["ConsumedCapacity"] = answer["ConsumedCapacity"]
    return response


def _select_page(engine: LocalDynamoDb, plan: Plan, params: Mapping[str, Any], fingerprint: str) -> dict[str, Any]:
    limit = params.get("Limit")
    start: dict[str, Any] | None = None
    partition = 0
    if params.get("NextToken") is not None:
        start, partition = _start_key(str(params["NextToken"]), fingerprint)
    partitions: list[dict[str, Any] | None] = list(plan.partitions) if plan.partitions else [None]
    if partition >= len(partitions):
        raise validation("Invalid NextToken")
    items: list[dict[str, Any]] = []
    used: list[dict[str, Any]] = []
    token: str | None = None
    last: dict[str, Any] | None = None
    # Listed partition keys are read by one Query each, one after another; a page that a
    # Limit or 1 MB stops resumes in the partition it stopped in.
    while partition < len(partitions):
        value = partitions[partition]
        request = dict(plan.request)
        if value is not None:
            request["ExpressionAttributeValues"] = {**request["ExpressionAttributeValues"], plan.partition_value: value}
        if limit is not None:
            request["Limit"] = limit - len(items) if value is not None else limit
        if start is not None:
            request["ExclusiveStartKey"] = start
        answer = _run(engine, dataclasses.replace(plan, request=request))
        items.extend(answer.get("Items", []))
        if "ConsumedCapacity" in answer:
            used.append(answer["ConsumedCapacity"])
        last = answer.get("LastEvaluatedKey") or None
        if last:
            token = _token(last, fingerprint, partition if value is not None else None)
            break
        partition, start = partition + 1, None
        if limit is not None and len(items) >= limit and partition < len(partitions):
            token = _token(None, fingerprint, partition)
            break
    response: dict[str, Any] = {"Items": [_projected(item, plan.projection) for item in items]}
    if token is not None:
        response["NextToken"] = token
    if last:
        response["LastEvaluatedKey"] = last
    if used:
        response["ConsumedCapacity"] = used[0] if len(used) == 1 else _merged(used)[0]
    return response


def _fingerprint(text: str, parameters: Sequence[Mapping[str, Any]]) -> str:
    shown = json.dumps([text, [to_storage(dict(p)) for p in parameters]], sort_keys=True, default=str)
    return hashlib.sha256(shown.encode("utf-8")).hexdigest()[:16]


def _token(key: Mapping[str, Any] | None, fingerprint: str, partition: int | None = None) -> str:
    """A NextToken: the key a page stopped after, and for listed partition keys which one it stopped in."""
    body: dict[str, Any] = {"k": {name: to_storage(value) for name, value in (key or {}).items()}, "f": fingerprint}
    if partition is not None:
        body["p"] = partition
    return base64.urlsafe_b64encode(json.dumps(body, sort_keys=True).encode("utf-8")).decode("ascii")


def _start_key(token: str, fingerprint: str) -> tuple[dict[str, Any] | None, int]:
    """The key a NextToken resumes after (None: from the partition's start) and the partition it resumes in.

    A token of another statement (or parameters) is refused.
    """
    try:
        body = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        key = {str(name): from_storage(value) for name, value in body["k"].items()}
        given = body["f"]
        partition = body.get("p", 0)
        listed = "p" in body
        if not isinstance(partition, int) or isinstance(partition, bool) or partition < 0:
            raise ValueError(partition)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        raise validation("Invalid NextToken") from None
    if given != fingerprint:
        raise validation("NextToken does not match request")
    # A listed partition's token may resume at the partition's start (no key).
    return (key or None) if listed else key, partition


# -- BatchExecuteStatement -------------------------------------------------------------------

_BATCH_CODES = {
    "ConditionalCheckFailedException": "ConditionalCheckFailed",
    "DuplicateItemException": "DuplicateItem",
    "ResourceNotFoundException": "ResourceNotFound",
    "ValidationException": "ValidationError",
    "ItemCollectionSizeLimitExceededException": "ItemCollectionSizeLimitExceeded",
    "ProvisionedThroughputExceededException": "ProvisionedThroughputExceeded",
    "TransactionConflictException": "TransactionConflict",
    "RequestLimitExceeded": "RequestLimitExceeded",
    "ThrottlingException": "ThrottlingError",
}


def _failure(exc: DynamoDbError, table: str | None = None) -> dict[str, Any]:
    """A batch member's Error; DynamoDB names the table of a statement that ran and failed, not of one refused before it ran."""
    code = _BATCH_CODES.get(exc.code, "InternalServerError")
    error: dict[str, Any] = {"Code": code, "Message": exc.message_for("BatchExecuteStatement")}
    if exc.item is not None:
        error["Item"] = exc.item
    response: dict[str, Any] = {"Error": error}
    if table is not None and code != "ValidationError":
        response["TableName"] = table
    return response


def batch_execute_statement(engine: LocalDynamoDb, params: dict[str, Any]) -> dict[str, Any]:
    members = params.get("Statements") or []
    if not members:
        raise validation(
            "1 validation error detected: Value '[]' at 'statements' failed to satisfy constraint:"
            " Member must have length greater than or equal to 1"
        )
    if len(members) > MAX_BATCH:
        raise validation(
            "1 validation error detected: Value at 'statements' failed to satisfy constraint:"
            f" Member must have length less than or equal to {MAX_BATCH}"
        )
    parsed: list[Statement | DynamoDbError] = []
    bound: list[list[dict[str, Any]]] = []
    for position, member in enumerate(members, start=1):
        # A member's text and parameters are checked with the request, as its shape's
        # constraints are (the whole batch is refused); its statement fails on its own.
        text = _statement(member, f"statements.{position}.member.statement")
        bound.append(_parameters(member, f"statements.{position}.member.parameters"))
        try:
            statement = parse_statement(text)
            if isinstance(statement, Exists):
                raise validation(_EXISTS_OUTSIDE)
            parsed.append(statement)
        except DynamoDbError as exc:
            parsed.append(exc)  # the member fails on its own; the others run
    statements = [s for s in parsed if not isinstance(s, DynamoDbError)]
    reads = sum(isinstance(s, Select) for s in statements)
    if 0 < reads < len(statements):
        raise validation("Read and write requests together in the same batch is not supported.")
    planned: list[Plan | dict[str, Any]] = []
    for member, outcome, parameters in zip(members, parsed, bound, strict=True):
        planned.append(_batch_plan(engine, member, outcome, parameters))
    targets = [(p.table, json.dumps(to_storage({"M": p.key}), sort_keys=True)) for p in planned if isinstance(p, Plan) and p.key]
    if len(set(targets)) != len(targets):
        raise validation("Provided list of item keys contains duplicates")
    responses: list[dict[str, Any]] = []
    used: list[dict[str, Any]] = []
    for plan in planned:
        if not isinstance(plan, Plan):
            responses.append(plan)
            continue
        plan.request.update(_capacity_request(params))
        try:
            answer = _run(engine, plan)
        except DynamoDbError as exc:
            responses.append(_failure(exc, plan.table))
            continue
        if "ConsumedCapacity" in answer:
            used.append(answer["ConsumedCapacity"])
        response: dict[str, Any] = {"TableName": plan.table}
        if plan.operation == "Query":
            items = answer.get("Items") or []
            if items:
                response["Item"] = _projected(items[0], plan.projection)
        elif answer.get("Attributes"):
            response["Item"] = answer["Attributes"]
        responses.append(response)
    result: dict[str, Any] = {"Responses": responses}
    if used:
        result["ConsumedCapacity"] = _merged(used)
    return result


def _batch_plan(
    engine: LocalDynamoDb, member: Mapping[str, Any], statement: Statement | DynamoDbError, parameters: list[dict[str, Any]]
) -> Plan | dict[str, Any]:
    """A member's plan, or its Error response when it cannot run."""
    if isinstance(statement, DynamoDbError):
        return _failure(statement)
    try:
        spec = _spec(engine, statement.table)
        plan = plan_statement(statement, spec, parameters, consistent=bool(member.get("ConsistentRead")))
    except DynamoDbError as exc:
        return _failure(exc, statement.table)
    if isinstance(statement, Select) and (not plan.keyed_read or plan.operation != "Query"):
        return _failure(validation(_BATCH_KEY))
    if member.get("ReturnValuesOnConditionCheckFailure") and not isinstance(statement, Select | Insert):
        plan.request["ReturnValuesOnConditionCheckFailure"] = member["ReturnValuesOnConditionCheckFailure"]
    return plan


# -- ExecuteTransaction ----------------------------------------------------------------------

_TRANSACT_KINDS = {"PutItem": "Put", "UpdateItem": "Update", "DeleteItem": "Delete", "ConditionCheck": "ConditionCheck"}


def execute_transaction(engine: LocalDynamoDb, params: dict[str, Any]) -> dict[str, Any]:
    members = params.get("TransactStatements") or []
    if not members:
        raise validation(
            "1 validation error detected: Value '[]' at 'transactStatements' failed to satisfy constraint:"
            " Member must have length greater than or equal to 1"
        )
    if len(members) > MAX_TRANSACTION:
        raise validation(
            "1 validation error detected: Value at 'transactStatements' failed to satisfy constraint:"
            f" Member must have length less than or equal to {MAX_TRANSACTION}"
        )
    statements: list[Statement] = []
    bound: list[list[dict[str, Any]]] = []
    for position, member in enumerate(members):
        text = _statement(member, f"transactStatements.{position + 1}.member.statement")
        bound.append(_parameters(member, f"transactStatements.{position + 1}.member.parameters"))
        statement = parse_statement(text)
        if isinstance(statement, Update | Delete) and statement.returning is not None:
            raise validation(
                f"Validation failed in TransactStatements[{position}]: RETURNING clause is not supported in ExecuteTransaction."
            )
        read = statement.select if isinstance(statement, Exists) else statement
        if isinstance(read, Select) and read.index is not None:
            raise validation(
                f"Validation failed in TransactStatements[{position}]: Reads on indices are not supported within transactions."
            )
        statements.append(statement)
    reads = sum(isinstance(s, Select) for s in statements)
    if 0 < reads < len(statements):
        raise validation("ExecuteTransaction API does not support both read and write operations in the same request.")
    plans = [
        plan_statement(statement, _spec(engine, statement.table), parameters)
        for statement, parameters in zip(statements, bound, strict=True)
    ]
    if reads:
        return _transact_reads(engine, plans, params)
    return _transact_writes(engine, plans, statements, members, params)


def _transact_reads(engine: LocalDynamoDb, plans: Sequence[Plan], params: Mapping[str, Any]) -> dict[str, Any]:
    if any(not plan.keyed_read for plan in plans):
        raise validation(NO_KEY)
    request: dict[str, Any] = {"TransactItems": [{"Get": {"TableName": p.table, "Key": p.key}} for p in plans]}
    request.update(_capacity_request(params))
    answer = engine.transact_get_items(request)
    responses: list[dict[str, Any]] = []
    for plan, found in zip(plans, answer["Responses"], strict=True):
        item = found.get("Item")
        if item is not None and plan.remainder is not None and not _holds(plan, item):
            item = None
        responses.append({"Item": _projected(item, plan.projection)} if item is not None else {})
    result: dict[str, Any] = {"Responses": responses}
    if "ConsumedCapacity" in answer:
        result["ConsumedCapacity"] = answer["ConsumedCapacity"]
    return result


def _holds(plan: Plan, item: Mapping[str, Any]) -> bool:
    """Whether a transaction read's item meets the WHERE's conditions beyond its key (a Get has no filter)."""
    assert plan.remainder is not None
    holders = Placeholders(plan.parameters)
    text = holders.condition(plan.remainder)
    condition = Bindings(holders.names or None, holders.values or None).condition(text, "FilterExpression")
    return holds(condition, item)


def _transact_writes(
    engine: LocalDynamoDb,
    plans: Sequence[Plan],
    statements: Sequence[Statement],
    members: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for plan, member in zip(plans, members, strict=True):
        action = {k: v for k, v in plan.request.items() if k != "ReturnValues"}
        if member.get("ReturnValuesOnConditionCheckFailure"):
            action["ReturnValuesOnConditionCheckFailure"] = member["ReturnValuesOnConditionCheckFailure"]
        items.append({_TRANSACT_KINDS[plan.operation]: action})
    request: dict[str, Any] = {"TransactItems": items}
    if params.get("ClientRequestToken"):
        request["ClientRequestToken"] = params["ClientRequestToken"]
    request.update(_capacity_request(params))
    try:
        answer = engine.transact_write_items(request)
    except DynamoDbError as exc:
        if exc.code != "TransactionCanceledException":
            raise reworded(exc) from None
        raise _cancelled(exc, statements) from None
    # DynamoDB answers a write transaction with an empty Responses list.
    result: dict[str, Any] = {"Responses": []}
    if "ConsumedCapacity" in answer:
        result["ConsumedCapacity"] = answer["ConsumedCapacity"]
    return result


def _cancelled(exc: DynamoDbError, statements: Sequence[Statement]) -> DynamoDbError:
    """The cancellation as PartiQL words it: an INSERT over an item is a DuplicateItem, not a failed condition."""
    reasons = [
        CancellationReason("DuplicateItem", DUPLICATE) if isinstance(s, Insert) and r.code == "ConditionalCheckFailed" else r
        for s, r in zip(statements, exc.reasons, strict=True)
    ]
    codes = ", ".join(r.code for r in reasons)
    return DynamoDbError(
        "TransactionCanceledException",
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        reasons=reasons,
    )
