"""A table's definition: its key, its secondary indexes and its settings, from CreateTable and back.

:func:`table_from_request` checks a CreateTable request as DynamoDB does and
returns a :class:`TableSpec`; the spec is stored as JSON (:meth:`TableSpec.to_json`)
and described back in DynamoDB's ``TableDescription`` shape (:meth:`TableSpec.describe`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ..types import JSON
from .errors import validation
from .keys import KeyAttribute
from .keyschema import check_definitions, check_key_types

__all__ = ["IndexSpec", "TableSpec", "check_table_name", "index_from_request", "table_from_request", "table_reference"]

_NAME = re.compile(r"[a-zA-Z0-9_.-]+")
# A table's ARN, which every operation on an existing table takes in place of its name.
_TABLE_ARN = re.compile(r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/(?P<name>[^/]+)")
MAX_TABLE_ARN = 1024
_PROJECTIONS = ("ALL", "KEYS_ONLY", "INCLUDE")
MAX_GSIS = 20
MAX_LSIS = 5


def check_table_name(name: Any, member: str = "tableName") -> str:
    """A table (or index) name as DynamoDB accepts it: 3 to 255 of ``[a-zA-Z0-9_.-]``."""
    if not isinstance(name, str):
        raise validation(f"1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null")
    if len(name) < 3:
        raise validation(
            f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint:"
            " Member must have length greater than or equal to 3"
        )
    if len(name) > 255:
        raise validation(
            f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint:"
            " Member must have length less than or equal to 255"
        )
    if not _NAME.fullmatch(name):
        raise validation(
            f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint:"
            " Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        )
    return name


def table_reference(reference: Any) -> str:
    """The table a ``TableName`` member names: a table name, or a table's ARN (AWS takes either)."""
    if isinstance(reference, str) and reference.startswith("arn:"):
        if len(reference) > MAX_TABLE_ARN:
            raise validation(
                f"1 validation error detected: Value '{reference}' at 'tableName' failed to satisfy constraint:"
                f" Member must have length less than or equal to {MAX_TABLE_ARN}"
            )
        match = _TABLE_ARN.fullmatch(reference)
        if match is None:
            raise validation(f"Invalid TableArn: Invalid ResourceArn provided as input {reference}")
        return check_table_name(match["name"])
    return check_table_name(reference)


@dataclass(frozen=True)
class IndexSpec:
    """A secondary index: global (its own partition key) or local (the table's partition key)."""

    name: str
    hash_key: KeyAttribute
    range_key: KeyAttribute | None
    projection: str
    """ALL, KEYS_ONLY or INCLUDE."""
    non_key_attributes: tuple[str, ...] = ()
    is_global: bool = True
    throughput: Mapping[str, int] | None = None
    warm: Mapping[str, int] | None = None
    """The WarmThroughput asked for (``ReadUnitsPerSecond``, ``WriteUnitsPerSecond``), if any."""

    @property
    def key(self) -> tuple[KeyAttribute, ...]:
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)

    def key_schema(self) -> list[dict[str, str]]:
        return _key_schema(self.hash_key, self.range_key)

    def projection_shape(self) -> dict[str, Any]:
        shape: dict[str, Any] = {"ProjectionType": self.projection}
        if self.non_key_attributes:
            shape["NonKeyAttributes"] = list(self.non_key_attributes)
        return shape


@dataclass(frozen=True)
class TableSpec:
    """One table's definition as stored in the catalog."""

    name: str
    hash_key: KeyAttribute
    range_key: KeyAttribute | None
    attributes: Mapping[str, str]
    """Declared attribute types (AttributeDefinitions)."""
    indexes: tuple[IndexSpec, ...] = ()
    billing_mode: str = "PROVISIONED"
    throughput: Mapping[str, int] = field(default_factory=lambda: {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0})
    stream: Mapping[str, Any] | None = None
    created: float = 0.0
    """Seconds since the epoch."""
    table_id: str = ""
    ttl: Mapping[str, Any] | None = None
    """TimeToLiveSpecification as last set (``Enabled``, ``AttributeName``)."""
    deletion_protection: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)
    warm: Mapping[str, int] | None = None
    """The WarmThroughput asked for (``ReadUnitsPerSecond``, ``WriteUnitsPerSecond``), if any."""
    sse: Mapping[str, Any] | None = None
    """The SSESpecification given (``Enabled``, ``KMSMasterKeyId``), if any."""
    pitr: Mapping[str, Any] | None = None
    """Point-in-time recovery when enabled: since when (``Since``, epoch seconds) and ``RecoveryPeriodInDays``."""

    @property
    def key(self) -> tuple[KeyAttribute, ...]:
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.key)

    def index(self, name: str) -> IndexSpec | None:
        return next((i for i in self.indexes if i.name == name), None)

    def with_indexes(self, indexes: Sequence[IndexSpec], attributes: Mapping[str, str]) -> TableSpec:
        return replace(self, indexes=tuple(indexes), attributes=dict(attributes))

    # -- storage -------------------------------------------------------------------------

    def to_json(self) -> dict[str, JSON]:
        return {
            "TableName": self.name,
            "KeySchema": _key_schema(self.hash_key, self.range_key),
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in self.attributes.items()],
            "Indexes": [
                {
                    "IndexName": i.name,
                    "KeySchema": i.key_schema(),
                    "Projection": i.projection_shape(),
                    "Global": i.is_global,
                    "ProvisionedThroughput": dict(i.throughput) if i.throughput else None,
                    "WarmThroughput": dict(i.warm) if i.warm else None,
                }
                for i in self.indexes
            ],
            "BillingMode": self.billing_mode,
            "ProvisionedThroughput": dict(self.throughput),
            "StreamSpecification": dict(self.stream) if self.stream else None,
            "CreationDateTime": self.created,
            "TableId": self.table_id,
            "TimeToLive": dict(self.ttl) if self.ttl else None,
            "DeletionProtectionEnabled": self.deletion_protection,
            "Tags": dict(self.tags),
            "WarmThroughput": dict(self.warm) if self.warm else None,
            "SSESpecification": dict(self.sse) if self.sse else None,
            "PointInTimeRecovery": dict(self.pitr) if self.pitr else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TableSpec:
        attributes = {a["AttributeName"]: a["AttributeType"] for a in data["AttributeDefinitions"]}
        hash_key, range_key = _keys(data["KeySchema"], attributes)
        indexes = []
        for index in data.get("Indexes") or []:
            index_hash, index_range = _keys(index["KeySchema"], attributes)
            projection = index["Projection"]
            indexes.append(
                IndexSpec(
                    index["IndexName"],
                    index_hash,
                    index_range,
                    projection["ProjectionType"],
                    tuple(projection.get("NonKeyAttributes") or ()),
                    bool(index.get("Global", True)),
                    index.get("ProvisionedThroughput"),
                    index.get("WarmThroughput"),
                )
            )
        return cls(
            name=data["TableName"],
            hash_key=hash_key,
            range_key=range_key,
            attributes=attributes,
            indexes=tuple(indexes),
            billing_mode=data.get("BillingMode") or "PROVISIONED",
            throughput=data.get("ProvisionedThroughput") or {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0},
            stream=data.get("StreamSpecification"),
            created=float(data.get("CreationDateTime") or 0.0),
            table_id=str(data.get("TableId") or ""),
            ttl=data.get("TimeToLive"),
            deletion_protection=bool(data.get("DeletionProtectionEnabled")),
            tags=data.get("Tags") or {},
            warm=data.get("WarmThroughput"),
            sse=data.get("SSESpecification"),
            pitr=data.get("PointInTimeRecovery"),
        )

    # -- DescribeTable ---------------------------------------------------------------------

    def describe(
        self, *, arn: str, status: str, item_count: int, size_bytes: int, index_counts: Mapping[str, tuple[int, int]]
    ) -> dict[str, Any]:
        """The ``TableDescription`` shape (timestamps as timezone-aware datetimes)."""
        created = datetime.fromtimestamp(self.created, UTC)
        throughput = {
            "NumberOfDecreasesToday": 0,
            "ReadCapacityUnits": int(self.throughput.get("ReadCapacityUnits", 0)),
            "WriteCapacityUnits": int(self.throughput.get("WriteCapacityUnits", 0)),
        }
        description: dict[str, Any] = {
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in self.attributes.items()],
            "TableName": self.name,
            "KeySchema": _key_schema(self.hash_key, self.range_key),
            "TableStatus": status,
            "CreationDateTime": created,
            "ProvisionedThroughput": throughput,
            "TableSizeBytes": size_bytes,
            "ItemCount": item_count,
            "TableArn": arn,
            "TableId": self.table_id,
            "DeletionProtectionEnabled": self.deletion_protection,
        }
        if self.billing_mode == "PAY_PER_REQUEST":
            description["BillingModeSummary"] = {
                "BillingMode": "PAY_PER_REQUEST",
                "LastUpdateToPayPerRequestDateTime": created,
            }
        globals_ = []
        locals_ = []
        for index in self.indexes:
            count, size = index_counts.get(index.name, (0, 0))
            shape: dict[str, Any] = {
                "IndexName": index.name,
                "KeySchema": index.key_schema(),
                "Projection": index.projection_shape(),
                "IndexSizeBytes": size,
                "ItemCount": count,
                "IndexArn": f"{arn}/index/{index.name}",
            }
            if index.is_global:
                shape["IndexStatus"] = "ACTIVE"
                shape["ProvisionedThroughput"] = {
                    "NumberOfDecreasesToday": 0,
                    "ReadCapacityUnits": int((index.throughput or {}).get("ReadCapacityUnits", 0)),
                    "WriteCapacityUnits": int((index.throughput or {}).get("WriteCapacityUnits", 0)),
                }
                globals_.append(shape)
            else:
                locals_.append(shape)
        if globals_:
            description["GlobalSecondaryIndexes"] = globals_
        if locals_:
            description["LocalSecondaryIndexes"] = locals_
        if self.sse and self.sse.get("Enabled"):
            description["SSEDescription"] = {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": _kms_key_arn(arn, self.sse)}
        if self.stream and self.stream.get("StreamEnabled"):
            label = _stream_label(self.created)
            description["StreamSpecification"] = dict(self.stream)
            description["LatestStreamLabel"] = label
            description["LatestStreamArn"] = f"{arn}/stream/{label}"
        return description


def _kms_key_arn(table_arn: str, sse: Mapping[str, Any]) -> str:
    """The KMS key that encrypts the table: the one named, else the account's AWS managed key for DynamoDB."""
    region, account = table_arn.split(":")[3:5]
    key = sse.get("KMSMasterKeyId")
    if isinstance(key, str) and key.startswith("arn:"):
        return key
    if not isinstance(key, str) or not key:
        # The managed key (alias/aws/dynamodb) is one per account and region; its id is fixed here.
        key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"aws/dynamodb/{account}/{region}"))
    return f"arn:aws:kms:{region}:{account}:key/{key}"


def _stream_label(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _key_schema(hash_key: KeyAttribute, range_key: KeyAttribute | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key.name, "KeyType": "HASH"}]
    if range_key is not None:
        schema.append({"AttributeName": range_key.name, "KeyType": "RANGE"})
    return schema


def _keys(schema: Any, attributes: Mapping[str, str]) -> tuple[KeyAttribute, KeyAttribute | None]:
    if not isinstance(schema, list) or not schema:
        raise validation("1 validation error detected: Value null at 'keySchema' failed to satisfy constraint: Member must not be null")
    if len(schema) > 2:
        raise validation(
            f"1 validation error detected: Value '{schema}' at 'keySchema' failed to satisfy constraint:"
            " Member must have length less than or equal to 2"
        )
    kinds = [element.get("KeyType") for element in schema]
    if kinds[0] != "HASH":
        raise validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    if len(schema) == 2 and kinds[1] != "RANGE":
        raise validation("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
    names = [element.get("AttributeName") for element in schema]
    if len(names) == 2 and names[0] == names[1]:
        raise validation("Both the Hash Key and the Range Key element in the KeySchema have the same name")
    keys = [KeyAttribute(n, attributes.get(n, "")) for n in names]
    return keys[0], keys[1] if len(keys) == 2 else None


def _throughput(value: Any, billing: str, what: str) -> dict[str, int] | None:
    if billing == "PAY_PER_REQUEST":
        if value:
            raise validation(
                "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be"
                " specified when BillingMode is PAY_PER_REQUEST"
            )
        return None
    if not value:
        raise validation(f"One or more parameter values were invalid: ProvisionedThroughput must be specified {what}".rstrip())
    read, write = value.get("ReadCapacityUnits"), value.get("WriteCapacityUnits")
    if not isinstance(read, int) or not isinstance(write, int):
        raise validation(
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be"
            " specified when BillingMode is PROVISIONED"
        )
    for label, units in (("ReadCapacityUnits", read), ("WriteCapacityUnits", write)):
        if units < 1:
            raise validation(f"One or more parameter values were invalid: {label} must be greater than 0 for table: ")
    return {"ReadCapacityUnits": read, "WriteCapacityUnits": write}


ON_DEMAND_WARM_READS = 12000
ON_DEMAND_WARM_WRITES = 4000
"""What an on-demand table or index can take at once from its creation (its WarmThroughput until raised)."""


def check_warm_throughput(requested: Any, throughput: Mapping[str, int] | None, what: str) -> dict[str, int] | None:
    """A WarmThroughput request, refused below what the table or index already takes.

    That floor is the provisioned capacity, or on-demand's initial throughput.
    """
    if not requested:
        return None
    floors = {
        "ReadUnitsPerSecond": (throughput or {}).get("ReadCapacityUnits", ON_DEMAND_WARM_READS),
        "WriteUnitsPerSecond": (throughput or {}).get("WriteCapacityUnits", ON_DEMAND_WARM_WRITES),
    }
    below = "ProvisionedThroughput" if throughput else "initial throughput for OnDemand"
    warm: dict[str, int] = {}
    for member, floor in floors.items():
        units = requested.get(member)
        if units is None:
            warm[member] = int(floor)
            continue
        if int(units) < floor:
            capacity = member.replace("UnitsPerSecond", "CapacityUnits of ") if throughput else ""
            raise validation(
                f"One or more parameter values were invalid: Requested {member} for WarmThroughput for {what} is lower than"
                f" {capacity}{below}"
            )
        warm[member] = int(units)
    return warm


def index_from_request(request: Mapping[str, Any], attributes: Mapping[str, str], *, is_global: bool, billing: str) -> IndexSpec:
    """One GlobalSecondaryIndex or LocalSecondaryIndex of a request, checked."""
    name = check_table_name(request.get("IndexName"), "indexName")
    hash_key, range_key = _keys(request.get("KeySchema"), attributes)
    projection = request.get("Projection") or {}
    kind = projection.get("ProjectionType") or "ALL" if projection else None
    if kind is None:
        raise validation("1 validation error detected: Value null at 'projection' failed to satisfy constraint: Member must not be null")
    if kind not in _PROJECTIONS:
        raise validation(
            f"1 validation error detected: Value '{kind}' at 'projection.projectionType' failed to satisfy constraint:"
            " Member must satisfy enum value set: [INCLUDE, KEYS_ONLY, ALL]"
        )
    non_key = tuple(projection.get("NonKeyAttributes") or ())
    if kind != "INCLUDE" and non_key:
        raise validation(f"One or more parameter values were invalid: ProjectionType is {kind}, but NonKeyAttributes is specified")
    if kind == "INCLUDE" and not non_key:
        raise validation("One or more parameter values were invalid: NonKeyAttributes must not be empty when ProjectionType is INCLUDE")
    throughput = _throughput(request.get("ProvisionedThroughput"), billing, f"for index: {name}") if is_global else None
    warm = check_warm_throughput(request.get("WarmThroughput"), throughput, f"index {name}") if is_global else None
    return IndexSpec(name, hash_key, range_key, kind, non_key, is_global, throughput, warm)


def table_from_request(request: Mapping[str, Any], *, created: float, table_id: str) -> TableSpec:
    """A CreateTable request as a TableSpec, refused as DynamoDB refuses it."""
    name = check_table_name(request.get("TableName"))
    check_key_types(request)
    definitions = request.get("AttributeDefinitions") or []
    attributes: dict[str, str] = {}
    for definition in definitions:
        attribute, kind = definition.get("AttributeName"), definition.get("AttributeType")
        if kind not in ("S", "N", "B"):
            raise validation(
                f"1 validation error detected: Value '{kind}' at 'attributeDefinitions.{len(attributes) + 1}.member.attributeType'"
                " failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"
            )
        if attribute in attributes:
            raise validation("Cannot have two attributes with the same name")
        attributes[str(attribute)] = kind
    billing = request.get("BillingMode") or "PROVISIONED"
    if billing not in ("PROVISIONED", "PAY_PER_REQUEST"):
        raise validation(
            f"1 validation error detected: Value '{billing}' at 'billingMode' failed to satisfy constraint:"
            " Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
        )
    hash_key, range_key = _keys(request.get("KeySchema"), attributes)
    if billing == "PROVISIONED" and not request.get("ProvisionedThroughput"):
        raise validation(
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when"
            " BillingMode is PROVISIONED"
        )
    throughput = _throughput(request.get("ProvisionedThroughput"), billing, "") or {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    indexes: list[IndexSpec] = []
    for request_index in request.get("LocalSecondaryIndexes") or []:
        index = index_from_request(request_index, attributes, is_global=False, billing=billing)
        if range_key is None:
            raise validation(
                "One or more parameter values were invalid: Table KeySchema does not have a range key,"
                " which is required when specifying a LocalSecondaryIndex"
            )
        if index.hash_key.name != hash_key.name:
            raise validation(
                "One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as"
                f" table KeySchema for index: {index.name}. index hash key: {index.hash_key.name},"
                f" table hash key: {hash_key.name}"
            )
        if index.range_key is None:
            raise validation(
                f"One or more parameter values were invalid: Index KeySchema for index: {index.name} does not have a range key"
            )
        indexes.append(index)
    for request_index in request.get("GlobalSecondaryIndexes") or []:
        indexes.append(index_from_request(request_index, attributes, is_global=True, billing=billing))
    if request.get("LocalSecondaryIndexes") is not None and not request.get("LocalSecondaryIndexes"):
        raise validation("One or more parameter values were invalid: List of LocalSecondaryIndexes is empty")
    if request.get("GlobalSecondaryIndexes") is not None and not request.get("GlobalSecondaryIndexes"):
        raise validation("One or more parameter values were invalid: List of GlobalSecondaryIndexes is empty")
    if sum(1 for i in indexes if i.is_global) > MAX_GSIS:
        raise validation(f"One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of {MAX_GSIS}")
    if sum(1 for i in indexes if not i.is_global) > MAX_LSIS:
        raise validation(f"One or more parameter values were invalid: LocalSecondaryIndex count exceeds the per-table limit of {MAX_LSIS}")
    seen: set[str] = set()
    for index in indexes:
        if index.name in seen:
            raise validation(f"One or more parameter values were invalid: Duplicate index name: {index.name}")
        seen.add(index.name)
    _check_definitions(hash_key, range_key, indexes, attributes)
    stream = request.get("StreamSpecification")
    if (
        stream
        and stream.get("StreamEnabled")
        and stream.get("StreamViewType") not in ("NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY")
    ):
        raise validation("One or more parameter values were invalid: You must specify a StreamViewType when enabling a stream")
    tags = {t["Key"]: t["Value"] for t in request.get("Tags") or []}
    warm = check_warm_throughput(request.get("WarmThroughput"), throughput if billing == "PROVISIONED" else None, "table")
    sse = request.get("SSESpecification")
    return TableSpec(
        name=name,
        hash_key=KeyAttribute(hash_key.name, attributes.get(hash_key.name, "S")),
        range_key=None if range_key is None else KeyAttribute(range_key.name, attributes.get(range_key.name, "S")),
        attributes=attributes,
        indexes=tuple(indexes),
        billing_mode=billing,
        throughput=throughput,
        stream=dict(stream) if stream else None,
        created=created,
        table_id=table_id,
        deletion_protection=bool(request.get("DeletionProtectionEnabled")),
        tags=tags,
        warm=warm,
        sse=dict(sse) if sse else None,
    )


def _check_definitions(
    hash_key: KeyAttribute, range_key: KeyAttribute | None, indexes: Sequence[IndexSpec], attributes: Mapping[str, str]
) -> None:
    """Every key attribute defined, and nothing defined that is no key (DynamoDB refuses both)."""
    used = [a.name for a in (hash_key, range_key, *(a for i in indexes for a in i.key)) if a is not None]
    check_definitions(used, list(attributes), has_indexes=bool(indexes))
