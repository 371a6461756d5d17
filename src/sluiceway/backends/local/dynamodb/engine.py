"""DynamoDB on the data dir's SQLite database: tables, items, queries, batches and transactions.

One storage
-----------
Every table lives in the same SQLite file as the rest of the data dir: its
definition in ``dynamodb_tables``, its items in ``items`` (DynamoDB JSON bodies, keys
as order-preserving text) and its index entries in ``item_index``. The pipeline's
metadata table is one of these tables: :class:`~sluiceway.backends.local.tables.SqliteTable`
is a client of this engine, turning the port's plain JSON into DynamoDB requests
exactly as :class:`~sluiceway.backends.aws.tables.DynamoTable` does with boto3.
So ``aws dynamodb query`` on the pipeline's table sees what a run wrote, an item
put through the endpoint is what the pipeline reads, and conditions, indexes and
limits behave the same whichever side writes. One engine rather than two stores
kept in step: nothing to synchronise, and one set of DynamoDB rules.

Requests and answers are the operations' shapes (botocore's member names; values
as ``{"S": ...}`` with bytes for binaries). Every write checks its condition and
writes in one ``BEGIN IMMEDIATE`` transaction, so two writers with conditions never
both win; a transaction's actions commit together or not at all. The stream record of
each change is written in the same transaction (:mod:`.streams`), so a table's stream
holds exactly the changes that committed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ....dynamodb.errors import (
    CancellationReason,
    DynamoDbError,
    conditional_check_failed,
    resource_in_use,
    resource_not_found,
    validation,
)
from ....dynamodb.expressions import apply_update, holds, project, updated_paths
from ....dynamodb.items import check_index_keys, check_key, check_new_item, check_size
from ....dynamodb.schema import (
    ON_DEMAND_WARM_READS,
    ON_DEMAND_WARM_WRITES,
    TableSpec,
    check_warm_throughput,
    index_from_request,
    table_from_request,
    table_reference,
)
from ....dynamodb.values import Item, item_size
from ....ports import Clock
from .._sqlite import Database
from .capacity import Consumption, capacity_mode, read_units, write_units
from .catalog import TableCatalog
from .continuous_backups import ContinuousBackups
from .item_collections import collection_metrics, wants_metrics
from .reads import Reader
from .requests import Expressions
from .store import ItemStore, row_key
from .stream_records import VIEW_TYPES
from .streams import StreamLog

logger = logging.getLogger(__name__)

__all__ = ["LocalDynamoDb"]

MAX_BATCH_WRITE = 25
MAX_BATCH_GET = 100
MAX_TRANSACTION = 100
MAX_BATCH_GET_BYTES = 16 * 1024 * 1024
"""A BatchGetItem answer holds this much at most; the keys past it are UnprocessedKeys."""


class LocalDynamoDb:
    """DynamoDB's operations over one data dir's database.

    Each method takes an operation's request members and returns its response
    members; a refusal is a :class:`~sluiceway.dynamodb.errors.DynamoDbError` with
    DynamoDB's code and message.
    """

    def __init__(self, db: Database, clock: Clock, *, region: str, account_id: str) -> None:
        self.db = db
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.catalog = TableCatalog()
        self.store = ItemStore()
        self.reader = Reader(db, self.catalog, self.store)
        self.streams = StreamLog(db, clock, region=region, account_id=account_id)
        self.backups = ContinuousBackups(db, self.catalog, clock)

    def arn(self, table: str) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{table}"

    def _describe(self, spec: TableSpec, status: str = "ACTIVE") -> dict[str, Any]:
        conn = self.db.connection()
        count, size = self.store.counts(conn, spec.name)
        description = spec.describe(
            arn=self.arn(spec.name),
            status=status,
            item_count=count,
            size_bytes=size,
            index_counts=self.store.index_counts(conn, spec.name),
        )
        # The stream members come from the stream itself: a stream enabled by UpdateTable is
        # labelled with that time, and a disabled stream's ARN and label stay on the table
        # while StreamSpecification goes (what DescribeTable answers on AWS).
        for member in ("StreamSpecification", "LatestStreamArn", "LatestStreamLabel"):
            description.pop(member, None)
        latest = self.streams.latest(conn, spec)
        if latest is None and spec.stream and spec.stream.get("StreamEnabled"):
            with self.db.transaction() as writing:
                latest = self.streams.ensure(writing, spec)
        if latest is not None:
            if latest.enabled:
                description["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": latest.view_type}
            description["LatestStreamLabel"] = latest.label
            description["LatestStreamArn"] = latest.arn
        if status == "CREATING":
            # A table being created has not had its billing mode changed yet, and no warm throughput.
            if "BillingModeSummary" in description:
                description["BillingModeSummary"] = {"BillingMode": spec.billing_mode}
        else:
            description["WarmThroughput"] = _warm_throughput(spec.billing_mode, spec.throughput, spec.warm)
            for shape, index in zip(description.get("GlobalSecondaryIndexes", []), [i for i in spec.indexes if i.is_global], strict=True):
                shape["WarmThroughput"] = _warm_throughput(spec.billing_mode, index.throughput or {}, index.warm)
        return description

    # -- tables ---------------------------------------------------------------------------

    def create_table(self, request: Mapping[str, Any]) -> dict[str, Any]:
        spec = table_from_request(request, created=self.clock.now().timestamp(), table_id=str(uuid.uuid4()))
        with self.db.transaction() as conn:
            if self.catalog.get(conn, spec.name) is not None:
                raise resource_in_use(f"Table already exists: {spec.name}")
            self.catalog.put(conn, spec)
            self.streams.ensure(conn, spec)
        logger.info("dynamodb table created", extra={"table": spec.name})
        # AWS answers CREATING and is ACTIVE moments later; here it is ACTIVE at once
        # (DescribeTable and waiters see ACTIVE).
        return {"TableDescription": self._describe(spec, "CREATING")}

    def ensure_table(self, spec: TableSpec) -> TableSpec:
        """Create ``spec``'s table unless a table of that name exists; return the table as it is."""
        conn = self.db.connection()
        existing = self.catalog.get(conn, spec.name)
        if existing is not None:
            return existing
        with self.db.transaction() as conn:
            existing = self.catalog.get(conn, spec.name)
            if existing is not None:
                return existing
            self.catalog.put(conn, spec)
            self.streams.ensure(conn, spec)
        return spec

    def describe_table(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = _table_name(request)
        spec = self.catalog.must(self.db.connection(), name, describe=True)
        return {"Table": self._describe(spec)}

    def list_tables(self, request: Mapping[str, Any]) -> dict[str, Any]:
        limit = request.get("Limit", 100)
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            bound = "less than or equal to 100" if isinstance(limit, int) and limit > 100 else "greater than or equal to 1"
            raise validation(
                f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value {bound}"
            )
        names = self.catalog.names(self.db.connection(), request.get("ExclusiveStartTableName"), limit + 1)
        response: dict[str, Any] = {"TableNames": names[:limit]}
        if len(names) > limit:
            response["LastEvaluatedTableName"] = names[limit - 1]
        return response

    def delete_table(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = _table_name(request)
        spec = self.catalog.must(self.db.connection(), name, describe=True)
        if spec.deletion_protection:
            raise validation("Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.")
        # DeleteTable describes the table in brief: no key schema, attributes or indexes.
        full = self._describe(spec, "DELETING")
        description = {member: full[member] for member in _DELETED_MEMBERS if member in full}
        with self.db.transaction() as conn:
            self.catalog.must(conn, name)
            self.streams.disable(conn, name)  # readable for 24 hours more, as AWS keeps it
            self.store.drop_table(conn, name)
            self.catalog.delete(conn, name)
        logger.info("dynamodb table deleted", extra={"table": name})
        return {"TableDescription": description}

    def update_table(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = _table_name(request)
        with self.db.transaction() as conn:
            spec = self.catalog.must(conn, name)
            attributes = dict(spec.attributes)
            for definition in request.get("AttributeDefinitions") or []:
                attributes[definition["AttributeName"]] = definition["AttributeType"]
            indexes = list(spec.indexes)
            billing = request.get("BillingMode") or spec.billing_mode
            updates = request.get("GlobalSecondaryIndexUpdates") or []
            if sum(1 for u in updates if "Create" in u or "Delete" in u) > 1:
                raise DynamoDbError(
                    "LimitExceededException",
                    "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table",
                )
            for update in updates:
                if "Create" in update:
                    index = index_from_request(update["Create"], attributes, is_global=True, billing=billing)
                    if spec.index(index.name) is not None:
                        raise validation("Attempting to create an index which already exists")
                    missing = [a.name for a in index.key if a.name not in attributes]
                    if missing:
                        raise validation(
                            "One or more parameter values were invalid: Some index key attributes are not defined in"
                            f" AttributeDefinitions. Keys: [{', '.join(missing)}], AttributeDefinitions: [{', '.join(attributes)}]"
                        )
                    indexes.append(index)
                    new = spec.with_indexes(indexes, attributes)
                    self.store.build_index(conn, new, index)
                elif "Delete" in update:
                    index_name = update["Delete"].get("IndexName")
                    if spec.index(index_name) is None or not spec.index(index_name).is_global:  # type: ignore[union-attr]
                        raise resource_not_found(f"Requested resource not found: Index: {index_name} not found")
                    indexes = [i for i in indexes if i.name != index_name]
                    self.store.drop_index(conn, name, index_name)
                elif "Update" in update:
                    index_name = update["Update"].get("IndexName")
                    current = spec.index(index_name)
                    if current is None:
                        raise resource_not_found(f"Requested resource not found: Index: {index_name} not found")
                    changed = current
                    if update["Update"].get("ProvisionedThroughput"):
                        changed = replace(changed, throughput=dict(update["Update"]["ProvisionedThroughput"]))
                    if update["Update"].get("WarmThroughput"):
                        warm = check_warm_throughput(update["Update"]["WarmThroughput"], changed.throughput, f"index {index_name}")
                        changed = replace(changed, warm=warm)
                    indexes = [changed if i.name == index_name else i for i in indexes]
            # Attribute definitions are those the key schemas use, as CreateTable requires.
            used = {a.name for a in spec.key} | {a.name for i in indexes for a in i.key}
            attributes = {n: t for n, t in attributes.items() if n in used}
            new = spec.with_indexes(indexes, attributes)
            changes: dict[str, Any] = {"billing_mode": billing}
            if request.get("ProvisionedThroughput"):
                changes["throughput"] = dict(request["ProvisionedThroughput"])
            if billing == "PAY_PER_REQUEST":
                changes["throughput"] = {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
            if request.get("StreamSpecification") is not None:
                changes["stream"] = self._update_stream(conn, spec, request["StreamSpecification"])
            if request.get("DeletionProtectionEnabled") is not None:
                changes["deletion_protection"] = bool(request["DeletionProtectionEnabled"])
            if request.get("WarmThroughput"):
                provisioned = changes.get("throughput", spec.throughput) if billing == "PROVISIONED" else None
                changes["warm"] = check_warm_throughput(request["WarmThroughput"], provisioned, "table")
            if request.get("SSESpecification") is not None:
                changes["sse"] = dict(request["SSESpecification"])
            new = replace(new, **changes)
            self.catalog.put(conn, new)
        return {"TableDescription": self._describe(new, "UPDATING")}

    def _update_stream(self, conn: Any, spec: TableSpec, wanted: Mapping[str, Any]) -> dict[str, Any] | None:
        """Enable or disable the table's stream as UpdateTable asks; the table's new stream setting.

        A stream's view type cannot change in place: AWS refuses to enable a stream while one
        is enabled (whatever its view type), so a new view type is a disable, then an enable,
        and the new stream has a new ARN.
        """
        current = self.streams.ensure(conn, spec)
        view_type = wanted.get("StreamViewType")
        if wanted.get("StreamEnabled"):
            if current is not None:
                raise validation(f"Table already has an enabled stream: TableName: {spec.name}")
            if view_type is None:
                raise validation("One or more parameter values were invalid: If stream is being enabled then UpdateViewType is required")
            if view_type not in VIEW_TYPES:
                raise validation(
                    f"1 validation error detected: Value '{view_type}' at 'streamSpecification.streamViewType' failed to satisfy"
                    " constraint: Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY]"
                )
            self.streams.enable(conn, spec, str(view_type))
            return {"StreamEnabled": True, "StreamViewType": view_type}
        if view_type is not None:
            raise validation(
                "One or more parameter values were invalid: If stream is being disabled, then UpdateViewType must not be specified"
            )
        if current is None:
            raise validation(f"Table has no stream to disable: TableName: {spec.name}")
        self.streams.disable(conn, spec.name)
        return None

    def describe_time_to_live(self, request: Mapping[str, Any]) -> dict[str, Any]:
        spec = self.catalog.must(self.db.connection(), _table_name(request))
        ttl = spec.ttl or {}
        if ttl.get("Enabled"):
            return {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": ttl["AttributeName"]}}
        return {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}

    def update_time_to_live(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Store the TTL setting (expired items are not removed: AWS too removes them only eventually)."""
        wanted = request.get("TimeToLiveSpecification") or {}
        enabled = bool(wanted.get("Enabled"))
        attribute = wanted.get("AttributeName")
        if not isinstance(attribute, str) or not attribute:
            raise validation(
                "1 validation error detected: Value null at 'timeToLiveSpecification.attributeName' failed to satisfy constraint:"
                " Member must not be null"
            )
        with self.db.transaction() as conn:
            spec = self.catalog.must(conn, _table_name(request))
            current = spec.ttl or {}
            if enabled and current.get("Enabled"):
                raise validation("TimeToLive is already enabled")
            if not enabled and not current.get("Enabled"):
                raise validation("TimeToLive is already disabled")
            self.catalog.put(conn, replace(spec, ttl={"Enabled": enabled, "AttributeName": attribute}))
        return {"TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": attribute}}

    def describe_continuous_backups(self, request: Mapping[str, Any]) -> dict[str, Any]:
        return self.backups.describe(request)

    def update_continuous_backups(self, request: Mapping[str, Any]) -> dict[str, Any]:
        return self.backups.update(request)

    def describe_limits(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The account's default provisioned-capacity quotas in a Region, as a new AWS account has them."""
        return dict(_DEFAULT_LIMITS)

    # -- tags ---------------------------------------------------------------------------------

    def _tagged(self, conn: Any, request: Mapping[str, Any]) -> TableSpec:
        arn = request.get("ResourceArn")
        if not isinstance(arn, str) or not arn.startswith("arn:"):
            raise validation(f"Invalid TableArn: Invalid ResourceArn provided as input {arn}")
        name = table_reference(arn)
        spec = self.catalog.get(conn, name)
        if spec is None or arn != self.arn(name):
            # AWS's message, its missing "e" included.
            raise resource_not_found(f"Requested resource not found: ResourcArn: {arn} not found")
        return spec

    def tag_resource(self, request: Mapping[str, Any]) -> dict[str, Any]:
        with self.db.transaction() as conn:
            spec = self._tagged(conn, request)
            tags = dict(spec.tags)
            for tag in request.get("Tags") or []:
                tags[str(tag["Key"])] = str(tag["Value"])
            self.catalog.put(conn, replace(spec, tags=tags))
        return {}

    def untag_resource(self, request: Mapping[str, Any]) -> dict[str, Any]:
        with self.db.transaction() as conn:
            spec = self._tagged(conn, request)
            gone = set(request.get("TagKeys") or [])
            self.catalog.put(conn, replace(spec, tags={k: v for k, v in spec.tags.items() if k not in gone}))
        return {}

    def list_tags_of_resource(self, request: Mapping[str, Any]) -> dict[str, Any]:
        spec = self._tagged(self.db.connection(), request)
        return {"Tags": [{"Key": key, "Value": value} for key, value in spec.tags.items()]}

    # -- single items ------------------------------------------------------------------------

    def put_item(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = _table_name(request)
        returns = _return_values(request, ("NONE", "ALL_OLD"))
        mode = capacity_mode(request)
        metrics = wants_metrics(request)
        expressions = Expressions(request, condition=True, projection=False)
        with self.db.transaction() as conn:
            spec = self.catalog.must(conn, name)
            item = check_new_item(spec, request.get("Item"))
            pk, sk = row_key(spec, item)
            old = self.store.get(conn, name, pk, sk)
            self._require(expressions, old, request)
            self.store.put(conn, spec, item)
            self.streams.append(conn, spec, old, item)
            response: dict[str, Any] = {"Attributes": old} if returns == "ALL_OLD" and old else {}
            self._measure(response, conn, spec, item, metrics)
        return _with_capacity(response, mode, spec, old, item)

    def get_item(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = _table_name(request)
        mode = capacity_mode(request)
        expressions = Expressions(request)
        conn = self.db.connection()
        spec = self.catalog.must(conn, name)
        key = check_key(spec, request.get("Key"))
        item = self.store.get(conn, name, *row_key(spec, key))
        response: dict[str, Any] = {}
        if item is not None:
            response["Item"] = project(item, expressions.projection.paths) if expressions.projection is not None else item
        if mode != "NONE":
            used = Consumption(spec.name, read_units(item_size(item or {}), consistent=bool(request.get("ConsistentRead"))))
            response["ConsumedCapacity"] = used.to_wire(mode)
        return response

    def delete_item(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = _table_name(request)
        returns = _return_values(request, ("NONE", "ALL_OLD"))
        mode = capacity_mode(request)
        metrics = wants_metrics(request)
        expressions = Expressions(request, condition=True, projection=False)
        with self.db.transaction() as conn:
            spec = self.catalog.must(conn, name)
            key = check_key(spec, request.get("Key"))
            pk, sk = row_key(spec, key)
            old = self.store.get(conn, name, pk, sk)
            self._require(expressions, old, request)
            if old is not None:
                self.store.delete(conn, spec, pk, sk)
                self.streams.append(conn, spec, old, None)
            response: dict[str, Any] = {"Attributes": old} if returns == "ALL_OLD" and old else {}
            self._measure(response, conn, spec, key, metrics)
        return _with_capacity(response, mode, spec, old, None)

    def update_item(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = _table_name(request)
        returns = _return_values(request, ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"))
        mode = capacity_mode(request)
        metrics = wants_metrics(request)
        expressions = Expressions(request, condition=True, update=True, projection=False)
        with self.db.transaction() as conn:
            spec = self.catalog.must(conn, name)
            key = check_key(spec, request.get("Key"))
            pk, sk = row_key(spec, key)
            old = self.store.get(conn, name, pk, sk)
            self._require(expressions, old, request)
            new = self._updated(spec, expressions, old, key)
            self.store.put(conn, spec, new)
            self.streams.append(conn, spec, old, new)
            response = _returned(returns, expressions, old, new)
            self._measure(response, conn, spec, key, metrics)
        return _with_capacity(response, mode, spec, old, new)

    def _measure(self, response: dict[str, Any], conn: Any, spec: TableSpec, key: Item, wanted: bool) -> None:
        """Add the written item collection's ItemCollectionMetrics when asked (measured inside the write)."""
        measured = collection_metrics(conn, self.store, spec, key) if wanted else None
        if measured is not None:
            response["ItemCollectionMetrics"] = measured

    def _updated(self, spec: TableSpec, expressions: Expressions, old: Item | None, key: Item) -> Item:
        if expressions.update is None:
            # UpdateItem without an expression creates the item with just its key, as DynamoDB does.
            return dict(old) if old is not None else dict(key)
        new = apply_update(expressions.update, old, key, spec.key_names)
        check_index_keys(spec, new, update=True)
        check_size(new, update=True)
        return new

    @staticmethod
    def _require(expressions: Expressions, old: Item | None, request: Mapping[str, Any]) -> None:
        if expressions.condition is not None and not holds(expressions.condition, old):
            wanted = request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
            raise conditional_check_failed(old if wanted and old else None)

    # -- reads of many items ---------------------------------------------------------------

    def query(self, request: Mapping[str, Any]) -> dict[str, Any]:
        return self.reader.query(request)

    def scan(self, request: Mapping[str, Any]) -> dict[str, Any]:
        return self.reader.scan(request)

    # -- batches -----------------------------------------------------------------------------

    def batch_get_item(self, request: Mapping[str, Any]) -> dict[str, Any]:
        tables = request.get("RequestItems") or {}
        mode = capacity_mode(request)
        for reference, wanted in tables.items():
            count = len(wanted.get("Keys") or [])
            if count > MAX_BATCH_GET:
                raise validation(
                    f"1 validation error detected: Value at 'requestItems.{reference}.member.keys' failed to satisfy"
                    f" constraint: Member must have length less than or equal to {MAX_BATCH_GET}"
                )
        total = sum(len(t.get("Keys") or []) for t in tables.values())
        if total > MAX_BATCH_GET:
            raise validation("Too many items requested for the BatchGetItem call")
        if not tables or total == 0:
            raise validation(
                "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint:"
                " Member must have length greater than or equal to 1"
            )
        conn = self.db.connection()
        planned = []
        for reference, wanted in tables.items():
            expressions = Expressions(wanted)
            spec = self.catalog.must(conn, table_reference(reference))
            checked = [check_key(spec, k) for k in wanted.get("Keys") or []]
            seen = [row_key(spec, k) for k in checked]
            if len(set(seen)) != len(seen):
                raise validation("Provided list of item keys contains duplicates")
            planned.append((reference, wanted, spec, expressions, list(zip(checked, seen, strict=True))))
        responses: dict[str, list[Item]] = {}
        unprocessed: dict[str, Any] = {}
        used: list[Consumption] = []
        returned = 0
        full = False
        for reference, wanted, spec, expressions, addressed in planned:
            found = responses.setdefault(reference, [])
            consumption = Consumption(spec.name)
            consistent = bool(wanted.get("ConsistentRead"))
            for position, (_key, (pk, sk)) in enumerate(addressed):
                item = None if full else self.store.get(conn, spec.name, pk, sk)
                size = item_size(item or {})
                if full or (item is not None and returned + size > MAX_BATCH_GET_BYTES):
                    # A response holds 16 MB at most; the keys not read come back to be asked again.
                    full = True
                    rest = {k: v for k, v in wanted.items() if k != "Keys"}
                    unprocessed[reference] = {**rest, "Keys": [k for k, _ in addressed[position:]]}
                    break
                consumption.units += read_units(size, consistent=consistent)
                if item is not None:
                    returned += size
                    found.append(project(item, expressions.projection.paths) if expressions.projection else item)
            used.append(consumption)
        response: dict[str, Any] = {"Responses": responses, "UnprocessedKeys": unprocessed}
        if mode != "NONE":
            response["ConsumedCapacity"] = [c.to_wire(mode) for c in used]
        return response

    def batch_write_item(self, request: Mapping[str, Any]) -> dict[str, Any]:
        tables = request.get("RequestItems") or {}
        mode = capacity_mode(request)
        total = sum(len(entries) for entries in tables.values())
        if total > MAX_BATCH_WRITE:
            raise validation(
                f"1 validation error detected: Value at 'requestItems' failed to satisfy constraint:"
                f" Map value must satisfy constraint: [Member must have length less than or equal to {MAX_BATCH_WRITE},"
                " Member must have length greater than or equal to 1]"
            )
        if total == 0:
            raise validation(
                "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint:"
                " Member must have length greater than or equal to 1"
            )
        used: dict[str, Consumption] = {}
        metrics = wants_metrics(request)
        measured: dict[str, list[dict[str, Any]]] = {}
        with self.db.transaction() as conn:
            writes: list[tuple[TableSpec, str, str, Item | None]] = []
            for reference, entries in tables.items():
                spec = self.catalog.must(conn, table_reference(reference))
                for entry in entries:
                    if len(entry) != 1 or not ({"PutRequest", "DeleteRequest"} & set(entry)):
                        raise validation(
                            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
                        )
                    if "PutRequest" in entry:
                        item = entry["PutRequest"].get("Item")
                        if not isinstance(item, Mapping) or any(name not in item for name in spec.key_names):
                            # BatchWriteItem words a missing key as a Key parameter's mismatch, not as PutItem does.
                            raise validation("The provided key element does not match the schema")
                        item = check_new_item(spec, item)
                        writes.append((spec, *row_key(spec, item), item))
                    else:
                        key = check_key(spec, entry["DeleteRequest"].get("Key"))
                        writes.append((spec, *row_key(spec, key), None))
            addresses = [(spec.name, pk, sk) for spec, pk, sk, _ in writes]
            if len(set(addresses)) != len(addresses):
                raise validation("Provided list of item keys contains duplicates")
            for target, pk, sk, written in writes:
                old = self.store.get(conn, target.name, pk, sk) if _streams(target) or mode != "NONE" else None
                if written is None:
                    self.store.delete(conn, target, pk, sk)
                else:
                    self.store.put(conn, target, written)
                self.streams.append(conn, target, old, written)
                used.setdefault(target.name, Consumption(target.name)).write(target, old, written)
            for reference, entries in tables.items() if metrics else ():
                spec = self.catalog.must(conn, table_reference(reference))
                for entry in entries:
                    keyed = entry["PutRequest"]["Item"] if "PutRequest" in entry else entry["DeleteRequest"]["Key"]
                    found = collection_metrics(conn, self.store, spec, keyed)
                    if found is not None:
                        measured.setdefault(reference, []).append(found)
        response: dict[str, Any] = {"UnprocessedItems": {}}
        if measured:
            response["ItemCollectionMetrics"] = measured
        if mode != "NONE":
            response["ConsumedCapacity"] = [c.to_wire(mode) for c in used.values()]
        return response

    # -- transactions ------------------------------------------------------------------------

    def transact_get_items(self, request: Mapping[str, Any]) -> dict[str, Any]:
        entries = request.get("TransactItems") or []
        _check_transaction_size(entries)
        mode = capacity_mode(request)
        conn = self.db.connection()
        planned = []
        for entry in entries:
            get = entry.get("Get") or {}
            expressions = Expressions(get)
            spec = self.catalog.must(conn, _table_name(get))
            planned.append((spec, row_key(spec, check_key(spec, get.get("Key"))), expressions))
        responses: list[dict[str, Any]] = []
        used: dict[str, Consumption] = {}
        with self.db.transaction() as conn:  # one snapshot for every read
            for spec, (pk, sk), expressions in planned:
                item = self.store.get(conn, spec.name, pk, sk)
                used.setdefault(spec.name, Consumption(spec.name)).units += read_units(item_size(item or {}), consistent=True)
                if item is None:
                    responses.append({})
                else:
                    responses.append({"Item": project(item, expressions.projection.paths) if expressions.projection else item})
        response: dict[str, Any] = {"Responses": responses}
        if mode != "NONE":
            response["ConsumedCapacity"] = [c.to_wire(mode, factor=2.0) for c in used.values()]
        return response

    def transact_write_items(self, request: Mapping[str, Any]) -> dict[str, Any]:
        entries = request.get("TransactItems") or []
        _check_transaction_size(entries)
        mode = capacity_mode(request)
        actions: list[tuple[str, Mapping[str, Any], Expressions]] = []
        for entry in entries:
            kinds = [k for k in ("ConditionCheck", "Put", "Delete", "Update") if entry.get(k) is not None]
            if len(kinds) != 1:
                raise validation("TransactItems can only contain one of Check, Put, Update or Delete")
            kind = kinds[0]
            action = entry[kind]
            _table_name(action)
            if kind == "ConditionCheck" and not action.get("ConditionExpression"):
                raise validation(
                    "1 validation error detected: Value null at 'transactItems.1.member.conditionCheck.conditionExpression'"
                    " failed to satisfy constraint: Member must not be null"
                )
            expressions = Expressions(action, condition=True, update=kind == "Update", projection=False)
            actions.append((kind, action, expressions))
        with self.db.transaction() as conn:
            plans: list[tuple[str, TableSpec, str, str, Item | None, Item | None, Mapping[str, Any], Expressions]] = []
            for kind, action, expressions in actions:
                spec = self.catalog.must(conn, _table_name(action))
                if kind == "Put":
                    item: Item | None = check_new_item(spec, action.get("Item"))
                    assert item is not None
                    pk, sk = row_key(spec, item)
                else:
                    key = check_key(spec, action.get("Key"))
                    pk, sk = row_key(spec, key)
                    item = key
                plans.append((kind, spec, pk, sk, item, self.store.get(conn, spec.name, pk, sk), action, expressions))
            addresses = [(spec.name, pk, sk) for _, spec, pk, sk, *_ in plans]
            if len(set(addresses)) != len(addresses):
                raise validation("Transaction request cannot include multiple operations on one item")
            reasons: list[CancellationReason] = []
            results: list[Item | None] = []
            for kind, spec, _pk, _sk, item, old, action, expressions in plans:
                reason = CancellationReason()
                result: Item | None = None
                try:
                    if expressions.condition is not None and not holds(expressions.condition, old):
                        wanted = action.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                        reason = CancellationReason(
                            "ConditionalCheckFailed", "The conditional request failed", old if wanted and old else None
                        )
                    elif kind == "Put":
                        result = item
                    elif kind == "Update":
                        assert item is not None
                        result = self._updated(spec, expressions, old, item)
                except DynamoDbError as exc:
                    reason = CancellationReason("ValidationError", exc.message)
                reasons.append(reason)
                results.append(result)
            if any(r.code != "None" for r in reasons):
                codes = ", ".join(r.code for r in reasons)
                raise DynamoDbError(
                    "TransactionCanceledException",
                    f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
                    reasons=reasons,
                )
            used: dict[str, Consumption] = {}
            for (kind, spec, pk, sk, _item, old, _action, _expressions), result in zip(plans, results, strict=True):
                consumption = used.setdefault(spec.name, Consumption(spec.name))
                if kind == "Delete" and old is not None:
                    self.store.delete(conn, spec, pk, sk)
                    self.streams.append(conn, spec, old, None)
                elif kind in ("Put", "Update") and result is not None:
                    self.store.put(conn, spec, result)
                    self.streams.append(conn, spec, old, result)
                if kind == "ConditionCheck":
                    consumption.units += write_units(item_size(old or {}))
                else:
                    consumption.write(spec, old, result)
        if mode == "NONE":
            return {}
        return {"ConsumedCapacity": [c.to_wire(mode, factor=2.0) for c in used.values()]}


_DEFAULT_LIMITS = {
    "AccountMaxReadCapacityUnits": 80000,
    "AccountMaxWriteCapacityUnits": 80000,
    "TableMaxReadCapacityUnits": 40000,
    "TableMaxWriteCapacityUnits": 40000,
}

_DELETED_MEMBERS = (
    "TableName",
    "TableStatus",
    "ProvisionedThroughput",
    "TableSizeBytes",
    "ItemCount",
    "TableArn",
    "TableId",
    "BillingModeSummary",
    "DeletionProtectionEnabled",
)


def _warm_throughput(billing: str, throughput: Mapping[str, int], warm: Mapping[str, int] | None) -> dict[str, Any]:
    """The throughput a table or index can take at once: as warmed, else its provisioned units or on-demand's initial warmth."""
    if warm:
        reads, writes = int(warm["ReadUnitsPerSecond"]), int(warm["WriteUnitsPerSecond"])
    elif billing == "PAY_PER_REQUEST":
        reads, writes = ON_DEMAND_WARM_READS, ON_DEMAND_WARM_WRITES
    else:
        reads, writes = int(throughput.get("ReadCapacityUnits", 0)), int(throughput.get("WriteCapacityUnits", 0))
    return {"ReadUnitsPerSecond": reads, "WriteUnitsPerSecond": writes, "Status": "ACTIVE"}


def _with_capacity(response: dict[str, Any], mode: str, spec: TableSpec, old: Item | None, new: Item | None) -> dict[str, Any]:
    """``response`` with the ConsumedCapacity of one write of ``new`` over ``old``, when asked for."""
    if mode != "NONE":
        used = Consumption(spec.name)
        used.write(spec, old, new)
        response["ConsumedCapacity"] = used.to_wire(mode)
    return response


def _streams(spec: TableSpec) -> bool:
    return bool(spec.stream and spec.stream.get("StreamEnabled"))


def _table_name(request: Mapping[str, Any]) -> str:
    return table_reference(request.get("TableName"))


def _return_values(request: Mapping[str, Any], allowed: tuple[str, ...]) -> str:
    value = request.get("ReturnValues") or "NONE"
    if value not in allowed:
        raise validation("Return values set to invalid value")
    return str(value)


def _returned(returns: str, expressions: Expressions, old: Item | None, new: Item) -> dict[str, Any]:
    if returns == "NONE":
        return {}
    if returns == "ALL_OLD":
        return {"Attributes": old} if old else {}
    if returns == "ALL_NEW":
        return {"Attributes": new}
    paths = updated_paths(expressions.update) if expressions.update is not None else ()
    chosen = project(old or {}, paths) if returns == "UPDATED_OLD" else project(new, paths)
    return {"Attributes": chosen} if chosen else {}


def _check_transaction_size(entries: Any) -> None:
    if not isinstance(entries, list) or not entries:
        raise validation(
            "1 validation error detected: Value null at 'transactItems' failed to satisfy constraint:"
            " Member must have length greater than or equal to 1"
        )
    if len(entries) > MAX_TRANSACTION:
        # Unlike its other constraint messages, AWS names no value here and ends with a full stop.
        raise validation(
            "1 validation error detected at 'transactItems' failed to satisfy constraint:"
            f" Member must have length less than or equal to {MAX_TRANSACTION}."
        )
